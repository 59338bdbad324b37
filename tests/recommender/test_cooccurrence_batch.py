"""The batch form of the co-occurrence rule: the same numbers as the rule event by event."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from domain.events import Event, EventWeights
from recommender.learning.cooccurrence import (
    DAY,
    CooccurrenceConfig,
    CooccurrenceModel,
    Entry,
    add_entry_pairs,
    weight_table,
)
from recommender.learning.cooccurrence_batch import (
    ItemCodes,
    PendingPairs,
    RecentEntries,
    pair_increments,
)
from recommender.learning.cooccurrence_store import CooccurrenceStore, recent_entries
from recommender.learning.interactions import Interaction
from service.container import build_services
from service.settings import Settings

CFG = CooccurrenceConfig()
TABLE = weight_table(EventWeights())
KINDS = ["view", "view", "click", "impression", "add_to_cart", "purchase", "decline", "dismiss"]
T0 = datetime(2026, 10, 1, tzinfo=UTC).timestamp()


def _sequences(rng: random.Random, users: int) -> list[list[Entry]]:
    out = []
    for _ in range(users):
        t = T0 + rng.uniform(0, 5) * DAY
        seq = []
        for _ in range(rng.randint(1, 80)):  # past max_history for some
            t += rng.choice([0.0, 60.0, 3 * DAY, 20 * DAY])  # ties, and some outside the window
            seq.append((t, f"i{rng.randrange(12)}", rng.choice(KINDS)))
        out.append(seq)
    return out


def test_the_batch_rule_adds_what_the_rule_adds_event_by_event() -> None:
    rng = random.Random(7)
    seqs = _sequences(rng, 30)
    # the reference: each event in turn, with its user's earlier events (as many as the
    # config reads) as anchors
    want: defaultdict[str, defaultdict[str, float]] = defaultdict(lambda: defaultdict(float))
    for seq in seqs:
        for n, entry in enumerate(seq):
            prior = seq[max(0, n - CFG.max_history) : n]
            add_entry_pairs(want, prior, entry, TABLE, CFG, 1.0 + n)
    codes = ItemCodes()
    flat = [e for seq in seqs for e in seq]
    starts = [sum(map(len, seqs[:u])) for u, seq in enumerate(seqs) for _ in seq]
    pending = PendingPairs(codes)
    pending.add(
        *pair_increments(
            np.array([e[0] for e in flat]),
            codes.encode([e[1] for e in flat]),
            np.array([TABLE.get(e[2], 0.0) for e in flat]),
            np.arange(len(flat)),
            np.array(starts),
            np.array([1.0 + n for seq in seqs for n in range(len(seq))]),
            CFG,
        )
    )
    got = pending.pairs()
    # the same sums of the same numbers in the same order: equal to the bit
    assert {s: dict(r) for s, r in want.items() if r} == got


def test_remembered_entries_read_as_the_list_parser_reads_them() -> None:
    table = TABLE
    codes = ItemCodes()
    recent = RecentEntries(codes, table)
    lists = [
        [b"300.0 click B e3", b"200.5 view A e2", b"bad entry", b"100.0 purchase C e1"],
        [b"2.0 view B e2", b"x.0 view A e9", b"1.0 decline A e1"],
        ["5.0 view D e5"],
    ]
    for skip in [set(), {"e3"}, {"e1", "e2"}, {"e5", "nope"}]:
        for _ in range(2):  # parsed, then remembered
            flat = [x for raw in lists for x in reversed(raw)]
            ts, code, weight, usable = recent.lookup(flat, skip)
            got = [
                (float(t), codes.names[int(c)], float(w))
                for t, c, w, ok in zip(ts, code, weight, usable, strict=True)
                if ok
            ]
            want = [
                (t, item, table.get(kind, 0.0))
                for raw in lists
                for t, item, kind in recent_entries(raw, skip)
            ]
            assert got == want
    assert len(recent) == 8


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


async def test_online_counts_match_the_offline_fit_on_a_random_log(
    redis: Any, redis_url: str
) -> None:
    """Batches with several events of a user, impressions, declines, long histories and
    events outside the window: the neighbours learned online are those of replaying the log."""
    rng = random.Random(3)
    seqs = _sequences(rng, 12)
    shift = datetime.now(UTC).timestamp() - 2 * DAY - max(seq[-1][0] for seq in seqs)
    log = [
        (f"u{u}", f"bk-{int(item[1:]) + 1:04d}", kind, ts + shift)
        for u, seq in enumerate(seqs)
        for ts, item, kind in seq
    ]
    # batches in time order per user, users interleaved
    log.sort(key=lambda x: x[3])
    services = build_services(Settings(redis_url=redis_url, auth_disabled=True), redis)
    await services.runtime.refresh()
    now = max(x[3] for x in log) + DAY
    events = [
        Event(event_id=f"e{n}", user_id=u, type=k, item_id=i, ts=_iso(t))  # type: ignore[arg-type]
        for n, (u, i, k, t) in enumerate(log)
    ]
    for start in range(0, len(events), 37):
        await services.ingestor.ingest(events[start : start + 37], services.runtime.state, now=now)
    await services.ingestor.flush()
    online = await CooccurrenceStore(redis, prefix="wp", min_interval_s=0).load(now)
    offline = CooccurrenceModel().fit([Interaction(t, u, i, k) for u, i, k, t in log], now=now)
    assert online.neighbours_.keys() == offline.neighbours_.keys()
    for src, row in offline.neighbours_.items():
        got = dict(online.neighbours_[src])
        assert got.keys() == dict(row).keys()
        for dst, sim in row:
            assert got[dst] == pytest.approx(sim, rel=1e-6)


def test_pending_pairs_sum_every_batch_into_one_table() -> None:
    rng = np.random.default_rng(5)
    codes = ItemCodes()
    codes.encode([f"i{n}" for n in range(20)])
    pending = PendingPairs(codes)
    want: defaultdict[tuple[str, str], float] = defaultdict(float)
    for _ in range(6):
        src = rng.integers(0, 20, 300)
        dst = rng.integers(0, 20, 300)
        gain = rng.normal(size=300)
        pending.add(src, dst, gain)
        for s, d, g in zip(src.tolist(), dst.tolist(), gain.tolist(), strict=True):
            want[codes.names[s], codes.names[d]] += g
    got = {(s, d): v for s, row in pending.pairs().items() for d, v in row.items()}
    assert got.keys() == want.keys()
    assert [got[k] for k in want] == pytest.approx([want[k] for k in want], rel=1e-12, abs=1e-12)
    assert pending and not PendingPairs(codes)
