"""Deterministic, sticky assignment of users to experiment arms.

Three independent hashes are used per user (all via :func:`bucket`):

* **namespace position** ``bucket("ns:<namespace>", user)`` decides *which* experiment of the
  namespace (if any) covers the user. Active experiments of a namespace own consecutive,
  non-overlapping slices of [0, 1), each ``coverage / 100`` wide, in order of
  ``(started_at, id)``. Mutual exclusion follows: a position lies in at most one slice.
* **holdout draw** ``bucket("<seed>:holdout", user)`` < holdout share -> the holdout arm.
* **variant draw** ``bucket(seed, user)`` against the cumulative variant weights.

Because the three draws are independent, raising coverage only adds users (those whose
position falls in the widened slice) and never moves covered users between variants; changing
the holdout share does not reshuffle the variant draw either.

Stickiness is the store's job: it keeps the first :class:`Assignment` it hands out per
``(namespace, user)``; :func:`assign_user` honours such a record before hashing, which is what
keeps enrolled users in place when slices move (an earlier experiment grows or stops) or
weights change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from domain.errors import ExperimentError
from experiments.lifecycle import Experiment
from experiments.models import HOLDOUT, StrategyParams, Targeting

_SCALE = float(2**53)


def bucket(seed: int | str, user_id: str) -> float:
    """Uniform float in [0, 1) from ``blake2b(f"{seed}:{user_id}")``.

    Uses the top 53 bits of the digest so the result is exactly representable and never 1.0.
    Identical across processes, machines and Python versions (no ``hash()`` randomisation).
    """
    digest = hashlib.blake2b(f"{seed}:{user_id}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") >> 11) / _SCALE


def namespace_position(namespace: str, user_id: str) -> float:
    return bucket(f"ns:{namespace}", user_id)


def holdout_draw(seed: int, user_id: str) -> float:
    return bucket(f"{seed}:holdout", user_id)


class Assignment(BaseModel):
    """Where a user landed in one experiment. This is what the store keeps (per namespace and
    user) to make assignment sticky, and what exposure records carry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    experiment_id: str
    namespace: str
    arm: str
    """A variant id, or ``"holdout"``."""
    params: StrategyParams = StrategyParams()
    """Strategy overrides to apply (empty for the holdout = service defaults)."""
    source: Literal["hash", "sticky"] = "hash"
    """``hash`` = computed now (the store should persist it); ``sticky`` = from the store."""

    @property
    def is_holdout(self) -> bool:
        return self.arm == HOLDOUT

    @property
    def variant_id(self) -> str | None:
        return None if self.is_holdout else self.arm


class Slot(BaseModel):
    """Slice ``[start, end)`` of a namespace's position space owned by one experiment."""

    model_config = ConfigDict(frozen=True)

    experiment_id: str
    start: float
    end: float

    def contains(self, position: float) -> bool:
        return self.start <= position < self.end


def _layout_key(exp: Experiment) -> tuple[datetime, str]:
    return (exp.started_at or exp.created_at, exp.id)


def namespace_layout(experiments: Iterable[Experiment], namespace: str) -> list[Slot]:
    """Slices of ``namespace`` owned by its *active* (running or paused) experiments.

    Ordered by ``(started_at, id)`` so a newly started experiment is appended after the existing
    ones and moves nobody. Growing the coverage of an experiment, or stopping one, shifts the
    slices of experiments started after it: their *new* users come from a different part of the
    position space, their enrolled users stay put thanks to the sticky record. Paused experiments
    keep their slice (users in it get the default strategy, and are not given to a sibling).
    If coverages add up to more than 100 % (the store should refuse that with
    :func:`check_namespace_capacity`) the last slices are truncated.
    """
    active = sorted(
        (e for e in experiments if e.namespace == namespace and e.is_active), key=_layout_key
    )
    slots: list[Slot] = []
    start = 0.0
    for exp in active:
        end = min(1.0, start + exp.coverage / 100.0)
        slots.append(Slot(experiment_id=exp.id, start=start, end=end))
        start = end
    return slots


def check_namespace_capacity(experiments: Iterable[Experiment], candidate: Experiment) -> None:
    """Raise 409 if starting/editing ``candidate`` would make the active experiments of its
    namespace cover more than 100 % of users. Call before starting or widening coverage."""
    others = [
        e
        for e in experiments
        if e.namespace == candidate.namespace and e.is_active and e.id != candidate.id
    ]
    used = sum(e.coverage for e in others)
    if used + candidate.coverage > 100.0 + 1e-9:
        names = ", ".join(f"{e.id} ({e.coverage:g} %)" for e in others)
        raise ExperimentError(
            f"namespace {candidate.namespace!r} is over-booked: {candidate.id} needs "
            f"{candidate.coverage:g} % but only {max(0.0, 100.0 - used):g} % is free "
            f"(taken by {names}); lower a coverage or use another namespace"
        )


def choose_arm(experiment: Experiment, user_id: str) -> str:
    """The arm (variant id or ``holdout``) for a covered user; ignores status and coverage."""
    if experiment.holdout > 0 and holdout_draw(experiment.seed, user_id) < (
        experiment.holdout / 100.0
    ):
        return HOLDOUT
    u = bucket(experiment.seed, user_id)
    cumulative = 0.0
    for variant in experiment.variants:
        cumulative += variant.weight
        if u < cumulative:
            return variant.id
    # rounding can leave cumulative a hair below 1: give the rest to the last weighted variant
    return next(v.id for v in reversed(experiment.variants) if v.weight > 0)


def _params(experiment: Experiment, arm: str) -> StrategyParams:
    return StrategyParams() if arm == HOLDOUT else experiment.variant(arm).params


def assign(experiment: Experiment, user_id: str, *, slot: Slot | None = None) -> Assignment | None:
    """Hash-based assignment of ``user_id`` in one experiment, ignoring targeting and stickiness.

    Returns ``None`` when the experiment is not running or the user is outside its coverage.
    ``slot`` is the experiment's slice of its namespace (from :func:`namespace_layout`);
    without it the experiment is assumed alone in its namespace: slice ``[0, coverage)``.
    """
    if experiment.status != "running":
        return None
    if slot is None:
        slot = Slot(experiment_id=experiment.id, start=0.0, end=experiment.coverage / 100.0)
    if not slot.contains(namespace_position(experiment.namespace, user_id)):
        return None
    arm = choose_arm(experiment, user_id)
    return Assignment(
        experiment_id=experiment.id,
        namespace=experiment.namespace,
        arm=arm,
        params=_params(experiment, arm),
    )


# --------------------------------------------------------------------------- targeting


def _norm_language(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return value.replace("_", "-").split("-", 1)[0].lower()


def _norm_country(value: Any) -> str | None:
    return value.upper() if isinstance(value, str) and value else None


def _segments(*sources: Mapping[str, Any]) -> set[str]:
    out: set[str] = set()
    for src in sources:
        raw = src.get("segments")
        if isinstance(raw, str):
            out.add(raw)
        elif isinstance(raw, Iterable):
            out.update(str(s) for s in raw)
    return out


def matches_targeting(
    targeting: Targeting, context: Mapping[str, Any], profile: Mapping[str, Any]
) -> bool:
    """True if the request matches every non-empty targeting dimension.

    * ``channels``: ``context["channel"]``;
    * ``countries``: ``context["country"]``, else ``profile["country"]`` (case-insensitive);
    * ``languages``: ``context["language"]``, else ``profile["language"]``; regional tags are
      reduced to the language (``"fr-CA"`` -> ``"fr"``);
    * ``segments``: the user must be in *any* listed segment (``profile["segments"]`` plus
      ``context["segments"]`` if present).

    A dimension that is targeted but unknown for the request does not match.
    """
    if targeting.channels and context.get("channel") not in targeting.channels:
        return False
    if targeting.countries:
        country = _norm_country(context.get("country")) or _norm_country(profile.get("country"))
        if country not in targeting.countries:
            return False
    if targeting.languages:
        lang = _norm_language(context.get("language")) or _norm_language(profile.get("language"))
        if lang not in targeting.languages:
            return False
    return not (
        targeting.segments and not _segments(profile, context).intersection(targeting.segments)
    )


# --------------------------------------------------------------------------- per request


def assign_in_namespace(
    experiments: Sequence[Experiment],
    namespace: str,
    user_id: str,
    context: Mapping[str, Any],
    profile: Mapping[str, Any],
    sticky: Assignment | None = None,
) -> Assignment | None:
    """The (at most one) assignment of ``user_id`` among the experiments of ``namespace``.

    1. A sticky record whose experiment is still active wins: the user keeps that arm while the
       experiment runs (``source="sticky"``), gets ``None`` while it is paused or when the
       request does not match its targeting, and is never handed to a sibling experiment.
       A record for an experiment that is no longer active (stopped/deleted) or whose arm no
       longer exists is ignored.
    2. Otherwise the namespace position picks the slice; the owning experiment must be running
       and its targeting must match, else ``None``. A ``hash`` result should be persisted.
    """
    by_id = {e.id: e for e in experiments if e.namespace == namespace}
    if sticky is not None and sticky.namespace == namespace:
        exp = by_id.get(sticky.experiment_id)
        if (
            exp is not None
            and exp.is_active
            and (sticky.arm == HOLDOUT or sticky.arm in exp.variant_ids)
        ):
            if exp.status != "running" or not matches_targeting(exp.targeting, context, profile):
                return None
            return Assignment(
                experiment_id=exp.id,
                namespace=namespace,
                arm=sticky.arm,
                params=_params(exp, sticky.arm),
                source="sticky",
            )
    position = namespace_position(namespace, user_id)
    for slot in namespace_layout(by_id.values(), namespace):
        if slot.contains(position):
            exp = by_id[slot.experiment_id]
            if not matches_targeting(exp.targeting, context, profile):
                return None
            return assign(exp, user_id, slot=slot)
    return None


def assign_user(
    experiments: Sequence[Experiment],
    user_id: str,
    context: Mapping[str, Any],
    profile: Mapping[str, Any],
    sticky: Mapping[str, Assignment] | None = None,
) -> list[Assignment]:
    """All assignments of a user for one request: at most one per namespace (layers are
    independent). ``sticky`` maps namespace -> stored assignment. Sorted by namespace."""
    sticky = sticky or {}
    namespaces = sorted({e.namespace for e in experiments if e.is_active})
    out: list[Assignment] = []
    for ns in namespaces:
        a = assign_in_namespace(experiments, ns, user_id, context, profile, sticky.get(ns))
        if a is not None:
            out.append(a)
    return out
