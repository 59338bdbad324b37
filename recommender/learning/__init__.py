"""What Waypoint learns from events and logs: item co-occurrence and latent factors (the
``similar`` term's history models), interaction logs, the ranker artifacts and their
registry, and the online propensity model with its Beta prior."""
