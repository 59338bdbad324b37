"""What an A/B experiment is: the spec an analyst submits, its lifecycle and its edit rules.

Everything here is pure (no I/O, no HTTP). Invalid input raises pydantic ``ValidationError``
while *building* a model; business-rule violations on existing experiments (illegal status
change, an edit that would break assignment) raise :class:`domain.errors.ExperimentError`, a
domain error carrying an HTTP-like ``status_code`` that only the API layer turns into a response.
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    field_validator,
    model_validator,
)

from domain.errors import ExperimentError
from domain.values import INTEGER, Channel, CountryCode, LanguageCode

# --------------------------------------------------------------------------- small types

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$")]
"""Lower-case identifier: letters, digits, '_' and '-', 1..64 chars, starting alphanumeric."""

SegmentName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")]

Metric = Literal["click", "accept", "purchase", "value"]
METRICS: Final[tuple[Metric, ...]] = ("click", "accept", "purchase", "value")

EventMetric = Literal["click", "accept", "purchase"]
"""Metrics that are a binary "did the user do it at least once" per user."""
EVENT_METRICS: Final[tuple[EventMetric, ...]] = ("click", "accept", "purchase")

Status = Literal["draft", "running", "paused", "stopped"]

HOLDOUT: Final = "holdout"
"""Arm name used for the holdout group in assignments and counters; not a valid variant id."""

RankingWeightName = Literal[
    "affinity", "context", "value", "popularity", "propensity", "open_intent"
]
RANKING_WEIGHT_NAMES: Final[tuple[str, ...]] = (
    "affinity",
    "context",
    "value",
    "popularity",
    "propensity",
    "open_intent",
)


# --------------------------------------------------------------------------- strategy params

Weight = Annotated[StrictFloat, Field(ge=0, le=10)]


class StrategyParams(BaseModel):
    """Overrides of the ranking strategy for one variant. Every field is optional: ``None``
    means "use the service default". Only knobs the ranker applies per request exist here;
    the number of results is *not* one of them (it is the caller's request, and changing it
    would change what is measured, not how well we rank).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    ranking_weights: dict[RankingWeightName, Annotated[StrictFloat, Field(ge=0, le=10)]] | None = (
        Field(
            default=None,
            description=(
                "Multipliers of the score components (0..10, 1 = default weight, 0 = switch the "
                "component off). Missing components keep their default weight."
            ),
        )
    )
    exploration_rate: Annotated[StrictFloat, Field(ge=0, le=1)] | None = Field(
        default=None,
        description="Probability that a slot is given to an exploratory candidate (0..1).",
    )
    diversity: Annotated[StrictFloat, Field(ge=0, le=1)] | None = Field(
        default=None,
        description=(
            "Largest share of one result list a single sub-category may take (0..1); "
            "1 disables the diversity constraint."
        ),
    )
    intent_model_version: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="Version label of the intent model to use for this variant."
    )
    filter_strictness: Literal["strict", "relaxed"] | None = Field(
        default=None,
        description=(
            "'strict' drops candidates whose category is not allowed by the detected intent; "
            "'relaxed' only demotes them."
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(str(k) for k in data if k not in cls.model_fields)
            if unknown:
                raise ValueError(
                    f"unknown strategy parameter(s) {', '.join(map(repr, unknown))}; "
                    f"allowed: {', '.join(cls.model_fields)}"
                )
            weights = data.get("ranking_weights")
            if isinstance(weights, dict):
                bad = sorted(str(k) for k in weights if k not in RANKING_WEIGHT_NAMES)
                if bad:
                    raise ValueError(
                        f"unknown ranking weight(s) {', '.join(map(repr, bad))}; "
                        f"allowed: {', '.join(RANKING_WEIGHT_NAMES)}"
                    )
        return data

    def overrides(self) -> dict[str, Any]:
        """Only the parameters this variant actually sets (what the ranker should override)."""
        return self.model_dump(exclude_none=True)


# --------------------------------------------------------------------------- variants & targeting


class Variant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    id: Slug
    weight: Annotated[StrictFloat, Field(ge=0, le=1)] = Field(
        description="Share of the experiment's non-holdout traffic (all weights sum to 1)."
    )
    params: StrategyParams = StrategyParams()
    description: Annotated[str, Field(max_length=2000)] = ""

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value == HOLDOUT:
            raise ValueError(f"variant id {HOLDOUT!r} is reserved for the holdout group")
        return value


class Targeting(BaseModel):
    """Who may enter the experiment. Every *given* (non-empty) dimension must match;
    ``segments`` matches when the user is in *any* of the listed segments. Empty = all."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    channels: list[Channel] = []
    countries: list[CountryCode] = []
    languages: list[LanguageCode] = []
    segments: list[SegmentName] = []

    @property
    def is_everyone(self) -> bool:
        return not (self.channels or self.countries or self.languages or self.segments)


def default_seed(experiment_id: str) -> int:
    """Stable 32-bit seed derived from the experiment id (same on every machine/process)."""
    digest = hashlib.blake2b(f"seed:{experiment_id}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big")


WEIGHT_TOLERANCE: Final = 1e-6
MAX_SEED: Final = 2**64 - 1


class ExperimentSpec(BaseModel):
    """What an analyst submits. The **first variant is the control**: lifts, p-values and
    "probability to beat control" are all computed against ``variants[0]``."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    id: Slug
    description: Annotated[str, Field(max_length=2000)] = ""
    hypothesis: Annotated[str, Field(max_length=2000)] = ""
    primary_metric: Metric
    guardrail_metrics: list[Metric] = []
    targeting: Targeting = Targeting()
    coverage: Annotated[StrictFloat, Field(ge=0, le=100)] = Field(
        default=100.0, description="Percent of users (of the namespace) eligible for the test."
    )
    variants: Annotated[list[Variant], Field(min_length=2, max_length=10)]
    holdout: Annotated[StrictFloat, Field(ge=0, le=50)] = Field(
        default=0.0,
        description="Percent of covered users kept on the default strategy, outside all variants.",
    )
    namespace: Slug = Field(
        default="default",
        description=(
            "Experiments sharing a namespace are mutually exclusive for a user; different "
            "namespaces are independent layers."
        ),
    )
    minimum_detectable_effect: Annotated[StrictFloat, Field(gt=0, le=10)] = Field(
        default=0.05, description="Smallest relative lift worth detecting (0.05 = +5 %)."
    )
    seed: Annotated[int, Field(ge=0, le=MAX_SEED), INTEGER] = Field(
        default=0,
        description="Hash seed of the variant split, any unsigned 64-bit integer "
        "(0 to 2^64 - 1); defaults to a hash of the id.",
    )

    @model_validator(mode="before")
    @classmethod
    def _fill_seed(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("seed") is None and isinstance(data.get("id"), str):
            data = {**data, "seed": default_seed(data["id"])}
        return data

    @model_validator(mode="after")
    def _check(self) -> ExperimentSpec:
        ids = [v.id for v in self.variants]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"variant ids must be unique; duplicated: {', '.join(duplicates)}")
        total = math.fsum(v.weight for v in self.variants)
        if abs(total - 1.0) > WEIGHT_TOLERANCE:
            raise ValueError(
                f"variant weights must sum to 1 (within {WEIGHT_TOLERANCE:g}); "
                f"they sum to {total:.9g}"
            )
        if self.primary_metric in self.guardrail_metrics:
            raise ValueError(
                f"{self.primary_metric!r} is the primary metric; do not list it as a guardrail"
            )
        if len(set(self.guardrail_metrics)) != len(self.guardrail_metrics):
            raise ValueError("guardrail_metrics contains duplicates")
        return self

    @property
    def control(self) -> Variant:
        return self.variants[0]

    @property
    def variant_ids(self) -> list[str]:
        return [v.id for v in self.variants]

    def variant(self, variant_id: str) -> Variant:
        for v in self.variants:
            if v.id == variant_id:
                return v
        raise ExperimentError(
            f"experiment {self.id!r} has no variant {variant_id!r}; "
            f"variants: {', '.join(self.variant_ids)}",
            status_code=404,
        )

    def expected_shares(self) -> dict[str, float]:
        """Expected share of assigned users per arm (variants and, if any, the holdout)."""
        h = self.holdout / 100.0
        shares = {v.id: (1.0 - h) * v.weight for v in self.variants}
        if h > 0:
            shares[HOLDOUT] = h
        return shares


# --------------------------------------------------------------------------- lifecycle

_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "draft": frozenset({"running", "stopped"}),
    "running": frozenset({"paused", "stopped"}),
    "paused": frozenset({"running", "stopped"}),
    "stopped": frozenset(),
}


def transition(current: Status, target: Status) -> Status:
    """Validate a status change and return ``target``.

    Allowed: draft -> running, running <-> paused, and any non-stopped status -> stopped.
    ``stopped`` is terminal. Raises :class:`ExperimentError` (409) otherwise.
    """
    if target not in _TRANSITIONS:
        raise ExperimentError(
            f"unknown status {target!r}; expected one of {', '.join(_TRANSITIONS)}", 422
        )
    if current == target:
        raise ExperimentError(f"experiment is already {current}")
    if target not in _TRANSITIONS[current]:
        if current == "stopped":
            raise ExperimentError("experiment is stopped; stopped is final, create a new one")
        allowed = ", ".join(sorted(_TRANSITIONS[current]))
        raise ExperimentError(
            f"cannot go from {current} to {target}; from {current} you may go to: {allowed}"
        )
    return target


def _now() -> datetime:
    return datetime.now(UTC)


class Experiment(ExperimentSpec):
    """A stored experiment: the spec plus lifecycle bookkeeping.

    ``started_at`` is set the first time it enters ``running`` and never changes afterwards;
    it orders experiments inside a namespace (see :mod:`experiments.assignment`).
    ``version`` increases by one on every change (for optimistic concurrency in the store).
    """

    status: Status = "draft"
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)
    started_at: datetime | None = None
    version: Annotated[int, Field(ge=1)] = 1

    @classmethod
    def create(cls, spec: ExperimentSpec, now: datetime | None = None) -> Experiment:
        ts = now or _now()
        return cls(**spec.model_dump(), status="draft", created_at=ts, updated_at=ts, version=1)

    @property
    def spec(self) -> ExperimentSpec:
        return ExperimentSpec(**self.model_dump(include=set(ExperimentSpec.model_fields)))

    @property
    def is_active(self) -> bool:
        """Running or paused: it holds its slice of the namespace and its sticky users."""
        return self.status in ("running", "paused")

    def with_status(self, target: Status, now: datetime | None = None) -> Experiment:
        """A copy moved to ``target`` (validated by :func:`transition`), version bumped."""
        ts = now or _now()
        new_status = transition(self.status, target)
        started = self.started_at or (ts if new_status == "running" else None)
        return self.model_copy(
            update={
                "status": new_status,
                "updated_at": ts,
                "started_at": started,
                "version": self.version + 1,
            }
        )

    def with_spec(self, spec: ExperimentSpec, now: datetime | None = None) -> Experiment:
        """A copy carrying the edited ``spec`` (checked by :func:`check_update`), version bumped."""
        check_update(self, spec)
        ts = now or _now()
        return Experiment(
            **spec.model_dump(),
            status=self.status,
            created_at=self.created_at,
            updated_at=ts,
            started_at=self.started_at,
            version=self.version + 1,
        )


def check_update(old: Experiment, new: ExperimentSpec) -> None:
    """Refuse edits that would break assignment or analysis of users already enrolled.

    Drafts may change freely (except the id). Stopped experiments are frozen. For running
    and paused experiments the ordered list of variant ids (so also the control), the seed
    and the namespace are fixed; weights, coverage, holdout, targeting, texts, metrics and
    variant params may change. Sticky assignments keep already-enrolled users in their arm,
    so weight/coverage changes only affect users who arrive afterwards.
    """
    if new.id != old.id:
        raise ExperimentError(
            f"experiment id cannot change (was {old.id!r}, got {new.id!r})", status_code=422
        )
    if old.status == "draft":
        return
    if old.status == "stopped":
        raise ExperimentError(f"experiment {old.id!r} is stopped and can no longer be edited")
    problems: list[str] = []
    old_ids, new_ids = old.variant_ids, new.variant_ids
    if old_ids != new_ids:
        removed = [i for i in old_ids if i not in new_ids]
        added = [i for i in new_ids if i not in old_ids]
        if removed:
            problems.append(f"variant(s) {', '.join(removed)} would be removed or renamed")
        if added:
            problems.append(f"variant(s) {', '.join(added)} would be added")
        if not removed and not added:
            problems.append(
                f"variant order would change ({', '.join(old_ids)} -> {', '.join(new_ids)}); "
                "the first variant is the control"
            )
    if new.seed != old.seed:
        problems.append(f"seed would change ({old.seed} -> {new.seed})")
    if new.namespace != old.namespace:
        problems.append(f"namespace would change ({old.namespace!r} -> {new.namespace!r})")
    if problems:
        raise ExperimentError(
            f"cannot edit {old.status} experiment {old.id!r}: "
            + "; ".join(problems)
            + ". That would re-assign enrolled users; stop it and start a new experiment instead."
        )
