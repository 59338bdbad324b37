"""Events: the one table of event types and the event a client sends.

A new event type is one row of :data:`EVENT_KINDS` (plus, when it changes customer state in
its own way, its handler in ``context.events``); the accepted names, the field each type
requires, the affinity and popularity weights and the outcome/negative sets all come from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.customer import RequestContext, SessionId, UserId
from domain.values import ActionId, Money


@dataclass(frozen=True)
class EventKind:
    """One event type and what it means."""

    name: str
    #: the field an event of this type must carry: "item_id", "query" or "intent"
    requires: str | None = None
    #: how strongly it says "I like this item" (negative: "not for me"); 0 says nothing
    weight: float = 0.0
    #: its weight in the global popularity counters (0: not counted)
    popularity: float = 0.0
    #: a conversion (the item is bought or accepted; the journey reached an outcome)
    outcome: bool = False
    #: counts toward the contact policy's suppression of the item
    negative: bool = False


_KINDS = (
    EventKind("view", requires="item_id", weight=1.0),
    EventKind("search", requires="query"),
    EventKind("click", requires="item_id", weight=2.0, popularity=1.0),
    EventKind("add_to_cart", requires="item_id", weight=3.0, popularity=2.0),
    EventKind("purchase", requires="item_id", weight=5.0, popularity=3.0, outcome=True),
    EventKind("dismiss", requires="item_id", weight=-2.0, negative=True),
    EventKind("impression", requires="item_id"),
    EventKind("accept", requires="item_id", weight=4.0, popularity=3.0, outcome=True),
    EventKind("decline", requires="item_id", weight=-3.0, negative=True),
    EventKind("share", requires="item_id", weight=2.0, popularity=1.0),
    EventKind("maybe_later", requires="item_id", weight=-0.5),
    EventKind("clarify_answer", requires="intent"),
)
#: every event type by name, in the order the API documents them
EVENT_KINDS: Mapping[str, EventKind] = MappingProxyType({k.name: k for k in _KINDS})

if TYPE_CHECKING:
    EventType = str
else:
    EventType = Literal[tuple(EVENT_KINDS)]

#: events about one item (they need ``item_id``)
ITEM_EVENTS: frozenset[str] = frozenset(k.name for k in _KINDS if k.requires == "item_id")
#: conversions
OUTCOME_EVENTS: frozenset[str] = frozenset(k.name for k in _KINDS if k.outcome)
#: events that count toward the contact policy's suppression of an action
NEGATIVE_EVENTS: frozenset[str] = frozenset(k.name for k in _KINDS if k.negative)
#: weight of each event type in the global popularity counters
POPULARITY_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {k.name: k.popularity for k in _KINDS if k.popularity}
)
#: events older than this are refused (a zero or unset clock, not history)
EARLIEST_TS = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class EventWeights:
    """How strongly each event type says "I like this" (negative: "not for me")."""

    by_type: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType({k.name: k.weight for k in _KINDS if k.weight})
    )

    def of(self, event_type: str) -> float:
        return self.by_type.get(event_type, 0.0)

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.by_type.items())))


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
        required = EVENT_KINDS[self.type].requires
        if required is not None and not getattr(self, required):
            raise ValueError(f"{required} is required for '{self.type}' events")
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
