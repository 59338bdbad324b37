"""Keeps each worker's in-memory state in step with the versions stored in Redis."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from dataclasses import KW_ONLY, dataclass, field, replace
from typing import Any, Protocol

from context.decay import Decay
from domain.keys import GlobalKeys
from intent.cache import CachedPredictor, PredictionCache
from intent.resolve import Predictor
from intent.store import TaxonomyStore
from intent.taxonomy import Taxonomy
from recommender.catalog import CatalogIndex, CatalogStore
from recommender.catalog.sync import CatalogSync, off_loop
from recommender.decision.arbiter import ArbitrationSource
from recommender.retrieval import semantic
from recommender.retrieval.evidence import warm
from recommender.state import LiveState

log = logging.getLogger("service.runtime")

#: how many of the most popular actions the live state keeps as a retrieval source
POPULAR = 100
#: the background refresh starts a catalog build no sooner than this many times the last
#: one's duration after it ended: a stream of catalog changes (a version per PUT) is applied
#: in batches, and builds take at most 1 / (1 + BUILD_PACE) of the worker's time, so the
#: requests served meanwhile keep most of it (a 100,000-action build takes about a second)
BUILD_PACE = 3.0


class ModelSource(Protocol):
    async def active_version(self) -> str | None: ...
    async def load(self, version: str) -> Predictor: ...


class NeighbourSource(Protocol):
    async def maybe_load(self, now: float) -> Any: ...


class RankerSource(Protocol):
    async def active_version(self) -> str | None: ...
    async def load(self, version: str) -> Any: ...


class ExperimentSource(Protocol):
    async def version(self) -> int: ...
    async def active(self) -> tuple[Any, ...]: ...


@dataclass(eq=False)
class Runtime:
    """Holds the live state; ``refresh`` reloads whatever changed version in Redis."""

    redis: Any
    keys: GlobalKeys
    _: KW_ONLY
    catalog: CatalogStore
    taxonomy: TaxonomyStore
    models: ModelSource | None
    popularity_decay: Decay
    experiments: ExperimentSource | None = None
    neighbours: NeighbourSource | None = None
    rankers: RankerSource | None = None
    #: levers, contact policy and propensity snapshot (recommender.decision.arbiter)
    arbitration: ArbitrationSource | None = None
    #: predictions of repeated queries, keyed by model version (intent.cache)
    prediction_cache: PredictionCache | None = None
    last_refresh: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        #: applies catalog changes by deltas and builds each new index off the event loop
        self.catalog_sync = CatalogSync(self.catalog)
        self.state = LiveState(catalog=CatalogIndex.build([], 0), taxonomy=Taxonomy())
        self._taxonomy_version = -1
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._experiments_version = -1
        #: monotonic time before which the background refresh starts no catalog build
        self._next_build_at = -math.inf

    async def refresh(self, *, paced: bool = False) -> None:
        """Reload whatever changed version. Serialized: a route's refresh and the background
        one never interleave (which could write back an older state). ``paced`` (the
        background refresh): a catalog build waits out :data:`BUILD_PACE`."""
        async with self._lock:
            await self._refresh(paced)

    def build_due_in(self) -> float:
        """Seconds until the background refresh may build the catalog again (0: now)."""
        return max(0.0, self._next_build_at - time.monotonic())

    async def _refresh(self, paced: bool = False) -> None:
        if not paced or self.build_due_in() == 0:
            started = time.monotonic()
            catalog = await self.catalog_sync.refresh()
            if catalog is not None:
                # the build ran off the event loop; requests kept the previous index
                # meanwhile, and keep it while what a first query would build for it
                # (evidence tables, semantic prototypes) is built there too
                await off_loop(warm, catalog, self.state.taxonomy)
                await off_loop(semantic.warm, catalog)
                self.state = replace(self.state, catalog=catalog)
                ended = time.monotonic()
                self._next_build_at = ended + BUILD_PACE * (ended - started)
        taxonomy_version = await self.taxonomy.version()
        state = self.state
        if taxonomy_version != self._taxonomy_version:
            taxonomy, version = await self.taxonomy.get()
            if taxonomy is not None:
                state = replace(state, taxonomy=taxonomy)
                log.info("taxonomy version %d loaded (%d intents)", version, len(taxonomy.intents))
            self._taxonomy_version = taxonomy_version
        if self.models is not None:
            active = await self.models.active_version()
            if active is not None and active != state.model_version:
                model = await self.models.load(active)
                if self.prediction_cache is not None:
                    model = CachedPredictor(model, active, self.prediction_cache)
                state = replace(state, model=model, model_version=active)
                log.info("intent model %s activated", active)
        if self.experiments is not None:
            version = await self.experiments.version()
            if version != self._experiments_version:
                state = replace(state, experiments=await self.experiments.active())
                self._experiments_version = version
        if self.neighbours is not None:
            table = await self.neighbours.maybe_load(time.time())
            if table is not None:
                state = replace(state, neighbours=table)
        if self.rankers is not None:
            ranker = await self.rankers.active_version()
            if ranker != state.ranker_version:
                loaded = await self.rankers.load(ranker) if ranker is not None else None
                state = replace(state, ranker=loaded, ranker_version=ranker)
                log.info("ranker %s activated", ranker)
        if self.arbitration is not None:
            state = await self.arbitration.refresh(state, time.time())
        if state.taxonomy is not self.state.taxonomy:
            await off_loop(warm, state.catalog, state.taxonomy)
        popularity = await self._popularity()
        state = replace(
            state,
            popularity=popularity,
            popular_ids=tuple(sorted(popularity, key=lambda k: (-popularity[k], k))[:POPULAR]),
        )
        self.state = state
        self.last_refresh = time.time()

    async def _popularity(self) -> dict[str, float]:
        raw = await self.redis.hgetall(self.keys.popularity)
        scores = self.popularity_decay.decode_all(raw, time.time())
        top = max(scores.values(), default=0.0)
        if top <= 0:
            return {}
        return {k: max(0.0, v / top) for k, v in scores.items()}

    def wake(self) -> None:
        """Ask the background refresh to run now instead of at its next interval."""
        self._wake.set()

    async def run(self, interval_s: float) -> None:
        """Refresh forever; errors are logged and retried, never fatal."""
        task = asyncio.current_task()
        while True:
            woken = False
            with contextlib.suppress(TimeoutError):
                woken = await asyncio.wait_for(self._wake.wait(), interval_s)
            self._wake.clear()
            due = self.build_due_in()
            if woken and due > 0:
                # a change woke us during the pause after the last build: apply it, and
                # whatever follows meanwhile, in one build once the pause is over
                await asyncio.sleep(due)
                self._wake.clear()
            try:
                await self.refresh(paced=True)
            except Exception as exc:  # a reload must never kill the worker
                if task is not None and task.cancelling():
                    raise asyncio.CancelledError() from exc
                log.warning("state refresh failed, keeping the current state: %r", exc)
            if task is not None and task.cancelling():
                # a cancel that arrived inside a Redis call can be swallowed (or surface as
                # an error) there; stop as asked instead of refreshing forever
                raise asyncio.CancelledError()

    @contextlib.asynccontextmanager
    async def running(self, interval_s: float) -> Any:
        task = asyncio.create_task(self.run(interval_s), name="waypoint-reload")
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
