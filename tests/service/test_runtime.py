"""The worker's runtime against a real Redis, without HTTP: each refresh picks up what changed
version (taxonomy, intent model, experiments, ranker, popularity), and the background loop
survives a store it cannot reach.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sklearn.preprocessing import StandardScaler

from context.decay import Decay
from domain.actions import Action
from domain.keys import GlobalKeys
from experiments.lifecycle import Experiment
from experiments.models import ExperimentSpec
from experiments.store import AuditEntry, ExperimentStore
from intent.cache import CachedPredictor, PredictionCache
from intent.registry import ModelRegistry
from intent.store import TaxonomyStore
from intent.taxonomy import Intent, Taxonomy
from recommender.catalog import CatalogStore
from service.redis_server import connect
from service.runtime import Runtime
from tests.artifacts.scaler_artifacts import save, scaler_registry

DAY = 86_400.0
NOW = datetime(2026, 3, 1, tzinfo=UTC)
BOOK = Intent(name="buy_book", label={"en": "Buy a book"}, allowed_categories=["books"])


def runtime(redis: Any, **sources: Any) -> Runtime:
    keys = GlobalKeys("t")
    return Runtime(
        redis,
        keys,
        catalog=CatalogStore(redis, keys),
        taxonomy=TaxonomyStore(redis, key=keys.taxonomy, version_key=keys.taxonomy_version),
        models=sources.pop("models", None),
        popularity_decay=Decay(7 * DAY),
        **sources,
    )


async def test_an_empty_store_gives_an_empty_state(redis: Any) -> None:
    rt = runtime(redis)
    await rt.refresh()
    assert len(rt.state.catalog) == 0 and rt.state.taxonomy.intents == []
    assert rt.state.popularity == {} and rt.state.model is None
    assert rt.last_refresh is not None


async def test_a_new_taxonomy_version_is_loaded(redis: Any) -> None:
    rt = runtime(redis)
    await rt.refresh()
    await rt.taxonomy.put(Taxonomy(intents=[BOOK]))
    await rt.refresh()
    assert rt.state.taxonomy.names == ["buy_book"]


async def test_popularity_is_relative_to_the_most_popular(redis: Any) -> None:
    rt = runtime(redis)
    now = time.time()
    for item, weight in (("a", 2.0), ("b", 4.0), ("c", 1.0)):
        await redis.hincrbyfloat(rt.keys.popularity, item, rt.popularity_decay.encode(weight, now))
    await rt.refresh()
    assert rt.state.popularity == pytest.approx({"a": 0.5, "b": 1.0, "c": 0.25}, rel=1e-3)
    assert rt.state.popular_ids == ("b", "a", "c")


async def test_the_active_intent_model_is_loaded_behind_the_cache(
    redis: Any, demo_model_dir: Path
) -> None:
    keys = GlobalKeys("t").intent_models
    models = ModelRegistry(
        redis, index_key=keys.index, blob_prefix=keys.blob_prefix, active_key=keys.active
    )
    rt = runtime(redis, models=models, prediction_cache=PredictionCache(size=10))
    await rt.refresh()
    assert rt.state.model is None
    meta = await models.store_dir(demo_model_dir, load_first=False)
    await models.set_active(meta.version)
    await rt.refresh()
    assert rt.state.model_version == meta.version
    assert isinstance(rt.state.model, CachedPredictor)


async def test_experiments_are_reloaded_when_their_version_moves(redis: Any) -> None:
    store = ExperimentStore(redis, prefix="t")
    rt = runtime(redis, experiments=store)
    await rt.refresh()
    assert not rt.state.experiments
    spec = ExperimentSpec.model_validate(
        {
            "id": "exp",
            "primary_metric": "click",
            "variants": [{"id": "a", "weight": 0.5}, {"id": "b", "weight": 0.5}],
        }
    )
    running = Experiment.create(spec, now=NOW).with_status("running", NOW)
    entry = AuditEntry(ts=NOW, actor="k", action="started", version=1)
    assert await store.commit(0, running, entry)
    await rt.refresh()
    assert rt.state.experiments == (running,)


async def test_the_active_ranker_is_loaded_and_turned_off_again(redis: Any, tmp_path: Path) -> None:
    rankers = scaler_registry(redis, "ranker")
    meta = save(tmp_path)
    await rankers.store_dir(tmp_path, load_first=True)
    rt = runtime(redis, rankers=rankers)
    await rankers.set_active(meta.version)
    await rt.refresh()
    assert rt.state.ranker_version == meta.version
    assert isinstance(rt.state.ranker, StandardScaler)
    await rankers.deactivate()
    await rt.refresh()
    assert rt.state.ranker is None and rt.state.ranker_version is None


async def test_the_background_loop_survives_an_unreachable_store() -> None:
    unreachable = connect("redis://127.0.0.1:9/0", timeout_s=0.2)
    rt = runtime(unreachable)
    try:
        async with rt.running(interval_s=0.05):
            rt.wake()
            await asyncio.sleep(0.3)
        assert rt.last_refresh is None  # every refresh failed, the worker kept going
    finally:
        await unreachable.aclose()


async def test_wake_runs_a_refresh_before_the_interval(redis: Any) -> None:
    rt = runtime(redis)
    async with rt.running(interval_s=60):
        await rt.taxonomy.put(Taxonomy(intents=[BOOK]))
        rt.wake()
        for _ in range(100):
            if rt.state.taxonomy.intents:
                break
            await asyncio.sleep(0.02)
    assert rt.state.taxonomy.names == ["buy_book"]


def _action(i: int) -> Action:
    return Action.model_validate(
        {"id": f"a{i}", "kind": "product", "category": "books", "title": {"en": f"Title {i}"}}
    )


async def test_catalog_changes_during_the_pause_after_a_build_are_applied_in_one_build(
    redis: Any,
) -> None:
    """The background refresh paces catalog builds (service.runtime.BUILD_PACE): changes
    that wake it during the pause after a build wait for its end and go live together, in
    one build; a refresh a route awaits (``?wait=true``) is not paced."""
    rt = runtime(redis)
    sync = rt.catalog_sync
    async with rt.running(interval_s=60):
        await rt.catalog.upsert([_action(0)])
        rt.wake()
        await _until(lambda: len(rt.state.catalog) == 1)
        builds = sync.stats.builds
        rt._next_build_at = time.monotonic() + 0.5  # as after a build of ~0.17 s
        for i in (1, 2):
            await rt.catalog.upsert([_action(i)])
            rt.wake()
            await asyncio.sleep(0.05)
        assert len(rt.state.catalog) == 1, "built during the pause"
        await _until(lambda: len(rt.state.catalog) == 3)
        assert sync.stats.builds == builds + 1
        rt._next_build_at = time.monotonic() + 60
        await rt.catalog.upsert([_action(3)])
        await rt.refresh()  # what a route with ?wait=true awaits: never paced
        assert len(rt.state.catalog) == 4


async def _until(done: Any, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)
