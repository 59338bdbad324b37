"""``waypoint bench``: load benchmark of the server against a floor app, driven by wrk."""

from waypoint.bench.cli import register

__all__ = ["register"]
