"""The catalog store's change log and the worker's delta sync, against a real Redis."""

from __future__ import annotations

from typing import Any

from domain.actions import Action
from domain.keys import GlobalKeys
from recommender.catalog import CatalogStore
from recommender.catalog.store import CHANGE_LOG_LENGTH
from recommender.catalog.sync import CatalogSync


def _action(i: int, category: str = "books/fiction", **extra: Any) -> Action:
    return Action.model_validate(
        {
            "id": f"a{i}",
            "kind": "product",
            "category": category,
            "title": {"en": f"Title {i}", "de": f"Titel {i}"},
            **extra,
        }
    )


def _store(redis: Any) -> CatalogStore:
    return CatalogStore(redis, GlobalKeys("wpt"))


async def test_changes_are_applied_as_deltas(redis: Any) -> None:
    store = _store(redis)
    sync = CatalogSync(store)
    v1 = await store.upsert([_action(i) for i in range(5)])
    index = await sync.refresh()
    assert index is not None and index.version == v1 and len(index) == 5
    assert sync.stats.full_reloads == 1
    assert await sync.refresh() is None  # nothing changed

    await store.upsert([_action(1, "books/cooking"), _action(9)])
    await store.delete("a3")
    index = await sync.refresh()
    assert index is not None and index.version == await store.version()
    assert sorted(index.ids) == ["a0", "a1", "a2", "a4", "a9"]
    assert index.get("a1") is not None and index.get("a1").category == "books/cooking"  # type: ignore[union-attr]
    assert sync.stats.full_reloads == 1, "the deltas were read from the change log"
    # the columns follow the items
    pos = index.position["a1"]
    assert index.categories[index.category_of[pos]] == "books/cooking"


async def test_replace_all_swaps_the_catalog_and_forces_a_full_read(redis: Any) -> None:
    store = _store(redis)
    sync = CatalogSync(store)
    await store.upsert([_action(i) for i in range(3)])
    await sync.refresh()
    await store.replace_all([_action(7), _action(8)])
    index = await sync.refresh()
    assert index is not None and sorted(index.ids) == ["a7", "a8"]
    assert sync.stats.full_reloads == 2


async def test_a_gap_in_the_change_log_reads_everything_again(redis: Any) -> None:
    store = _store(redis)
    sync = CatalogSync(store)
    await store.upsert([_action(0)])
    await sync.refresh()
    await store.upsert([_action(1)])
    await redis.delete(store.changes_key)  # as if trimmed away
    await store.upsert([_action(2)])
    index = await sync.refresh()
    assert index is not None and sorted(index.ids) == ["a0", "a1", "a2"]
    assert sync.stats.full_reloads == 2
    assert CHANGE_LOG_LENGTH >= 1_000


async def test_an_entry_that_does_not_validate_is_skipped_not_fatal(redis: Any) -> None:
    store = _store(redis)
    await store.upsert([_action(0), _action(1)])
    # an entry written by hand (or an older release): the value is not a number
    await redis.hset(store.items_key, "bad", b'{"id": "bad", "kind": "product", "value": null}')
    sync = CatalogSync(store)
    index = await sync.refresh()
    assert index is not None and sorted(index.ids) == ["a0", "a1"]
    assert sync.stats.invalid == ["bad"]
    # later writes still work and are served
    await store.upsert([_action(2)])
    index = await sync.refresh()
    assert index is not None and sorted(index.ids) == ["a0", "a1", "a2"]


async def test_bulk_upserts_are_chunked_into_versions(redis: Any) -> None:
    store = _store(redis)
    sync = CatalogSync(store)
    version = await store.upsert([_action(i) for i in range(2_500)])
    assert version == 3  # 1,000 per script
    index = await sync.refresh()
    assert index is not None and len(index) == 2_500 and index.version == 3
