"""Taking in a batch of events: plan each one, apply them exactly once, report."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from context.decay import Decay
from context.events import EventPlanner
from context.models import Event
from context.store import STORE_ERRORS, UserStore
from intent.learned import LearnedExample, LearnedExamples
from recommender.models import Action, CatalogItem
from recommender.state import LiveState
from waypoint.errors import StoreUnavailable

log = logging.getLogger("waypoint.events")

#: how much an event says about an item's popularity with everyone
POPULARITY_WEIGHTS = {
    "click": 1.0,
    "add_to_cart": 2.0,
    "purchase": 3.0,
    "accept": 3.0,
    "share": 1.0,
}


class EventObserver(Protocol):
    """Told about every newly accepted event (e.g. experiment outcome counters)."""

    async def on_events(self, accepted: Sequence[Event], now: float) -> None: ...


@dataclass(frozen=True)
class EventResult:
    event_id: str
    status: Literal["accepted", "duplicate"]


class EventIngestor:
    def __init__(
        self,
        store: UserStore,
        planner: EventPlanner,
        *,
        popularity_key: str,
        popularity_decay: Decay,
        learned: LearnedExamples,
        observers: Sequence[EventObserver] = (),
    ) -> None:
        self.store = store
        self.planner = planner
        self.popularity_key = popularity_key
        self.popularity_decay = popularity_decay
        self.learned = learned
        self.observers = list(observers)

    async def ingest(
        self, events: Sequence[Event], state: LiveState, *, now: float | None = None
    ) -> list[EventResult]:
        now = time.time() if now is None else now
        taxonomy = state.taxonomy

        def closed_by(action: Action | CatalogItem) -> list[str]:
            return [i.name for i in taxonomy.intents if i.allows(action.category, action.kind)]

        planned = []
        for event in events:
            detected = None
            if event.type == "search" and event.query and state.model is not None:
                p = state.model.predict_one(event.query)
                if p.intent is not None and taxonomy.get(p.intent) is not None:
                    detected = (p.intent, p.confidence)
            ops = self.planner.plan(
                event,
                now=now,
                action=state.catalog.get(event.item_id) if event.item_id else None,
                detected_intent=detected,
                intents_closed_by=closed_by,
            )
            planned.append((event.user_id, event.event_id, ops))
        try:
            asked = await self._asked_queries(events)
            fresh = await self.store.apply_events(planned, now)
        except STORE_ERRORS as exc:
            raise StoreUnavailable(
                "the event store is unavailable; nothing from this batch was stored "
                "(retrying the same batch is safe: events are idempotent by event_id)"
            ) from exc
        accepted = [e for e, new in zip(events, fresh, strict=True) if new]
        await self._global_effects(accepted, now, asked)
        for observer in self.observers:
            try:
                await observer.on_events(accepted, now)
            except STORE_ERRORS as exc:  # derived counters; the events themselves are stored
                log.warning("event observer %s failed: %r", type(observer).__name__, exc)
        return [
            EventResult(e.event_id, "accepted" if new else "duplicate")
            for e, new in zip(events, fresh, strict=True)
        ]

    async def _asked_queries(self, events: Sequence[Event]) -> dict[str, str]:
        """For clarify answers without a query: the query we asked about (read before the
        answer's own write clears it)."""
        users = sorted({e.user_id for e in events if e.type == "clarify_answer" and not e.query})
        if not users:
            return {}
        async with self.store.redis.pipeline(transaction=False) as pipe:
            for user_id in users:
                pipe.hget(self.store.keys(user_id).journey, "clarify_query")
            raw = await pipe.execute()
        return {
            u: (q.decode() if isinstance(q, bytes) else q)
            for u, q in zip(users, raw, strict=True)
            if q
        }

    async def _global_effects(
        self, accepted: Sequence[Event], now: float, asked: dict[str, str]
    ) -> None:
        """Popularity counters and learned examples: best effort, after the user's write."""
        pop = [
            (e.item_id, POPULARITY_WEIGHTS[e.type])
            for e in accepted
            if e.item_id and e.type in POPULARITY_WEIGHTS
        ]
        learned = [
            LearnedExample(
                text=text,
                intent=e.intent,
                language=e.context.language if e.context else None,
                user_id=e.user_id,
            )
            for e in accepted
            if e.type == "clarify_answer" and e.intent and (text := e.query or asked.get(e.user_id))
        ]
        if not pop and not learned:
            return
        redis: Any = self.store.redis
        try:
            async with redis.pipeline(transaction=False) as pipe:
                for item_id, weight in pop:
                    pipe.hincrbyfloat(
                        self.popularity_key, item_id, self.popularity_decay.encode(weight, now)
                    )
                for example in learned:
                    self.learned.queue(pipe, example)
                await pipe.execute()
        except STORE_ERRORS as exc:  # derived data; nothing is lost per user
            log.warning("popularity/learned examples not updated: %r", exc)
