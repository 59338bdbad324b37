"""What the business sets: levers (multipliers on actions, categories and kinds), the
contact policy (caps, suppression, snooze) and the versioned admin documents they live in."""
