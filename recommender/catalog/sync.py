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
import contextlib
import ctypes
import gc
import logging
import time
from dataclasses import dataclass, field

from recommender.catalog.index import CatalogIndex
from recommender.catalog.rows import ItemRow, Vocabularies
from recommender.catalog.store import CatalogStore, Raw, parse_chunk

log = logging.getLogger("waypoint.catalog")


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
            chunks = self.store.scan()
            self.stats.full_reloads += 1
        else:
            version = changes[-1].version
            vocabulary = self.vocabulary
            rows = dict(self.rows)
            chunks = self.store.fetch(sorted({i for c in changes for i in c.ids}))
        # parse and derive rows chunk by chunk, so the full entries never pile up in memory
        async for chunk in chunks:
            await asyncio.to_thread(_apply_chunk, chunk, rows, vocabulary, invalid)
        started = time.perf_counter()
        index = await asyncio.to_thread(_build, rows, version, vocabulary)
        self.rows, self.vocabulary = rows, vocabulary
        self.index = index
        _release_free_memory()
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
    chunk: list[Raw], rows: dict[str, ItemRow], vocabulary: Vocabularies, invalid: list[str]
) -> None:
    """Replace the rows of one chunk of stored entries (removed when absent or invalid)."""
    for action_id, action in parse_chunk(chunk, invalid).items():
        if action is None:
            rows.pop(action_id, None)
        else:
            rows[action_id] = ItemRow.of(action, vocabulary)


def _build(rows: dict[str, ItemRow], version: int, vocabulary: Vocabularies) -> CatalogIndex:
    return CatalogIndex.from_rows([rows[k] for k in sorted(rows)], version, vocabulary)
