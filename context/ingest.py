"""Taking in a batch of events: plan each one, apply them exactly once, report."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import KW_ONLY, InitVar, dataclass
from typing import Any, Protocol

from context.bulk import incr_fields
from context.decay import Decay
from context.event_writes import STORED, EventWriter, Outcome, PlannedEvent
from context.events import EventPlanner
from context.store import STORE_ERRORS, UserStore
from domain.actions import Action, CatalogItem
from domain.errors import StoreUnavailable
from domain.events import POPULARITY_WEIGHTS, Event
from intent.learned import LearnedExample, LearnedExamples
from intent.resolve import Predictor
from intent.taxonomy import Taxonomy

log = logging.getLogger("waypoint.events")


class ActionLookup(Protocol):
    def get(self, action_id: str) -> CatalogItem | None: ...


class ServingState(Protocol):
    """What planning an event reads of a worker's live state (``recommender.state``)."""

    @property
    def catalog(self) -> ActionLookup: ...

    @property
    def taxonomy(self) -> Taxonomy: ...

    @property
    def model(self) -> Predictor | None: ...


NOTHING_STORED = (
    "the event store is unavailable; nothing from this batch was stored "
    "(retrying the same batch is safe: events are idempotent by event_id)"
)
#: derived updates (popularity, observers) may take this many write timeouts
DERIVED_TIMEOUT_FACTOR = 2.0

#: how much an event says about an item's popularity with everyone


class EventObserver(Protocol):
    """Told about every newly accepted event (e.g. experiment outcome counters)."""

    async def on_events(self, accepted: Sequence[Event], now: float) -> None: ...


@dataclass(frozen=True)
class EventResult:
    event_id: str
    status: Outcome

    @property
    def stored(self) -> bool:
        return self.status in STORED


@dataclass(eq=False)
class EventIngestor:
    store: UserStore
    planner: EventPlanner
    _: KW_ONLY
    popularity_key: str
    popularity_decay: Decay
    learned: LearnedExamples
    observers: Sequence[EventObserver] = ()
    #: for the :class:`EventWriter`: how long a batch may take, how far Redis's clock may lag
    write_timeout_s: InitVar[float] = 1.0
    clock_skew_s: InitVar[float] = 0.1

    def __post_init__(self, write_timeout_s: float, clock_skew_s: float) -> None:
        self.observers = list(self.observers)
        self._closed: tuple[Taxonomy, dict[tuple[str, str], list[str]]] | None = None
        self.writer = EventWriter(
            self.store.redis,
            self.store.prefix,
            self.store.dedup_ttl_s,
            timeout_s=write_timeout_s,
            clock_skew_s=clock_skew_s,
        )

    def plan(self, events: Sequence[Event], state: ServingState, now: float) -> list[PlannedEvent]:
        taxonomy = state.taxonomy
        model = state.model
        catalog = state.catalog
        # (category, kind) -> the intents it closes, kept while the taxonomy is the same
        cached = self._closed
        if cached is None or cached[0] is not taxonomy:
            cached = self._closed = (taxonomy, {})
        closed = cached[1]

        def closed_by(action: Action | CatalogItem) -> list[str]:
            key = (action.category, action.kind)
            names = closed.get(key)
            if names is None:
                names = closed[key] = [
                    i.name for i in taxonomy.intents if i.allows(action.category, action.kind)
                ]
            return names

        plan = self.planner.plan
        planned = []
        for event in events:
            detected = None
            if event.type == "search" and event.query and model is not None:
                p = model.predict_one(event.query)
                if p.intent is not None and taxonomy.get(p.intent) is not None:
                    detected = (p.intent, p.confidence)
            item_id = event.item_id
            ops = plan(
                event,
                now=now,
                action=catalog.get(item_id) if item_id else None,
                detected_intent=detected,
                intents_closed_by=closed_by,
            )
            planned.append(PlannedEvent(event.user_id, event.event_id, ops))
        return planned

    async def ingest(
        self, events: Sequence[Event], state: ServingState, *, now: float | None = None
    ) -> list[EventResult]:
        """Store the events, each exactly once; the result says per event what happened.

        Raises :class:`StoreUnavailable` when nothing of the batch was stored. Otherwise
        an event may be ``not_stored`` (certainly not) or ``unknown`` (the store failed
        mid-way and could not be asked afterwards): see :mod:`context.event_writes`.
        """
        now = time.time() if now is None else now
        planned = self.plan(events, state, now)
        try:
            asked = await asyncio.wait_for(self._asked_queries(events), self.writer.timeout_s)
        except STORE_ERRORS as exc:
            raise StoreUnavailable(NOTHING_STORED) from exc
        outcomes = await self.writer.apply(planned, now)
        if all(o == "not_stored" for o in outcomes):
            raise StoreUnavailable(NOTHING_STORED)
        accepted = [e for e, o in zip(events, outcomes, strict=True) if o == "accepted"]
        if accepted:
            # derived data, best effort: bounded, so a failing store cannot hold the answer
            try:
                await asyncio.wait_for(
                    self._derived(accepted, now, asked),
                    DERIVED_TIMEOUT_FACTOR * self.writer.timeout_s,
                )
            except TimeoutError:
                log.warning("popularity/observers not updated in time for %d events", len(accepted))
        return [EventResult(e.event_id, o) for e, o in zip(events, outcomes, strict=True)]

    async def flush(self) -> None:
        """Let observers that hold derived updates back write them now (after seeding, at
        shutdown)."""
        for observer in self.observers:
            flush = getattr(observer, "flush", None)
            if flush is not None:
                try:
                    await flush()
                except STORE_ERRORS as exc:  # derived data, best effort: shutdown goes on
                    log.warning("event observer %s failed: %r", type(observer).__name__, exc)

    async def _derived(self, accepted: Sequence[Event], now: float, asked: dict[str, str]) -> None:
        """Popularity and every observer at once: they touch different keys, and their
        round trips overlap instead of queueing one after another behind other batches'."""

        async def observe(observer: EventObserver) -> None:
            try:
                await observer.on_events(accepted, now)
            except STORE_ERRORS as exc:  # derived counters; the events themselves are stored
                log.warning("event observer %s failed: %r", type(observer).__name__, exc)

        await asyncio.gather(
            self._global_effects(accepted, now, asked), *map(observe, self.observers)
        )

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
        # summed per item: one command for the batch, not one per event
        gains: dict[str, float] = defaultdict(float)
        for item_id, weight in pop:
            gains[item_id] += self.popularity_decay.encode(weight, now)
        try:
            async with redis.pipeline(transaction=False) as pipe:
                if gains:
                    pipe.execute_command(*incr_fields(self.popularity_key, gains))
                for example in learned:
                    self.learned.queue(pipe, example)
                await pipe.execute()
        except STORE_ERRORS as exc:  # derived data; nothing is lost per user
            log.warning("popularity/learned examples not updated: %r", exc)
