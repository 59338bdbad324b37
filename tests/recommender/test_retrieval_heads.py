"""The category sources' remembered heads (``retrieve(..., split=...)``) give exactly what
reading the prior lists on every request gives, validity windows included."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np

from domain.actions import Action
from recommender.catalog import CatalogIndex
from recommender.ranking.filter import ContextFilter, FilterContext
from recommender.retrieval import Limits, RetrievalQuery, retrieve
from recommender.retrieval.retrieve import KEEP_SPAN, BoolArray, IntArray, Split, _best_of
from waypoint.bench.synth import grown_catalog

NOW = time.time()


def _catalog(size: int) -> CatalogIndex:
    actions = [Action.model_validate(a) for a in grown_catalog(size, seed=3)]
    rng = random.Random(5)
    dated = []
    for a in actions:  # a third not valid now: some heads need the list read on
        if rng.random() < 0.33:
            a = a.model_copy(update={"valid_from": datetime.fromtimestamp(NOW + 3600, UTC)})
        dated.append(a)
    return CatalogIndex.build(dated, 1)


CATALOG = _catalog(6_000)


def _filters(channel: str, language: str, country: str | None) -> ContextFilter:
    return ContextFilter(CATALOG, FilterContext(channel, language, country, NOW))


def test_remembered_heads_equal_the_scan() -> None:
    prefixes = sorted(CATALOG.by_prefix)
    rng = random.Random(2)
    for channel, language, country in [
        ("web", "en", "DE"),
        ("app", "de", None),
        ("contact_center", "fr", "FR"),
    ]:
        rules = _filters(channel, language, country)
        for _ in range(40):
            chosen = rng.sample(prefixes, rng.randint(1, 6))
            budget, floor = rng.choice([(300, 30), (100, 30), (40, 10), (50, 10)])
            for _ in range(2):  # the second time from memory
                got = _best_of(CATALOG, chosen, budget, floor, rules.available, rules.split)
                want = _best_of(CATALOG, chosen, budget, floor, rules.available)
                assert [a.tolist() for a in got] == [a.tolist() for a in want]


def test_a_head_emptied_by_validity_reads_the_list_on() -> None:
    rules = _filters("web", "en", "DE")
    prefix = max(CATALOG.by_prefix, key=lambda p: len(CATALOG.by_prefix[p]))
    each = len(CATALOG.by_prefix[prefix]) // (4 * KEEP_SPAN)
    for stride in (1, 7, 50, 7):  # 1 in 7 (50) valid: more than the remembered head holds

        def valid(p: IntArray, stride: int = stride) -> BoolArray:
            ok: BoolArray = p % stride == 0
            return ok

        def available(p: IntArray, valid: Callable[[IntArray], BoolArray] = valid) -> BoolArray:
            ok: BoolArray = rules.split.static(p) & valid(p)
            return ok

        split = Split(rules.split.key, rules.split.static, valid)
        got = _best_of(CATALOG, [prefix], each, each, available, split)
        want = _best_of(CATALOG, [prefix], each, each, available)
        assert [a.tolist() for a in got] == [a.tolist() for a in want]
        assert sum(len(a) for a in got) == each or stride == 50


def test_retrieve_with_and_without_split() -> None:
    rules = _filters("app", "en", "GB")
    q = RetrievalQuery(allowed_prefixes=tuple(sorted(CATALOG.by_prefix))[:5])
    a = retrieve(CATALOG, q, Limits(), rules.available, split=rules.split)
    b = retrieve(CATALOG, q, Limits(), rules.available)
    assert np.array_equal(a.positions, b.positions) and a.sources == b.sources


def test_query_results_are_remembered_by_known_words() -> None:
    rules = _filters("web", "en", "DE")
    prefixes = tuple(sorted(CATALOG.by_prefix))[:3]
    asked = [
        (frozenset({"crime", "novel"}), prefixes),
        (frozenset({"crime", "novel", "zzqxv"}), prefixes),  # an unknown word adds nothing
        (frozenset({"crime", "novel"}), ()),
        (frozenset({"phone"}), prefixes),
    ]
    first = {}
    for words, allowed in asked * 2:
        q = RetrievalQuery(
            query_tokens=words,
            allowed_prefixes=allowed,
            allowed_categories=CATALOG.category_mask(allowed) if allowed else None,
        )
        got = retrieve(CATALOG, q, Limits(query=20), rules.available, split=rules.split)
        key = (words - {"zzqxv"}, allowed)
        first.setdefault(key, got.positions.tolist())
        assert got.positions.tolist() == first[key]
        if allowed:
            mask = CATALOG.category_mask(allowed)
            assert mask[CATALOG.category_of[got.positions]].all()


def test_one_known_word_takes_its_heaviest_allowed_actions() -> None:
    """The first allowed actions of the word's list are its heaviest: the same weights as
    ranking every allowed action of the list by weight (ties may pick other actions)."""
    text = CATALOG.text
    lengths = np.diff(text.post_ptr)
    words = {i: w for w, i in text.vocabulary.items()}
    longest = np.argsort(-lengths)[:8].tolist()
    rules = _filters("web", "en", "DE")
    for token in longest:
        for allowed in ((), tuple(sorted(CATALOG.by_prefix))[:4]):
            mask = CATALOG.category_mask(allowed) if allowed else None
            limits = Limits(query=25, postings=400, category=0, per_prefix=0)
            q = RetrievalQuery(
                query_tokens=frozenset({words[token]}),
                allowed_prefixes=allowed,
                allowed_categories=mask,
            )
            got = retrieve(CATALOG, q, limits, rules.available).positions
            items, weights = text.search(np.asarray([token], np.int32), limits.postings)
            if mask is not None:
                keep = mask[CATALOG.category_of[items]]
                items, weights = items[keep], weights[keep]
            assert len(got) == min(len(items), limits.query)
            lo = int(text.post_ptr[token])
            first = text.post_items[lo : lo + limits.postings]
            if mask is not None:
                first = first[mask[CATALOG.category_of[first]]]
            chosen = first[: limits.query]
            assert got.tolist() == sorted(chosen.tolist())
            weight = dict(zip(items.tolist(), weights.tolist(), strict=True))
            best = sorted(weights.tolist(), reverse=True)[: limits.query]
            assert sorted((weight[i] for i in chosen.tolist()), reverse=True) == best
