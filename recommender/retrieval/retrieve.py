"""Retrieve, the first stage of a decision: which actions are worth ranking at all.

Each source returns at most a configured number of catalog positions, reading a bounded
part of the catalog's index, so the cost of a decision does not grow with the catalog:

* ``query`` -- the request's content words against the lexical index (titles, tags and
  category words in every catalog language), restricted to the allowed categories;
* ``category`` -- the best actions by quality prior of each allowed category prefix, so
  an empty query still gets the best of every allowed category;
* ``preferred`` -- the same for the sub-categories the query names (its words or its
  meaning, :mod:`recommender.ranking.preference`), so a leaf the query points at by meaning
  alone is ranked with its best actions, not only those its words match;
* ``affinity`` -- the same for the categories the customer is most drawn to;
* ``history`` -- the customer's own recent items and their co-occurrence / latent-factor
  neighbours;
* ``page`` -- the action on the current page and its category;
* ``open_intent`` -- the categories of intents that ended without an outcome;
* ``lever`` -- actions and categories the business boosted;
* ``popular`` -- what is popular with everybody right now.

The union, deduplicated, goes to the exact ranking stage (:mod:`recommender.ranking`).
Sources only propose; the context filter decides, so a source never needs to be exact
about eligibility (the category sources skip what the cheap filters would remove anyway,
so they do not fill their quota with actions that cannot be shown).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from recommender.catalog import CatalogIndex
from recommender.catalog.arrays import sorted_unique

IntArray = NDArray[np.int32]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class Limits:
    """How many candidates each source may return (``WAYPOINT_RETRIEVAL_*`` settings)."""

    query: int = 100
    #: postings read per query word (the heaviest first)
    postings: int = 5_000
    #: candidates from the allowed categories, shared among their prefixes (a third of it
    #: when the request has words to retrieve by)
    category: int = 300
    #: at least this many per allowed prefix
    per_prefix: int = 30
    history: int = 200
    popular: int = 50
    affinity_categories: int = 5
    #: candidates from the sub-categories the query names, shared among them
    preferred: int = 40
    #: candidates from the customer's favourite categories, shared among them
    affinity: int = 60


@dataclass(frozen=True)
class RetrievalQuery:
    """What the retrieval stage needs to know about one request."""

    query_tokens: frozenset[str] = frozenset()
    #: category prefixes an answer may come from (empty: no restriction)
    allowed_prefixes: tuple[str, ...] = ()
    #: per category id: allowed? (None: no restriction)
    allowed_categories: BoolArray | None = None
    category_affinity: Mapping[str, float] = field(default_factory=dict)
    #: leaf categories the query names (a soft preference of the ranking)
    preferred_categories: tuple[str, ...] = ()
    item_ids: Sequence[str] = ()
    page_item: str | None = None
    open_intent_prefixes: tuple[str, ...] = ()
    boosted_ids: Sequence[str] = ()
    boosted_prefixes: tuple[str, ...] = ()
    popular_ids: Sequence[str] = ()


@dataclass(frozen=True)
class Retrieved:
    #: catalog positions, sorted, unique
    positions: IntArray
    #: per source, how many candidates it proposed (before deduplication)
    sources: dict[str, int]


def _top_level(catalog: CatalogIndex) -> tuple[str, ...]:
    return tuple(sorted({c.split("/", 1)[0] for c in catalog.categories}))


def _best_of(
    catalog: CatalogIndex,
    prefixes: Iterable[str],
    budget: int,
    floor: int,
    available: Callable[[IntArray], BoolArray],
) -> list[IntArray]:
    """The best available actions by prior under each prefix, ``budget`` shared."""
    prefixes = list(dict.fromkeys(prefixes))
    if not prefixes:
        return []
    each = max(floor, budget // len(prefixes))
    lists = [catalog.under_prefix(p) for p in prefixes]
    # the head of every list (twice the quota) checked in one call: the filter's cost is
    # mostly per call, and most quotas are met by their head
    heads = [ranked[: each * 2] for ranked in lists]
    ok = available(np.concatenate(heads))
    out: list[IntArray] = []
    offset = 0
    for ranked, head in zip(lists, heads, strict=True):
        keep = head[ok[offset : offset + len(head)]]
        offset += len(head)
        got = [keep[:each]]
        found = min(len(keep), each)
        # read on in growing chunks until the quota is met; never past 20 times the
        # quota, so an unavailable category cannot make it a full scan
        start, chunk = len(head), each * 4
        while found < each and start < len(ranked) and start < 20 * each:
            part = ranked[start : start + chunk]
            keep = part[available(part)]
            got.append(keep[: each - found])
            found += min(len(keep), each - found)
            start += chunk
            chunk *= 2
        out.extend(got)
    return out


def retrieve(
    catalog: CatalogIndex,
    q: RetrievalQuery,
    limits: Limits,
    available: Callable[[IntArray], BoolArray],
    *,
    history: Mapping[str, float] | None = None,
) -> Retrieved:
    """The candidate positions for one request; ``available`` is the cheap part of the
    context filter (language, channel, region, validity) over positions."""
    parts: list[IntArray] = []
    sources: dict[str, int] = {}

    def add(name: str, arrays: Sequence[IntArray]) -> None:
        n = sum(len(a) for a in arrays)
        if n:
            parts.extend(arrays)
            sources[name] = sources.get(name, 0) + n

    allowed = q.allowed_categories
    if q.query_tokens:
        token_ids = catalog.text.token_ids(q.query_tokens)
        items, weights = catalog.text.search(token_ids, limits.postings)
        if allowed is not None and len(items):
            keep = allowed[catalog.category_of[items]]
            items, weights = items[keep], weights[keep]
        if len(items) > limits.query:
            items = items[np.argpartition(-weights, limits.query - 1)[: limits.query]]
        add("query", [items])

    prefixes = q.allowed_prefixes or _top_level(catalog)
    budget = limits.category // 3 if q.query_tokens else limits.category
    add("category", _best_of(catalog, prefixes, budget, limits.per_prefix, available))

    def gated(prefix_list: Iterable[str]) -> list[str]:
        if allowed is None:
            return list(prefix_list)
        out = []
        for p in prefix_list:
            cats = catalog.prefix_categories.get(p)
            if cats is not None and allowed[cats].any():
                out.append(p)
        return out

    if q.preferred_categories:
        named = gated(q.preferred_categories)
        add("preferred", _best_of(catalog, named, limits.preferred, 10, available))
    if q.category_affinity:
        liked = sorted(
            (c for c, w in q.category_affinity.items() if w > 0),
            key=lambda c: (-q.category_affinity[c], c),
        )[: limits.affinity_categories]
        add("affinity", _best_of(catalog, gated(liked), limits.affinity, 10, available))

    own = catalog.positions(q.item_ids)
    if history:
        best = sorted(history, key=lambda k: (-history[k], k))[: limits.history]
        own = np.concatenate([own, catalog.positions(best)])
    add("history", [own])

    if q.page_item:
        page = catalog.get(q.page_item)
        if page is not None:
            add("page", [catalog.positions([page.id])])
            add("page", _best_of(catalog, gated([page.category]), 50, 10, available))

    if q.open_intent_prefixes:
        add("open_intent", _best_of(catalog, q.open_intent_prefixes, 100, 10, available))

    if q.boosted_ids or q.boosted_prefixes:
        add("lever", [catalog.positions(q.boosted_ids)])
        add("lever", _best_of(catalog, gated(q.boosted_prefixes), 100, 10, available))

    if q.popular_ids:
        add("popular", [catalog.positions(q.popular_ids[: limits.popular])])

    if not parts:
        return Retrieved(np.empty(0, np.int32), sources)
    return Retrieved(sorted_unique(np.concatenate(parts)).astype(np.int32), sources)
