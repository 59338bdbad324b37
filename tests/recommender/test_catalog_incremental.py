"""A catalog kept up to date by deltas answers exactly like one built from scratch.

Random upserts (new ids, changed contents, moved categories) and deletes are applied
version by version through :class:`CatalogSync` against a real Redis; after every step the
served index is compared with a fresh full build of the same actions: every column, the
postings and their order, the prior lists per category prefix and search results.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import numpy as np

from domain.actions import Action
from domain.keys import GlobalKeys
from recommender.catalog import CatalogStore
from recommender.catalog.index import CatalogIndex
from recommender.catalog.sync import CatalogSync

CATEGORIES = ["books/fiction", "books/cooking", "home/kitchen", "home/garden", "telco/mobile"]
WORDS = ["crime", "novel", "quick", "dinner", "phone", "garden", "quiet", "fridge", "roman"]
QUERIES = [["crime", "novel"], ["quick", "dinner"], ["phone"], ["quiet", "fridge", "garden"]]


def _action(rng: random.Random, i: int) -> Action:
    words = rng.sample(WORDS, rng.randint(1, 4))
    return Action.model_validate(
        {
            "id": f"a{i:04d}",
            "kind": rng.choice(["product", "offer", "content"]),
            "category": rng.choice(CATEGORIES),
            "title": {"en": " ".join(words), **({"de": "Titel " + words[0]} if i % 3 else {})},
            "value": rng.choice([0, 5, 20, 120]),
            "channels": rng.choice([[], ["web"], ["app", "web"]]),
            "regions": rng.choice([[], ["DE"], ["FR", "AT"]]),
            "explore": rng.random() < 0.2,
        }
    )


def _same(got: CatalogIndex, want: CatalogIndex) -> None:
    assert got.ids == want.ids
    assert dict(got.position) == dict(want.position)
    assert got.items == want.items
    # category and language ids come from vocabularies that only grow, so compare names
    assert [got.categories[c] for c in got.category_of] == [
        want.categories[c] for c in want.category_of
    ]
    for column in ("kind_of", "channels", "region_free", "valid_from", "valid_to", "value"):
        np.testing.assert_array_equal(getattr(got, column), getattr(want, column), column)
    np.testing.assert_array_equal(got.value_term, want.value_term)
    np.testing.assert_array_equal(got.explore, want.explore)
    for lang in want.language_ids:
        positions = np.arange(len(want), dtype=np.int32)
        np.testing.assert_array_equal(
            got.in_language(lang, positions), want.in_language(lang, positions)
        )
    assert {c: col.tolist() for c, col in got.regions.items() if col.any()} == {
        c: col.tolist() for c, col in want.regions.items() if col.any()
    }
    assert [got.rule_sets[k - 1] if k else () for k in got.rule_set_of] == [
        want.rule_sets[k - 1] if k else () for k in want.rule_set_of
    ]
    assert got.max_value == want.max_value and got.max_cap_s == want.max_cap_s
    # prior lists: the actions under each prefix, best first
    for prefix in set(got.by_prefix) | set(want.by_prefix):
        assert got.under_prefix(prefix).tolist() == want.under_prefix(prefix).tolist(), prefix
    # the lexical index: each action's words, each word's postings in order, searches
    assert got.tokens == want.tokens
    for word in WORDS:
        (g,) = got.text.token_ids([word]).tolist() or [None]
        (w,) = want.text.token_ids([word]).tolist() or [None]
        if w is None:
            assert g is None or got.text.post_ptr[g] == got.text.post_ptr[g + 1]
            continue
        assert g is not None
        gi = got.text.post_items[got.text.post_ptr[g] : got.text.post_ptr[g + 1]]
        wi = want.text.post_items[want.text.post_ptr[w] : want.text.post_ptr[w + 1]]
        assert gi.tolist() == wi.tolist(), word
    for query in QUERIES:
        for cut in (3, 1000):
            gi, gw = got.text.search(got.text.token_ids(query), cut)
            wi, ww = want.text.search(want.text.token_ids(query), cut)
            assert gi.tolist() == wi.tolist()
            np.testing.assert_allclose(gw, ww, rtol=1e-6)


async def test_random_upserts_and_deletes_by_deltas_equal_a_full_build(redis: Any) -> None:
    rng = random.Random(7)
    store = CatalogStore(redis, GlobalKeys("wpt"))
    sync = CatalogSync(store)
    live: dict[str, Action] = {}
    first = [_action(rng, i) for i in range(0, 400, 2)]
    await store.upsert(first)
    live.update((a.id, a) for a in first)
    await sync.refresh()
    for _step in range(25):
        # several versions per refresh, as when they arrive during a build
        for _ in range(rng.randint(1, 3)):
            batch = [_action(rng, rng.randrange(600)) for _ in range(rng.randint(1, 40))]
            await store.upsert(batch)
            live.update((a.id, a) for a in batch)
            for action_id in rng.sample(sorted(live), min(len(live), rng.randint(0, 6))):
                await store.delete(action_id)
                del live[action_id]
        index = await sync.refresh()
        assert index is not None and index.version == await store.version()
        _same(index, CatalogIndex.build(live.values(), index.version))
    assert sync.stats.full_reloads == 1, "every step was applied from the change log"


async def test_upserts_during_refreshes_never_force_a_full_read(redis: Any) -> None:
    """A version written while a worker reads the change log is not mistaken for a gap."""
    rng = random.Random(3)
    store = CatalogStore(redis, GlobalKeys("wpt"))
    sync = CatalogSync(store)
    await store.upsert([_action(rng, i) for i in range(50)])
    await sync.refresh()
    live: dict[str, Action] = {}

    async def writer() -> None:
        for _ in range(60):
            batch = [_action(rng, rng.randrange(200)) for _ in range(5)]
            await store.upsert(batch)
            live.update((a.id, a) for a in batch)
            await asyncio.sleep(0)

    task = asyncio.create_task(writer())
    while not task.done():
        await sync.refresh()
        await asyncio.sleep(0)
    await task
    await sync.refresh()
    assert sync.stats.full_reloads == 1
    assert set(live) <= set(sync.index.ids)
