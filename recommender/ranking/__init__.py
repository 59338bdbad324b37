"""Exact ranking of a retrieved candidate set: the context filter and the score terms,
computed as array operations over catalog positions."""
