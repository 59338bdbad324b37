"""Reasons: written from the score terms that ranked an action, and only from evidence;
templates per language and voice; the words of a query that may count as a content match."""
