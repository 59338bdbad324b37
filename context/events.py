"""What an event changes about a user, as a list of store operations (pure, no I/O).

The store executes the plan atomically together with the idempotency check, so an
accepted event is applied exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson

from context.decay import Decay
from domain.actions import Action, CatalogItem, category_levels
from domain.customer import LastAnswer, RequestContext
from domain.events import EVENT_KINDS, Event, EventKind, EventWeights

#: One store operation: (op, key name on UserKeys, arg1, arg2).
Op = tuple[str, str, str, str]

HISTORY_LEN = 200
STEPS_LEN = 50
HISTORY_LEN_ARG = str(HISTORY_LEN)
STEPS_LEN_ARG = str(STEPS_LEN)
#: the feedback hash outlives any suppression or snooze window (the policy prunes it)
FEEDBACK_TTL_S = 400 * 86_400
#: kinds that become "owned" (never offered again) once accepted
OWNABLE_KINDS = frozenset({"product", "offer", "retention"})


#: What an event of one type changes beyond history, affinity and the journey: the ops for
#: (event, its time, its catalog entry or None, the intents an entry closes).
Effect = Callable[
    [Event, float, Action | CatalogItem | None, Callable[[Action | CatalogItem], Iterable[str]]],
    list[Op],
]


def _suppress(event: Event, ts: float, _action: object, _closed: object) -> list[Op]:
    """Read by the contact policy (recommender.controls.policy): N of these suppress the action."""
    return [
        ("hset", "feedback", f"n:{event.event_id}", f"{ts!r}|{event.item_id}"),
        ("expire", "feedback", str(FEEDBACK_TTL_S), ""),
    ]


def _snooze(event: Event, ts: float, _action: object, _closed: object) -> list[Op]:
    return [
        ("hset", "feedback", f"s:{event.item_id}", repr(ts)),
        ("expire", "feedback", str(FEEDBACK_TTL_S), ""),
    ]


def _outcome(
    event: Event,
    _ts: float,
    action: Action | CatalogItem | None,
    closed_by: Callable[[Action | CatalogItem], Iterable[str]],
) -> list[Op]:
    ops: list[Op] = []
    if event.type == "purchase" or action is None or action.kind in OWNABLE_KINDS:
        ops.append(("sadd", "owned", event.item_id or "", ""))
    ops.append(("hset", "journey", "outcome", "1"))
    if action is not None:
        ops.extend(("hdel", "open_intents", name, "") for name in closed_by(action))
    return ops


#: effects of single event types (the negative and the outcome types share theirs)
_OWN_EFFECTS: Mapping[str, Effect] = {"maybe_later": _snooze}


def _effect(kind: EventKind) -> Effect | None:
    if kind.negative:
        return _suppress
    if kind.outcome:
        return _outcome
    return _OWN_EFFECTS.get(kind.name)


#: the effect of each event type that has one of its own (see :data:`domain.events.EVENT_KINDS`)
EFFECTS: Mapping[str, Effect] = {
    name: effect for name, kind in EVENT_KINDS.items() if (effect := _effect(kind)) is not None
}


#: a customer's fatigue hash expires this many half-lives after its last write
FATIGUE_TTL_HALF_LIVES = 10


@dataclass(frozen=True)
class EventPlanner:
    affinity: Decay
    fatigue: Decay
    journey_ttl_s: int
    weights: EventWeights = field(default_factory=EventWeights)
    #: actions a customer's fatigue counts are kept for: the most fatigued (the largest
    #: decayed counts); the hash is trimmed back to this on write, a quarter more allowed
    #: in between, so a decision reads a bounded hash whatever the catalog's size
    fatigue_actions: int = 200

    def plan(
        self,
        event: Event,
        *,
        now: float,
        action: Action | CatalogItem | None,
        detected_intent: tuple[str, float] | None = None,
        intents_closed_by: Callable[[Action | CatalogItem], Iterable[str]] = lambda _a: (),
    ) -> list[Op]:
        ts = event.timestamp(now)
        ts_text = repr(ts)
        item_id = event.item_id
        kind = event.type
        ops: list[Op] = [("lpush_trim", "history", history_record(event, now), HISTORY_LEN_ARG)]
        if item_id:
            ops.append(
                (
                    "lpush_trim",
                    "recent_items",
                    f"{ts_text} {kind} {item_id} {event.event_id}",  # see recent_item()
                    HISTORY_LEN_ARG,
                )
            )
            weight = self.weights.of(kind)
            if weight:
                gain = _encoded(self.affinity, weight, ts)
                ops.append(("hincrbyfloat", "item_affinity", item_id, gain))
                if action is not None:
                    ops.extend(
                        ("hincrbyfloat", "category_affinity", level, gain)
                        for level in _levels(action.category)
                    )
            # client ``impression`` events add no fatigue: the server counts what it served
            # (decision_ops), and counting the client's report too would double it
            effect = EFFECTS.get(kind)
            if effect is not None:
                ops.extend(effect(event, ts, action, intents_closed_by))
        self._journey_ops(ops, event, ts, ts_text, detected_intent)
        return ops

    def _journey_ops(
        self,
        ops: list[Op],
        event: Event,
        ts: float,
        ts_text: str,
        detected_intent: tuple[str, float] | None,
    ) -> None:
        ctx = event.context
        _context_ops(ops, ctx, event.session_id, ts_text)
        query = event.query
        if event.type == "view" and event.item_id:
            ops.append(("hset", "journey", "page_item", event.item_id))
        if query:
            ops.append(("hset", "journey", "last_query", query))
        intent: tuple[str, float, str] | None = None
        if event.type == "clarify_answer" and event.intent:
            intent = (event.intent, 1.0, "clarify")
            ops.append(("hdel", "journey", "clarify_query", ""))
            ops.append(("hdel", "journey", "clarify_options", ""))
        elif detected_intent is not None:
            intent = (detected_intent[0], detected_intent[1], "model")
        if intent is not None:
            ops.extend(intent_ops(*intent, ts, event.session_id, query))
        step: dict[str, Any] = {"ts": ts, "type": event.type}
        if ctx is not None:
            step["channel"] = ctx.channel
        if event.item_id is not None:
            step["item_id"] = event.item_id
        if query is not None:
            step["query"] = query
        if intent is not None:
            step["intent"] = intent[0]
        ops.extend(step_ops(step, self.journey_ttl_s))

    def decision_ops(
        self,
        *,
        ts: float,
        context: RequestContext,
        session_id: str | None,
        query: str | None,
        intent: tuple[str, float, str] | None,
        shown: Iterable[str],
        clarify_options: Sequence[str] = (),
    ) -> list[Op]:
        """What serving a recommendation changes: fatigue and the live journey.

        A clarifying question is remembered (query and options) until the customer picks
        an intent, so the pick can be learned as a labelled example.
        """
        shown = list(shown)
        ops: list[Op] = [
            ("hincrbyfloat", "impressions", item_id, repr(self.fatigue.encode(1.0, ts)))
            for item_id in shown
        ]
        if ops:
            keep = self.fatigue_actions
            ops.append(("hcap", "impressions", str(keep), str(max(1, keep // 4))))
            # untouched for FATIGUE_TTL_HALF_LIVES half-lives, every count has faded to
            # under a thousandth of what it was: the hash goes
            ttl = int(self.fatigue.half_life_s * FATIGUE_TTL_HALF_LIVES)
            ops.append(("expire", "impressions", str(ttl), ""))
        ops.extend(context_ops(context, session_id, ts))
        if query:
            ops.append(("hset", "journey", "last_query", query))
            # what this query was answered with: asked again in this journey, it is not
            # held against its own earlier answer (recommender.pipeline)
            answer = LastAnswer(query=query, channel=context.channel, shown=shown)
            ops.append(("hset", "journey", "last_answer", answer.model_dump_json()))
        if intent is not None and intent[2] != "journey":
            ops.extend(intent_ops(*intent, ts, session_id, query))
        if clarify_options and query:
            ops.append(("hset", "journey", "clarify_query", query))
            ops.append(("hset", "journey", "clarify_options", ",".join(clarify_options)))
        elif intent is not None and intent[2] != "journey":
            ops.append(("hdel", "journey", "clarify_query", ""))
            ops.append(("hdel", "journey", "clarify_options", ""))
        step = {
            "ts": ts,
            "type": "recommend",
            "channel": context.channel,
            "query": query,
            "intent": intent[0] if intent else None,
        }
        ops.extend(step_ops(step, self.journey_ttl_s))
        return ops


def context_ops(ctx: RequestContext | None, session_id: str | None, ts: float) -> list[Op]:
    """Record where the customer is now (channel, language, place, device, page)."""
    ops: list[Op] = []
    _context_ops(ops, ctx, session_id, repr(ts))
    return ops


def _context_ops(
    ops: list[Op], ctx: RequestContext | None, session_id: str | None, ts_text: str
) -> None:
    ops.append(("hset", "journey", "updated_at", ts_text))
    if session_id:
        ops.append(("hset", "journey", "session_id", session_id))
    if ctx is not None:
        channel = ctx.channel
        ops.append(("hset", "journey", "channel", channel))
        ops.append(("hset", "journey", f"ch:{channel}", ts_text))
        ops.append(("hset", "journey", "language", ctx.language))
        if ctx.country:
            ops.append(("hset", "journey", "country", ctx.country))
        if ctx.device:
            ops.append(("hset", "journey", "device", ctx.device))
        if ctx.page and ctx.page.item_id:
            ops.append(("hset", "journey", "page_item", ctx.page.item_id))


@lru_cache(maxsize=4096)
def _levels(category: str) -> tuple[str, ...]:
    return tuple(category_levels(category))


@lru_cache(maxsize=1024)
def _encoded(decay: Decay, weight: float, ts: float) -> str:
    """``repr(decay.encode(weight, ts))``: the events of a batch mostly share their time."""
    return repr(decay.encode(weight, ts))


_EVENT_JSON = Event.__pydantic_serializer__


def history_record(event: Event, now: float) -> str:
    """The event as stored in the user's history: its JSON plus ``accepted_at``."""
    # what model_dump_json(exclude_none=True) gives, without its keyword handling
    raw = _EVENT_JSON.to_json(event, exclude_none=True).decode()  # "{...}", never empty
    return f'{raw[:-1]},"accepted_at":{now!r}}}'


def recent_item(event: Event, ts: float) -> str:
    """The event in the user's list of recent item events: ``"<ts> <type> <item> <id>"``
    (none of these contains a space: see the patterns of ``Event``)."""
    return f"{ts!r} {event.type} {event.item_id} {event.event_id}"


def step_json(step: Mapping[str, Any]) -> str:
    """A :class:`~domain.customer.JourneyStep` as stored: its fields (in the model's order)
    without the unset ones, the same text as ``model_dump_json(exclude_none=True)`` without
    building the model for every event."""
    return orjson.dumps({k: v for k, v in step.items() if v is not None}).decode()


def step_ops(step: Mapping[str, Any], ttl_s: int) -> list[Op]:
    return [
        ("lpush_trim", "steps", step_json(step), STEPS_LEN_ARG),
        ("expire", "journey", str(ttl_s), ""),
        ("expire", "steps", str(ttl_s), ""),
    ]


def intent_ops(
    name: str,
    confidence: float,
    source: str,
    ts: float,
    session_id: str | None,
    query: str | None,
) -> list[Op]:
    """Set the journey's current intent and remember it as open until an outcome."""
    entry = {"intent": name, "last_seen": ts, "session_id": session_id, "query": query}
    return [
        ("hset", "journey", "intent", name),
        ("hset", "journey", "intent_confidence", repr(round(confidence, 4))),
        ("hset", "journey", "intent_source", source),
        (
            "hset",
            "open_intents",
            name,
            orjson.dumps(entry, option=orjson.OPT_SERIALIZE_NUMPY).decode(),
        ),
    ]
