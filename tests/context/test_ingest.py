"""Event ingestion against a real Redis, without HTTP: exactly-once storage, the derived
popularity and learned examples, observers, and a store that cannot be reached.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from context.decay import Decay
from context.events import EventPlanner
from context.ingest import EventIngestor
from context.store import UserStore
from domain.actions import Action
from domain.errors import StoreUnavailable
from domain.events import POPULARITY_WEIGHTS, Event
from intent.learned import LearnedExamples
from intent.taxonomy import Intent, Taxonomy
from recommender.catalog import CatalogIndex
from recommender.state import LiveState
from service.redis_server import connect

DAY = 86_400.0
NOW = 1_800_000_000.0
BOOK = Action.model_validate(
    {
        "id": "b1",
        "kind": "product",
        "title": {"en": "A book"},
        "category": "books/fiction/crime",
        "value": 5,
    }
)
STATE = LiveState(
    catalog=CatalogIndex.build([BOOK], 1),
    taxonomy=Taxonomy(
        intents=[Intent(name="buy_book", label={"en": "Buy a book"}, allowed_categories=["books"])]
    ),
)


class Recorder:
    """An observer that keeps what it was told."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    async def on_events(self, accepted: Sequence[Event], now: float) -> None:
        self.batches.append([e.event_id for e in accepted])


class Broken:
    """An observer whose store fails."""

    async def on_events(self, accepted: Sequence[Event], now: float) -> None:
        raise ConnectionError("counter store down")


def ingestor(redis: Any, *observers: Any) -> EventIngestor:
    affinity, fatigue = Decay(14 * DAY), Decay(DAY)
    store = UserStore(redis, prefix="t", affinity=affinity, fatigue=fatigue, dedup_ttl_s=3600)
    return EventIngestor(
        store,
        EventPlanner(affinity=affinity, fatigue=fatigue, journey_ttl_s=1800),
        popularity_key="t:popularity",
        popularity_decay=Decay(7 * DAY),
        learned=LearnedExamples(redis, key="t:learned"),
        observers=observers,
    )


def purchase(event_id: str, user_id: str = "u1") -> Event:
    return Event(event_id=event_id, user_id=user_id, type="purchase", item_id="b1")


async def test_each_event_is_stored_once_and_counted_once(redis: Any) -> None:
    seen = Recorder()
    ingest = ingestor(redis, seen)
    first = await ingest.ingest([purchase("e1"), purchase("e2", "u2")], STATE, now=NOW)
    assert [(r.event_id, r.status, r.stored) for r in first] == [
        ("e1", "accepted", True),
        ("e2", "accepted", True),
    ]
    again = await ingest.ingest([purchase("e1"), purchase("e3")], STATE, now=NOW)
    assert [(r.status, r.stored) for r in again] == [("duplicate", True), ("accepted", True)]
    # observers and popularity hear about newly accepted events only
    assert seen.batches == [["e1", "e2"], ["e3"]]
    stored = float(await redis.hget("t:popularity", "b1"))
    assert stored == pytest.approx(3 * Decay(7 * DAY).encode(POPULARITY_WEIGHTS["purchase"], NOW))
    user = await ingest.store.read("u1", NOW)
    assert user.owned == {"b1"}


async def test_a_failing_observer_does_not_fail_the_batch(redis: Any) -> None:
    seen = Recorder()
    results = await ingestor(redis, Broken(), seen).ingest([purchase("e1")], STATE, now=NOW)
    assert [r.status for r in results] == ["accepted"]
    assert seen.batches == [["e1"]]


async def test_a_clarify_answer_teaches_the_query_that_was_asked(redis: Any) -> None:
    ingest = ingestor(redis)
    await redis.hset(ingest.store.keys("u1").journey, "clarify_query", "something to read")
    answer = Event(event_id="c1", user_id="u1", type="clarify_answer", intent="buy_book")
    assert [r.status for r in await ingest.ingest([answer], STATE, now=NOW)] == ["accepted"]
    learned = [json.loads(line) async for line in ingest.learned.iter_jsonl()]
    assert [(e["text"], e["intent"]) for e in learned] == [("something to read", "buy_book")]


async def test_nothing_stored_is_reported_as_the_store_being_unavailable() -> None:
    unreachable = connect("redis://127.0.0.1:9/0", timeout_s=0.2)
    try:
        with pytest.raises(StoreUnavailable, match="nothing from this batch was stored"):
            await ingestor(unreachable).ingest([purchase("e1")], STATE, now=NOW)
    finally:
        await unreachable.aclose()
