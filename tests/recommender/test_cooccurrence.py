"""Co-occurrence: the pair rule by hand, the offline model, and online == offline in Redis."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.events import Event, EventWeights
from recommender.learning.cooccurrence import (
    CooccurrenceConfig,
    CooccurrenceModel,
    add_entry_pairs,
    anchors,
    entry_pair_updates,
    pair_updates,
    weight_table,
)
from recommender.learning.cooccurrence_store import (
    CooccurrenceObserver,
    CooccurrenceStore,
    recent_entries,
)
from recommender.learning.history import similar_items
from recommender.learning.interactions import Interaction
from service.container import build_services
from service.settings import Settings

W = EventWeights()
CFG = CooccurrenceConfig()
T0 = datetime(2026, 10, 1, tzinfo=UTC).timestamp()
DAY = 86_400.0


def it(user: str, item: str, kind: str, day: float) -> Interaction:
    return Interaction(T0 + day * DAY, user, item, kind)


def test_pair_weight_is_the_geometric_mean_of_event_and_anchor() -> None:
    prior = [it("u", "A", "view", 0), it("u", "A", "purchase", 0.1)]
    # anchor A: 1 + 5 = 6, capped at 5; a purchase of B (5) adds sqrt(5 * 5) to A -> B
    assert anchors(prior, T0 + DAY, W, CFG) == {"A": 5.0}
    assert pair_updates(prior, it("u", "B", "purchase", 1), W, CFG) == [("A", "B", 5.0)]
    # a view of C (1) after a click on B (2): sqrt(2), forward in time only
    ups = pair_updates([it("u", "B", "click", 0)], it("u", "C", "view", 0.5), W, CFG)
    assert len(ups) == 1 and ups[0][:2] == ("B", "C")
    assert ups[0][2] == pytest.approx(math.sqrt(2))


def test_pairs_added_in_place_are_the_rule_times_the_scale() -> None:
    table = weight_table(W)
    prior = [(T0, "A", "view"), (T0 + 1, "A", "purchase"), (T0 + 2, "B", "click")]
    prior += [(T0 + 3, "C", "decline"), (T0 + 4, "D", "view")]
    for event in [(T0 + 9, "B", "purchase"), (T0 + 9, "E", "decline"), (T0 + 9, "F", "impression")]:
        pairs: defaultdict[str, defaultdict[str, float]] = defaultdict(lambda: defaultdict(float))
        add_entry_pairs(pairs, prior, event, table, CFG, 3.5)
        want = {(s, d): g * 3.5 for s, d, g in entry_pair_updates(prior, event, table, CFG)}
        assert {(s, d): v for s, row in pairs.items() for d, v in row.items()} == want


def test_a_decline_counts_against_the_pair() -> None:
    prior = [it("u", "A", "purchase", 0)]
    [(src, dst, g)] = pair_updates(prior, it("u", "D", "decline", 1), W, CFG)
    assert (src, dst) == ("A", "D") and g == pytest.approx(-math.sqrt(15))
    assert pair_updates(prior, it("u", "D", "impression", 1), W, CFG) == []


def test_declined_and_old_items_are_no_anchors() -> None:
    prior = [
        it("u", "A", "view", 0),
        it("u", "A", "decline", 0.1),  # 1 - 3 < 0
        it("u", "B", "purchase", -60),  # outside the 30-day window
        it("u", "C", "click", 0.2),
    ]
    assert anchors(prior, T0 + DAY, W, CFG) == {"C": 2.0}


def test_users_who_bought_x_also_bought_y() -> None:
    log: list[Interaction] = []
    for u in range(6):
        log += [it(f"u{u}", "X", "purchase", u), it(f"u{u}", "Y", "purchase", u + 0.1)]
    for u in range(3):  # Z is bought alone, W is declined by X buyers
        log += [it(f"z{u}", "Z", "purchase", u)]
        log += [it(f"u{u}", "W", "view", u + 0.2), it(f"u{u}", "W", "decline", u + 0.3)]
    model = CooccurrenceModel().fit(log)
    assert model.neighbours_["X"][0][0] == "Y"
    assert "Z" not in dict(model.neighbours_["X"])
    assert "W" not in dict(model.neighbours_["X"])  # 3 * (sqrt(5) - sqrt(15)) < 0
    scores, sources = model.similar_with_sources({"X": 5.0, "Q": 1.0})
    assert max(scores, key=lambda k: scores[k]) == "Y" and sources["Y"] == "X"
    assert model.similar_to({"X": -3.0}) == {}


def test_similar_items_are_normalised_and_named() -> None:
    log = [it(f"u{u}", "X", "purchase", u) for u in range(4)]
    log += [it(f"u{u}", "Y", "purchase", u + 0.1) for u in range(4)]
    log += [it(f"u{u}", "V", "view", u + 0.2) for u in range(2)]
    sim = similar_items({"X": 5.0}, CooccurrenceModel().fit(log))
    assert sim.scores["Y"] == 1.0 and 0 < sim.scores["V"] < 1.0
    assert sim.sources == {"Y": "X", "V": "X"}
    assert similar_items({}, CooccurrenceModel().fit(log)).scores == {}


def _iso(day: float) -> str:
    return datetime.fromtimestamp(T0 + day * DAY, UTC).isoformat()


def _log() -> list[tuple[str, str, str, float]]:
    raw = []
    for u in range(5):
        raw += [
            (f"u{u}", "bk-0001", "view", u),
            (f"u{u}", "bk-0001", "purchase", u + 0.01),
            (f"u{u}", "bk-0002", "view", u + 0.02),
            (f"u{u}", "bk-0002", "add_to_cart", u + 0.03),
            (f"u{u}", "bk-0005", "dismiss", u + 0.04),
        ]
    raw += [("u9", "bk-0003", "click", 1), ("u9", "bk-0002", "purchase", 1.5)]
    return raw


async def _ingest_log(services: Any, raw: list[tuple[str, str, str, float]], now: float) -> None:
    events = [
        Event(event_id=f"e{n}", user_id=user, type=kind, item_id=item, ts=_iso(day))  # type: ignore[arg-type]
        for n, (user, item, kind, day) in enumerate(raw)
    ]
    # three batches: some users' events straddle batch boundaries
    for batch in (events[:7], events[7:19], events[19:]):
        await services.ingestor.ingest(batch, services.runtime.state, now=now)
    await services.ingestor.ingest(events[:3], services.runtime.state, now=now)  # duplicates


async def _counters(redis: Any) -> dict[bytes, dict[bytes, float]]:
    keys = [k async for k in redis.scan_iter(match="wp:cooc:*")]
    return {
        k: {f: float(v) for f, v in (await redis.hgetall(k)).items()}
        for k in keys
        if not k.endswith(b":version")
    }


async def test_online_counts_in_redis_match_the_offline_fit(redis: Any, redis_url: str) -> None:
    """Events ingested in batches build the same neighbour table as replaying the log."""
    services = build_services(Settings(redis_url=redis_url, auth_disabled=True), redis)
    await services.runtime.refresh()
    raw = _log()
    now = T0 + 10 * DAY
    await _ingest_log(services, raw, now)
    # the increments are summed in memory and written at most every few seconds (or at
    # shutdown): none is in Redis yet
    assert await _counters(redis) == {}
    await services.ingestor.flush()

    store = CooccurrenceStore(redis, prefix="wp", min_interval_s=0)
    online = await store.load(now)
    offline = CooccurrenceModel().fit([it(u, i, k, d) for u, i, k, d in raw], now=now)
    assert online.neighbours_.keys() == offline.neighbours_.keys()
    for src, row in offline.neighbours_.items():
        got = online.neighbours_[src]
        assert [d for d, _ in got] == [d for d, _ in row]
        assert [s for _, s in got] == pytest.approx([s for _, s in row], rel=1e-6)
    assert offline.neighbours_["bk-0001"][0][0] == "bk-0002"
    assert "bk-0005" not in dict(offline.neighbours_["bk-0001"])
    # reload only when a batch changed the counters
    assert await store.maybe_load(now) is not None
    assert await store.maybe_load(now) is None


async def test_counters_summed_in_memory_equal_those_written_every_batch(
    redis: Any, redis_url: str
) -> None:
    now = T0 + 10 * DAY
    settings = Settings(redis_url=redis_url, auth_disabled=True)
    every_batch = build_services(settings, redis)
    for observer in every_batch.ingestor.observers:
        if isinstance(observer, CooccurrenceObserver):
            observer.flush_interval_s = 0.0
    await every_batch.runtime.refresh()
    await _ingest_log(every_batch, _log(), now)
    written = await _counters(redis)
    assert written

    await redis.flushdb()
    coalesced = build_services(settings, redis)
    await coalesced.runtime.refresh()
    await _ingest_log(coalesced, _log(), now)
    await coalesced.ingestor.flush()
    summed = await _counters(redis)
    assert summed.keys() == written.keys()
    for key, row in written.items():
        assert summed[key] == pytest.approx(row, rel=1e-12), key


def test_recent_item_entries_are_read_oldest_first_without_the_new_batch() -> None:
    newest_first = [b"300.0 click B e3", b"200.5 view A e2", b"bad entry", b"100.0 purchase C e1"]
    assert recent_entries(newest_first, skip={"e3"}) == [
        (100.0, "C", "purchase"),
        (200.5, "A", "view"),
    ]
    clean = [b"2.0 view B e2", b"1.0 view A e1"]
    assert recent_entries(clean, skip=set()) == [(1.0, "A", "view"), (2.0, "B", "view")]
    assert recent_entries(clean, skip={"e1"}) == [(2.0, "B", "view")]
    # the batch just stored is usually the list's newest entries: cut off at once, with
    # the same result as looking at every entry
    assert recent_entries(clean, skip={"e2"}, newest=1) == [(1.0, "A", "view")]
    assert recent_entries(clean, skip={"e1"}, newest=1) == [(2.0, "B", "view")]
    three = [b"3.0 view C e3", b"2.0 view B e2", b"1.0 view A x"]
    assert recent_entries(three, skip={"e3", "x"}, newest=1) == [(2.0, "B", "view")]


async def test_pending_increments_are_written_after_the_interval(
    redis: Any, redis_url: str
) -> None:
    import asyncio

    services = build_services(Settings(redis_url=redis_url, auth_disabled=True), redis)
    (observer,) = [o for o in services.ingestor.observers if isinstance(o, CooccurrenceObserver)]
    observer.flush_interval_s = 0.05
    await services.runtime.refresh()
    await _ingest_log(services, _log(), T0 + 10 * DAY)
    assert await _counters(redis) == {}
    await asyncio.sleep(0.5)
    written = await _counters(redis)
    assert written and observer._flusher is None
    assert int(await redis.get("wp:cooc:version")) == 1  # one write for all the batches
