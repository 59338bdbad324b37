"""What an event changes about a user, as a list of store operations (pure, no I/O).

The store executes the plan atomically together with the idempotency check, so an
accepted event is applied exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from context.decay import Decay
from context.models import OUTCOME_EVENTS, Event, LastAnswer, RequestContext
from recommender.models import Action, CatalogItem, category_levels

#: One store operation: (op, key name on UserKeys, arg1, arg2).
Op = tuple[str, str, str, str]

HISTORY_LEN = 200
STEPS_LEN = 50
HISTORY_LEN_ARG = str(HISTORY_LEN)
STEPS_LEN_ARG = str(STEPS_LEN)
#: events that count toward the contact policy's suppression of an action
NEGATIVE_EVENTS = frozenset({"decline", "dismiss"})
#: the feedback hash outlives any suppression or snooze window (the policy prunes it)
FEEDBACK_TTL_S = 400 * 86_400
#: kinds that become "owned" (never offered again) once accepted
OWNABLE_KINDS = frozenset({"product", "offer", "retention"})


@dataclass(frozen=True)
class EventWeights:
    """How strongly each event type says "I like this" (negative: "not for me")."""

    view: float = 1.0
    click: float = 2.0
    add_to_cart: float = 3.0
    purchase: float = 5.0
    accept: float = 4.0
    share: float = 2.0
    dismiss: float = -2.0
    decline: float = -3.0
    maybe_later: float = -0.5

    def of(self, event_type: str) -> float:
        return float(getattr(self, event_type, 0.0))


@dataclass(frozen=True)
class EventPlanner:
    affinity: Decay
    fatigue: Decay
    journey_ttl_s: int
    weights: EventWeights = EventWeights()

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
        ops: list[Op] = []
        ops.append(("lpush_trim", "history", history_record(event, now), HISTORY_LEN_ARG))
        if event.item_id:
            ops.append(("lpush_trim", "recent_items", recent_item(event, ts), HISTORY_LEN_ARG))

        weight = self.weights.of(event.type)
        if event.item_id and weight:
            gain = repr(self.affinity.encode(weight, ts))
            ops.append(("hincrbyfloat", "item_affinity", event.item_id, gain))
            if action is not None:
                ops.extend(
                    ("hincrbyfloat", "category_affinity", level, gain)
                    for level in category_levels(action.category)
                )
        # client ``impression`` events add no fatigue: the server counts what it served
        # (decision_ops), and counting the client's report too would double it

        if event.item_id and event.type in NEGATIVE_EVENTS:
            # read by the contact policy (recommender.policy): N of these suppress the action
            ops.append(("hset", "feedback", f"n:{event.event_id}", f"{ts!r}|{event.item_id}"))
            ops.append(("expire", "feedback", str(FEEDBACK_TTL_S), ""))
        elif event.item_id and event.type == "maybe_later":
            ops.append(("hset", "feedback", f"s:{event.item_id}", repr(ts)))
            ops.append(("expire", "feedback", str(FEEDBACK_TTL_S), ""))

        if event.type in OUTCOME_EVENTS and event.item_id:
            if event.type == "purchase" or action is None or action.kind in OWNABLE_KINDS:
                ops.append(("sadd", "owned", event.item_id, ""))
            ops.append(("hset", "journey", "outcome", "1"))
            if action is not None:
                ops.extend(("hdel", "open_intents", name, "") for name in intents_closed_by(action))

        ops.extend(self._journey_ops(event, ts, detected_intent))
        return ops

    def _journey_ops(
        self, event: Event, ts: float, detected_intent: tuple[str, float] | None
    ) -> list[Op]:
        ops = context_ops(event.context, event.session_id, ts)
        if event.type == "view" and event.item_id:
            ops.append(("hset", "journey", "page_item", event.item_id))
        if event.query:
            ops.append(("hset", "journey", "last_query", event.query))
        intent: tuple[str, float, str] | None = None
        if event.type == "clarify_answer" and event.intent:
            intent = (event.intent, 1.0, "clarify")
            ops.append(("hdel", "journey", "clarify_query", ""))
            ops.append(("hdel", "journey", "clarify_options", ""))
        elif detected_intent is not None:
            intent = (detected_intent[0], detected_intent[1], "model")
        if intent is not None:
            ops.extend(intent_ops(*intent, ts, event.session_id, event.query))
        step = {
            "ts": ts,
            "type": event.type,
            "channel": event.context.channel if event.context else None,
            "item_id": event.item_id,
            "query": event.query,
            "intent": intent[0] if intent else None,
        }
        ops.extend(step_ops(step, self.journey_ttl_s))
        return ops

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
    ops: list[Op] = [("hset", "journey", "updated_at", repr(ts))]
    if session_id:
        ops.append(("hset", "journey", "session_id", session_id))
    if ctx is not None:
        ops.append(("hset", "journey", "channel", ctx.channel))
        ops.append(("hset", "journey", f"ch:{ctx.channel}", repr(ts)))
        ops.append(("hset", "journey", "language", ctx.language))
        if ctx.country:
            ops.append(("hset", "journey", "country", ctx.country))
        if ctx.device:
            ops.append(("hset", "journey", "device", ctx.device))
        if ctx.page and ctx.page.item_id:
            ops.append(("hset", "journey", "page_item", ctx.page.item_id))
    return ops


def history_record(event: Event, now: float) -> str:
    """The event as stored in the user's history: its JSON plus ``accepted_at``."""
    raw = event.model_dump_json(exclude_none=True)  # "{...}", never empty (required fields)
    return f'{raw[:-1]},"accepted_at":{now!r}}}'


def recent_item(event: Event, ts: float) -> str:
    """The event in the user's list of recent item events: ``"<ts> <type> <item> <id>"``
    (none of these contains a space: see the patterns of ``Event``)."""
    return f"{ts!r} {event.type} {event.item_id} {event.event_id}"


def step_json(step: Mapping[str, Any]) -> str:
    """A :class:`~context.models.JourneyStep` as stored: its fields (in the model's order)
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
