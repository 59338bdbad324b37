"""What an A/B experiment is: the spec an analyst submits (its lifecycle and edit rules are
:mod:`experiments.lifecycle`).

Everything here is pure (no I/O, no HTTP). Invalid input raises pydantic ``ValidationError``
while *building* a model; business-rule violations on existing experiments (illegal status
change, an edit that would break assignment) raise :class:`domain.errors.ExperimentError`, a
domain error carrying an HTTP-like ``status_code`` that only the API layer turns into a response.
"""

from __future__ import annotations

import hashlib
import math
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
