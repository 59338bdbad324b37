"""The experiment records kept per user: sticky assignments, recent exposures, and which arm an
outcome is credited to.

They live in the user's ``exp`` hash; :class:`experiments.service.ExperimentService` reads them
per request (``treatment``) and per event batch (``on_events``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from context.store import UserSnapshot
from experiments.assignment import Assignment
from experiments.counters import OutcomeRecord
from recommender.schemas import RecommendRequest

log = logging.getLogger("waypoint.experiments")


@dataclass(frozen=True)
class Served:
    """What ``treatment`` decided, handed back to ``exposed`` through ``Treatment.detail``."""

    user_id: str
    assignments: tuple[Assignment, ...]
    previous: Mapping[str, str]
    """Namespace -> raw sticky value the decision saw (replaced only if still the same)."""
    pseudonym: str
    """What the raw log calls the user (never the user id: erasure must unlink it)."""


def sticky_records(raw: Mapping[str, str]) -> dict[str, Assignment]:
    """The user's sticky assignments from the ``exp`` hash (unreadable records are skipped)."""
    out: dict[str, Assignment] = {}
    for field, value in raw.items():
        if ":" in field:
            continue  # attribution fields
        try:
            data = json.loads(value)
            out[field] = Assignment(
                experiment_id=str(data["experiment_id"]),
                namespace=field,
                arm=str(data["arm"]),
                source="sticky",
            )
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable sticky assignment in namespace %s ignored", field)
    return out


def targeting_inputs(
    req: RecommendRequest, user: UserSnapshot
) -> tuple[dict[str, Any], dict[str, Any]]:
    attrs = user.profile.attributes
    context = {
        "channel": req.context.channel,
        "language": req.context.language,
        "country": req.context.country or user.journey.country,
    }
    profile = {
        "country": attrs.get("country"),
        "language": attrs.get("language"),
        "segments": list(user.profile.segments),
    }
    return context, profile


def recent_exposures(raw: Mapping[str, str]) -> dict[str, list[tuple[str, str, float]]]:
    """Experiment id -> the user's recent ``(request_id, arm, ts)`` exposures, oldest first."""
    out: dict[str, list[tuple[str, str, float]]] = {}
    for field, value in raw.items():
        if not field.startswith("x:"):
            continue
        try:
            entries = [(str(r), str(a), float(t)) for r, a, t in json.loads(value)]
        except (ValueError, TypeError):
            continue
        out[field[2:]] = sorted(entries, key=lambda e: e[2])
    return out


def attribute(
    rec: OutcomeRecord, history: Sequence[tuple[str, str, float]], window_s: float
) -> str | None:
    """The arm credited with ``rec`` (same rule as :func:`experiments.counters.recompute_counters`):
    the exposure whose request id the outcome carries, else the latest exposure at or before it;
    nothing if that exposure is more than ``window_s`` older than the outcome."""
    hit: tuple[str, float] | None = None
    if rec.request_id is not None:
        hit = next(((arm, ts) for rid, arm, ts in history if rid == rec.request_id), None)
    if hit is None:
        for _rid, arm, ts in history:
            if ts > rec.ts:
                break
            hit = (arm, ts)
    if hit is None or rec.ts - hit[1] > window_s:
        return None
    return hit[0]
