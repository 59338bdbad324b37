"""Online co-occurrence learning: the pair counters in Redis, updated as events arrive by the
same rule as the offline fit (:mod:`recommender.learning.cooccurrence`), and read back into
a :class:`~recommender.learning.cooccurrence.CooccurrenceModel` for the runtime."""

from __future__ import annotations

import asyncio
import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

import numpy as np

from context.bulk import incr_hashes, read_lists, send_batch
from context.store import STORE_ERRORS
from domain.events import Event, EventWeights
from domain.keys import CooccurrenceKeys, UserKeys
from recommender.learning.cooccurrence import (
    CooccurrenceConfig,
    CooccurrenceModel,
    Entry,
    weight_table,
)
from recommender.learning.cooccurrence_batch import (
    ItemCodes,
    PendingPairs,
    RecentEntries,
    pair_increments,
)

log = logging.getLogger("waypoint.cooccurrence")

#: parsed entries of users' lists remembered at most (about 10 MB; they are some 50 per
#: active user, and each batch adds its own)
MAX_REMEMBERED = 100_000
#: item codes kept from one write to the next at most (a new book then)
MAX_CODES = 100_000
#: script calls (of up to ``context.bulk.FIELDS_PER_CALL`` fields) per round trip of a flush
CALLS_PER_TRIP = 4


def recent_entries(
    raw: Sequence[bytes | str], skip: AbstractSet[str], newest: int = 0
) -> list[Entry]:
    """A user's list of recent item events (newest first, see ``UserKeys.recent_items``) as
    entries, oldest first, without the events in ``skip``.

    ``newest``: how many entries of ``skip`` the list holds (the batch just stored pushed
    them): when they are its first ``newest`` entries, as they are unless another batch of
    the same user was stored meanwhile, they are cut off at once."""
    try:  # one decode for the list, not one per entry
        text = b" ".join(reversed(raw)).decode()  # type: ignore[arg-type]
    except TypeError:  # str entries
        text = " ".join(x.decode() if isinstance(x, bytes) else x for x in reversed(raw))
    words = text.split(" ")
    n = len(raw)
    if len(words) == 4 * n:  # the usual case: split all at once, not line by line
        ts, kinds, items, ids = words[0::4], words[1::4], words[2::4], words[3::4]
        try:
            keep = n - newest
            mine = ids[keep:]  # where the batch's own entries usually are
            if 0 < newest <= n and all(i in skip for i in mine) and skip.isdisjoint(ids[:keep]):
                return list(zip(map(float, ts[:keep]), items[:keep], kinds[:keep], strict=True))
            if skip.isdisjoint(ids):
                return list(zip(map(float, ts), items, kinds, strict=True))
            return [
                (float(t), i, k)
                for t, k, i, e in zip(ts, kinds, items, ids, strict=True)
                if e not in skip
            ]
        except ValueError:
            pass
    out: list[Entry] = []
    for x in reversed(raw):  # a malformed entry never blocks learning from the rest
        parts = (x.decode() if isinstance(x, bytes) else x).split(" ")
        if len(parts) == 4 and parts[3] not in skip:
            try:
                out.append((float(parts[0]), parts[2], parts[1]))
            except ValueError:
                continue
    return out


@dataclass(eq=False)
class CooccurrenceObserver:
    """Keeps the global pair counters up to date as events are accepted.

    One pipelined round trip reads every user's recent item events (a compact list the
    event script keeps beside the JSON history). The increments are then summed in memory
    and written (one round trip) at most every ``flush_interval_s``: a busy worker makes
    tens of thousands of pair increments a second, mostly to the same fields, and Redis's
    cost is per field written. Increments commute (decay-encoded at each event's time),
    so the counters end the same; they are only up to ``flush_interval_s`` later in Redis
    (the loader reads them every few seconds anyway). Both steps are best effort: a failed
    read is the ingestor's to log, a failed write (or a crash before it) loses those
    increments, as a failed per-batch write did. ``flush`` writes what is pending now
    (the app calls it at shutdown); an interval of 0 writes every batch before returning.
    """

    redis: Any
    _: KW_ONLY
    prefix: str
    config: CooccurrenceConfig = field(default_factory=CooccurrenceConfig)
    weights: EventWeights = field(default_factory=EventWeights)
    flush_interval_s: float = 0.0

    def __post_init__(self) -> None:
        self.keys = CooccurrenceKeys(self.prefix)
        self.table = weight_table(self.weights)
        self.decay = self.config.decay
        self._fresh_books()

    def _fresh_books(self) -> None:
        """A new code book, and new pending increments and remembered entries that use it."""
        codes = ItemCodes()
        #: pair and mass increments not yet written
        self._pending = PendingPairs(codes)
        #: users' recent item events, parsed
        self._recent = RecentEntries(codes, self.table)
        self._flusher: asyncio.Task[None] | None = None

    async def on_events(self, accepted: Sequence[Event], now: float) -> None:
        table = self.table
        # every item event of the batch, per user: anchors for the user's later ones
        fresh: dict[str, list[Entry]] = defaultdict(list)
        paired: set[str] = set()  # users with an event that makes pairs (a weight)
        for e in accepted:
            if e.item_id:
                fresh[e.user_id].append((e.timestamp(now), e.item_id, e.type))
                if table.get(e.type, 0.0) != 0:
                    paired.add(e.user_id)
        if not paired:
            return
        users = sorted(paired)
        skip = {e.event_id for e in accepted}
        lists = await read_lists(
            self.redis,
            [
                (
                    UserKeys(self.prefix, u).recent_items,
                    0,
                    self.config.max_history + len(fresh[u]) - 1,
                )
                for u in users
            ],
        )
        # (a flush during the read may have started new ones)
        pending, recent = self._pending, self._recent
        if len(recent) > MAX_REMEMBERED:
            recent = self._recent = RecentEntries(pending.codes, table)
        flat = [x for raw in lists for x in reversed(raw)]  # each user's oldest first
        p_ts, p_code, p_weight, usable = recent.lookup(flat, skip)
        kept = np.flatnonzero(usable)
        p_user = np.repeat(np.arange(len(users)), [len(raw) for raw in lists])[kept]
        # the batch's item events, user after user, each user's in time order
        new_ts: list[float] = []
        new_items: list[str] = []
        new_weight: list[float] = []
        new_user: list[int] = []
        scales: list[float] = []
        scale: dict[float, float] = {}  # time -> decay encoding of a weight of 1 then
        mass = pending.mass
        for n, u in enumerate(users):
            for entry_ts, item, kind in sorted(fresh[u], key=lambda x: x[0]):
                f = scale.get(entry_ts)
                if f is None:
                    f = scale[entry_ts] = self.decay.encode(1.0, entry_ts)
                w = table.get(kind, 0.0)
                new_ts.append(entry_ts)
                new_items.append(item)
                new_weight.append(w)
                new_user.append(n)
                scales.append(f)
                if w > 0:
                    mass[item] += w * f
        # each user's sequence: the earlier events, then the batch's
        n_user = np.array(new_user, dtype=np.int64)
        keys = np.concatenate([2 * p_user, 2 * n_user + 1])
        order = np.argsort(keys, kind="stable")
        where = np.empty_like(order)
        where[order] = np.arange(len(order))
        pending.add(
            *pair_increments(
                np.concatenate([p_ts[kept], np.array(new_ts, dtype=np.float64)])[order],
                np.concatenate([p_code[kept], recent.codes.encode(new_items)])[order],
                np.concatenate([p_weight[kept], np.array(new_weight, dtype=np.float64)])[order],
                where[len(kept) :],
                np.searchsorted(keys[order], 2 * n_user),
                np.array(scales, dtype=np.float64),
                self.config,
            )
        )
        if self.flush_interval_s <= 0:
            await self.flush()
        elif self._flusher is None and pending:
            self._flusher = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        try:
            await asyncio.sleep(self.flush_interval_s)
        finally:
            if self._flusher is asyncio.current_task():
                self._flusher = None
        try:
            await self.flush()
        except STORE_ERRORS as exc:  # best effort, like a failed per-batch write
            log.warning("co-occurrence counters not written: %r", exc)

    async def flush(self) -> None:
        """Write the pending increments now (raises the first error reply): every batch
        when the interval is 0, else on the timer, and when the ingestor is flushed (after
        the demo's seeding, at shutdown)."""
        flusher, self._flusher = self._flusher, None
        if flusher is not None and flusher is not asyncio.current_task():
            flusher.cancel()
        pending = self._pending
        if not pending:
            return
        pairs, mass = pending.pairs(), pending.mass
        if len(pending.codes.names) > MAX_CODES:
            self._fresh_books()
        else:
            self._pending = PendingPairs(self._recent.codes)
        # every source gets a mass field, so the loader finds its pairs even when the
        # positive events that made it an anchor predate this observer
        for src in pairs:
            mass[src] += 0.0
        rows: dict[str, dict[str, float]] = {
            self.keys.pairs(src): row for src, row in pairs.items()
        }
        rows[self.keys.mass] = mass
        writes = [*incr_hashes(self.redis, rows), ("INCR", self.keys.version)]
        # a few calls per round trip: each trip stays well inside the socket timeout, and
        # other clients' commands (the event scripts) run between trips
        for start in range(0, len(writes), CALLS_PER_TRIP):
            for reply in await send_batch(self.redis, writes[start : start + CALLS_PER_TRIP]):
                if isinstance(reply, Exception):
                    raise reply


class CooccurrenceStore:
    """Reads the Redis counters into a :class:`CooccurrenceModel` for the runtime.

    :meth:`maybe_load` reloads only when a batch changed the counters and at most every
    ``min_interval_s``; loading also drops faded pairs and caps each item's hash.
    """

    def __init__(
        self,
        redis: Any,
        *,
        prefix: str,
        config: CooccurrenceConfig | None = None,
        min_interval_s: float = 30.0,
        max_fields: int = 500,
    ) -> None:
        self.redis = redis
        self.keys = CooccurrenceKeys(prefix)
        self.config = config or CooccurrenceConfig()
        self.min_interval_s = min_interval_s
        self.max_fields = max_fields
        self._loaded_version: int | None = None
        self._loaded_at = -math.inf

    async def version(self) -> int:
        raw = await self.redis.get(self.keys.version)
        return int(raw) if raw is not None else 0

    async def maybe_load(self, now: float) -> CooccurrenceModel | None:
        """A fresh model if the counters changed since the last load, else None."""
        if now - self._loaded_at < self.min_interval_s:
            return None
        version = await self.version()
        if version == self._loaded_version:
            return None
        model = await self.load(now)
        self._loaded_version = version
        self._loaded_at = now
        return model

    async def load(self, now: float) -> CooccurrenceModel:
        decay = self.config.decay
        raw_mass = await self.redis.hgetall(self.keys.mass)
        mass = decay.decode_all(raw_mass, now)
        items = sorted(_text(k) for k in raw_mass)
        counts: dict[str, dict[str, float]] = {}
        prune: list[tuple[str, list[str]]] = []
        if items:
            async with self.redis.pipeline(transaction=False) as pipe:
                for item in items:
                    pipe.hgetall(self.keys.pairs(item))
                rows = await pipe.execute()
            for item, row in zip(items, rows, strict=True):
                decoded = decay.decode_all(row, now)
                faded = (
                    [k for k in map(_text, row) if k not in decoded]
                    if len(decoded) < len(row)
                    else []
                )
                if len(decoded) > self.max_fields:
                    weakest = sorted(decoded, key=lambda k: abs(decoded[k]))
                    for k in weakest[: len(decoded) - self.max_fields]:
                        faded.append(k)
                        del decoded[k]
                if faded:
                    prune.append((item, faded))
                if decoded:
                    counts[item] = decoded
        if prune:
            async with self.redis.pipeline(transaction=False) as pipe:
                for item, fields in prune:
                    pipe.hdel(self.keys.pairs(item), *fields)
                await pipe.execute()
        model = CooccurrenceModel.from_counts(counts, mass, self.config)
        log.info("co-occurrence neighbours loaded: %d items, %d pairs", len(model), model.n_pairs_)
        return model


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw
