"""Keeps a worker's catalog index in step with Redis, by deltas, off the event loop.

The worker keeps one :class:`~recommender.catalog.rows.ItemRow` per action. A new
version is applied by reading the change log after the version it serves, fetching only
the actions those changes name and re-deriving only their rows; the columnar index is
then assembled from the rows in a worker thread and handed back whole. Requests keep
using the previous index until the new one is complete, so nobody waits for a rebuild and
nobody sees a half-built catalog. Several versions that arrive during one build are
applied together by the next.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import ctypes
import gc
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import ParamSpec, TypeVar

from recommender.catalog.index import CatalogIndex
from recommender.catalog.rows import ItemRow, Vocabularies, word_ids
from recommender.catalog.store import CatalogStore, Raw, parse_chunk

log = logging.getLogger("waypoint.catalog")

P = ParamSpec("P")
R = TypeVar("R")

#: the interpreter's thread switch interval during catalog work (see :func:`off_loop`)
BUILD_SWITCH_INTERVAL_S = 0.0005


@dataclass
class SyncStats:
    """What the last builds cost; ``/readyz`` and the logs report it."""

    builds: int = 0
    full_reloads: int = 0
    last_build_s: float = 0.0
    #: stored entries skipped because they do not validate
    invalid: list[str] = field(default_factory=list)


class CatalogSync:
    def __init__(self, store: CatalogStore) -> None:
        self.store = store
        self.rows: dict[str, ItemRow] = {}
        #: the words of the rows derived since the last build (packed word ids); the others'
        #: are read from ``index``
        self.fresh: dict[str, bytes] = {}
        #: the ids of ``rows``, sorted (an action's position in the index)
        self.order: list[str] = []
        #: set while rows are being changed: a refresh that failed half-way leaves
        #: ``order`` behind ``rows``, so the next one sorts the ids again
        self._order_stale = False
        self.vocabulary = Vocabularies()
        self.index = CatalogIndex.build([], 0)
        self.version = -1
        self.stats = SyncStats()

    async def refresh(self) -> CatalogIndex | None:
        """The new index when the stored version moved on, else None."""
        current = await self.store.version()
        if current == self.version:
            return None
        changes = await self.store.changes_since(self.version) if self.version >= 0 else None
        invalid: list[str] = []
        if changes is None:
            # the log does not reach back to our version: read everything again
            version = current
            vocabulary = Vocabularies()
            rows: dict[str, ItemRow] = {}
            fresh: dict[str, bytes] = {}
            order: list[str] | None = None
            chunks = self.store.scan()
            self.stats.full_reloads += 1
        else:
            # the rows are updated in place: if this refresh fails half-way, the next one
            # reads the same changes again (the version has not moved) and re-derives them
            version = changes[-1].version
            vocabulary = self.vocabulary
            rows = self.rows
            fresh = self.fresh
            order = None if self._order_stale else self.order
            self._order_stale = True
            changed = sorted({i for c in changes for i in c.ids})
            chunks = self.store.fetch(changed)
        # parse and derive rows chunk by chunk, so the full entries never pile up in memory
        added: list[str] = []
        removed: list[str] = []
        async for chunk in chunks:
            await off_loop(_apply_chunk, chunk, rows, fresh, vocabulary, invalid, added, removed)
        started = time.perf_counter()
        order = await off_loop(_reorder, order, rows, added, removed)
        index = await off_loop(_build, rows, fresh, order, version, vocabulary, self.index)
        self.rows, self.order, self.vocabulary = rows, order, vocabulary
        self.fresh = {}  # the new index holds their words now
        self._order_stale = False
        self.index = index
        # the new index's objects live until the next version: keep the cyclic garbage
        # collector from walking them again and again (a full pass over a large catalog
        # would stall requests); they are freed by reference counting when replaced
        gc.freeze()
        self.version = version
        self.stats.builds += 1
        self.stats.last_build_s = time.perf_counter() - started
        if invalid:
            self.stats.invalid = sorted(set(self.stats.invalid) | set(invalid))
        log.info(
            "catalog version %d ready (%d actions, built in %.0f ms)",
            version,
            len(index),
            self.stats.last_build_s * 1000,
        )
        return index


def _release_free_memory() -> None:
    """Hand the heap freed by the previous index back to the OS (glibc keeps it otherwise,
    so a worker that applied many versions would look as large as its peak)."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _apply_chunk(
    chunk: list[Raw],
    rows: dict[str, ItemRow],
    fresh: dict[str, bytes],
    vocabulary: Vocabularies,
    invalid: list[str],
    added: list[str],
    removed: list[str],
) -> None:
    """Replace the rows of one chunk of stored entries (removed when absent or invalid),
    noting the ids that came or went."""
    for action_id, action in parse_chunk(chunk, invalid).items():
        if action is None:
            fresh.pop(action_id, None)
            if rows.pop(action_id, None) is not None:
                removed.append(action_id)
        else:
            if action_id not in rows:
                added.append(action_id)
            rows[action_id] = ItemRow.of(action, vocabulary)
            fresh[action_id] = word_ids(action, vocabulary)


def _reorder(
    order: list[str] | None, rows: dict[str, ItemRow], added: list[str], removed: list[str]
) -> list[str]:
    """The sorted ids of ``rows``, from the previous ``order`` and the ids that came or
    went: an update of existing actions keeps the list as it is, a few new ids are
    inserted in place (sorting 100,000 ids is one long call that holds the interpreter
    lock), many new ones sort again."""
    if order is None or len(added) + len(removed) > len(order) // 8:
        return sorted(rows)
    if not added and not removed:
        return order
    new = list(order)  # the previous list may still be read by the previous build's owner
    for action_id in removed:
        i = bisect.bisect_left(new, action_id)
        if i < len(new) and new[i] == action_id:
            del new[i]
    for action_id in added:
        bisect.insort(new, action_id)
    return new


def _build(
    rows: dict[str, ItemRow],
    fresh: dict[str, bytes],
    order: list[str],
    version: int,
    vocabulary: Vocabularies,
    previous: CatalogIndex | None = None,
) -> CatalogIndex:
    index = CatalogIndex.from_rows([rows[k] for k in order], version, vocabulary, fresh, previous)
    _release_free_memory()
    return index


async def off_loop(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """``fn`` in a worker thread, with the interpreter's thread switch interval at
    :data:`BUILD_SWITCH_INTERVAL_S`: the event loop waits for the interpreter lock while
    the catalog work runs, and takes it back after 0.5 ms instead of the default 5."""

    def run() -> R:
        with _short_switches():
            return fn(*args, **kwargs)

    return await asyncio.to_thread(run)


_switches = {"active": 0, "saved": 0.0}
_switches_lock = threading.Lock()


@contextlib.contextmanager
def _short_switches() -> Iterator[None]:
    with _switches_lock:
        if _switches["active"] == 0:
            _switches["saved"] = sys.getswitchinterval()
            sys.setswitchinterval(min(_switches["saved"], BUILD_SWITCH_INTERVAL_S))
        _switches["active"] += 1
    try:
        yield
    finally:
        with _switches_lock:
            _switches["active"] -= 1
            if _switches["active"] == 0:
                sys.setswitchinterval(_switches["saved"])
