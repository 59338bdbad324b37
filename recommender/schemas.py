"""Request and response models of the decision API (pydantic models at the edge)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from domain.actions import ActionKind
from domain.customer import RequestContext, SessionId, UserId
from domain.values import INTEGER, ActionId

IntentSource = Literal["explicit", "model", "journey", "clarify"]


class RecommendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: UserId
    session_id: SessionId | None = None
    query: Annotated[str, Field(min_length=1, max_length=1000)] | None = Field(
        default=None, description="What the customer just typed or said."
    )
    intent: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")] | None = Field(
        default=None, description="Explicit intent; wins over the model."
    )
    context: RequestContext = RequestContext()
    limit: Annotated[int, Field(ge=1, le=50), INTEGER] = 5
    exclude: Annotated[list[ActionId], Field(max_length=200)] = []
    debug: StrictBool = Field(default=False, description="Report what each filter rule removed.")
    explain: StrictBool = Field(default=False, description="Report each score term per action.")
    voice: Literal["customer", "agent"] = Field(
        default="customer",
        description="Whom the reasons speak to: the customer ('you looked at this') or an "
        "agent ('the customer looked at this').",
    )


class IntentOut(BaseModel):
    name: str
    label: str
    confidence: float
    source: IntentSource


class ClarifyOption(BaseModel):
    intent: str
    label: str


class Clarify(BaseModel):
    question: str
    options: list[ClarifyOption]


class ReasonOut(BaseModel):
    """One reason with its stable code and the evidence it rests on."""

    code: str = Field(description="Stable reason code (docs/api.md lists them).")
    text: str = Field(description="The reason in the request's language and voice.")
    term: str | None = Field(default=None, description="The score term it explains.")
    intent: str | None = Field(
        default=None, description="The intent that admits this action (intent reasons)."
    )
    matched: list[str] = Field(
        default=[], description="Query words the action's text mentions (query_match)."
    )
    item: str | None = Field(default=None, description="The page item it relates to.")


class ActionOut(BaseModel):
    id: str
    kind: ActionKind
    title: str
    category: str
    value: float
    score: float
    reasons: list[str] = Field(description="The texts of ``why``, in the same order.")
    why: list[ReasonOut] = Field(default=[], description="Each reason with code and evidence.")
    explanation: dict[str, dict[str, float]] | None = Field(
        default=None, description="With explain=true: term value and weighted contribution."
    )
    priority: float | None = Field(
        default=None,
        description="Arbitration priority (propensity x context weight x value x lever); "
        "the answer is ordered by it (an explored action takes the last slot).",
    )
    arbitration: ArbitrationOut | None = Field(
        default=None, description="With explain=true: each arbitration term and the priority."
    )
    explored: bool = Field(
        default=False, description="Shown to learn (exploration), not because it ranked here."
    )
    probability: float | None = Field(
        default=None, description="Probability that the policy shows this action here."
    )
    confidence: float | None = Field(
        default=None,
        description="How much evidence backs the propensity in this context, in [0, 1): "
        "n / (n + 20) for n impressions in the cell (0 at cold start).",
    )


class ArbitrationOut(BaseModel):
    terms: dict[str, float] = Field(
        description="propensity, context_weight, value, lever (see docs/decisions.md)."
    )
    priority: float = Field(description="Exactly the product of the terms, in that order.")


class ExperimentOut(BaseModel):
    id: str
    variant: str


class DebugOut(BaseModel):
    candidates: int = Field(description="Actions retrieved for ranking (deduplicated).")
    removed: dict[str, int] = Field(description="How many candidates each filter rule removed.")
    kept: int
    sources: dict[str, int] = Field(
        default={}, description="Candidates each retrieval source proposed (before dedup)."
    )


Fallback = Literal["journey", "open_intents", "neutral"]


class RecommendResponse(BaseModel):
    request_id: str
    user_id: str
    intent: IntentOut | None
    out_of_scope: bool = Field(
        default=False, description="The query was understood as outside what we offer."
    )
    clarify: Clarify | None
    fallback: Fallback | None = Field(
        default=None,
        description="The query resolved no intent, so the answer is a safe fallback instead "
        "of a guess: the customer's current journey, their open intents, or the neutral "
        "categories (e.g. talk to an agent).",
    )
    actions: list[ActionOut]
    experiment: ExperimentOut | None = None
    cold_start: bool
    degraded: bool
    degraded_reasons: list[str] = []
    model_version: str | None
    catalog_version: int
    debug: DebugOut | None = None
