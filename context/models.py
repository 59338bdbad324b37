"""Journey context, profiles and events: the data that describes one customer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    model_validator,
)

from recommender.models import INTEGER, ActionId, Channel, CountryCode, JsonInt, LanguageCode, Money

UserId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.@:\-]+$")]
SessionId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")]
Device = Literal["desktop", "mobile", "tablet", "kiosk", "phone", "other"]

EventType = Literal[
    "view",
    "search",
    "click",
    "add_to_cart",
    "purchase",
    "dismiss",
    "impression",
    "accept",
    "decline",
    "share",
    "maybe_later",
    "clarify_answer",
]
ITEM_EVENTS: frozenset[str] = frozenset(
    {
        "view",
        "click",
        "add_to_cart",
        "purchase",
        "dismiss",
        "impression",
        "accept",
        "decline",
        "share",
        "maybe_later",
    }
)
OUTCOME_EVENTS: frozenset[str] = frozenset({"purchase", "accept"})
#: events older than this are refused (a zero or unset clock, not history)
EARLIEST_TS = datetime(2000, 1, 1, tzinfo=UTC)


class Location(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    country: CountryCode | None = None
    region: Annotated[str, Field(max_length=64)] | None = None
    city: Annotated[str, Field(max_length=128)] | None = None


class Page(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    item_id: ActionId | None = None
    url: Annotated[str, Field(max_length=2048)] | None = None


class RequestContext(BaseModel):
    """What the caller knows about the moment: where, how, in which language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: Channel = "web"
    language: LanguageCode = "en"
    location: Location | None = None
    device: Device | None = None
    page: Page | None = None

    @property
    def country(self) -> str | None:
        return self.location.country if self.location else None


class Profile(BaseModel):
    """Slow-changing facts about a customer, set by the business (CRM sync)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    segments: list[Annotated[str, Field(min_length=1, max_length=64)]] = []
    tenure_months: Annotated[int, Field(ge=0, le=1200), INTEGER] | None = None
    attributes: dict[str, str | StrictBool | JsonInt | StrictFloat | None] = Field(
        default={},
        max_length=64,
        description="Free-form attributes (name, country, language, ...); at most 64.",
    )


class Event(BaseModel):
    """One feedback or journey event. ``event_id`` makes delivery idempotent."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    event_id: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]
    user_id: UserId
    session_id: SessionId | None = None
    type: EventType
    item_id: ActionId | None = None
    query: Annotated[str, Field(min_length=1, max_length=1000)] | None = None
    intent: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")] | None = None
    value: Money | None = None
    reason: Annotated[str, Field(max_length=200)] | None = None
    request_id: Annotated[str, Field(max_length=64)] | None = None
    agent_id: Annotated[str, Field(max_length=64)] | None = None
    ts: datetime | None = Field(
        default=None,
        description="When it happened, with a timezone: after 2000-01-01 and at most 5 minutes "
        "ahead of the server's clock (default: when received).",
    )
    context: RequestContext | None = None

    @model_validator(mode="after")
    def _check(self) -> Event:
        if self.type in ITEM_EVENTS and not self.item_id:
            raise ValueError(f"item_id is required for '{self.type}' events")
        if self.type == "search" and not self.query:
            raise ValueError("query is required for 'search' events")
        if self.type == "clarify_answer" and not self.intent:
            raise ValueError("intent is required for 'clarify_answer' events")
        if self.ts is not None:
            if self.ts.tzinfo is None:
                raise ValueError("ts needs a timezone, e.g. '2026-11-25T10:00:00Z'")
            if self.ts > datetime.now(UTC) + timedelta(minutes=5):
                raise ValueError("ts is in the future")
            if self.ts < EARLIEST_TS:
                raise ValueError(f"ts must be after {EARLIEST_TS:%Y-%m-%d}")
        return self

    def timestamp(self, now: float) -> float:
        return self.ts.timestamp() if self.ts is not None else now


class JourneyStep(BaseModel):
    ts: float
    type: str
    channel: str | None = None
    item_id: str | None = None
    query: str | None = None
    intent: str | None = None


class LastAnswer(BaseModel):
    """The actions the journey's last query was answered with, and where."""

    query: str
    channel: str
    shown: list[str] = []


class Journey(BaseModel):
    """Live context of the customer's current journey (expires after inactivity)."""

    session_id: str | None = None
    channel: str | None = None
    channels: list[str] = []
    language: str | None = None
    country: str | None = None
    device: str | None = None
    page_item: str | None = None
    last_query: str | None = None
    last_answer: LastAnswer | None = None
    intent: str | None = None
    intent_confidence: float | None = None
    intent_source: str | None = None
    outcome: bool = False
    clarify_query: str | None = None
    clarify_options: list[str] = []
    updated_at: float | None = None
    steps: list[JourneyStep] = []


class OpenIntent(BaseModel):
    intent: str
    session_id: str | None = None
    last_seen: float
    query: str | None = None
