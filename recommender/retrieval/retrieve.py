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

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from recommender.catalog import CatalogIndex
from recommender.catalog.arrays import sorted_unique

IntArray = NDArray[np.int32]
BoolArray = NDArray[np.bool_]

_EMPTY = np.empty(0, np.int32)


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


@dataclass(frozen=True)
class Split:
    """The cheap filter split in two, so the category sources can remember their work:
    ``static`` (channel, language, region: fixed per catalog version and ``key``) and
    ``valid`` (the validity window at the request's time, checked per request)."""

    #: what ``static`` depends on besides the catalog (the request's channel, language,
    #: country)
    key: Hashable
    static: Callable[[IntArray], BoolArray]
    valid: Callable[[IntArray], BoolArray]


#: a category source reads at most this many times its quota of a prefix's list
READ_SPAN = 30
#: of a prefix's list read, the statically available actions remembered: this many times
#: the quota (the validity window rarely removes any)
KEEP_SPAN = 4
#: remembered heads and query results per catalog version before starting again empty
MEMO_MAX = 4096


@dataclass(frozen=True)
class _Head:
    """The statically available actions at the head of a prefix's list, best prior first:
    every one among the first ``complete`` of the list (``whole``: of the span read)."""

    positions: IntArray
    whole: bool


def _head(catalog: CatalogIndex, prefix: str, each: int, split: Split) -> _Head:
    """The statically available head of ``prefix``'s list for a quota of ``each``,
    remembered per catalog version, prefix, quota and ``split.key`` (the request's
    channel, language and country): a request reads a few remembered arrays, whatever the
    size of the lists."""
    key = ("head", prefix, each, split.key)
    known = catalog.memo.get(key)
    if isinstance(known, _Head):
        return known
    ranked = catalog.under_prefix(prefix)
    keep = KEEP_SPAN * each
    limit = min(len(ranked), READ_SPAN * each)
    # read in growing chunks until the head is full (a miss costs about what one request
    # of the list scan did)
    found: list[IntArray] = []
    n, start, chunk = 0, 0, keep
    while n < keep and start < limit:
        part = ranked[start : min(start + chunk, limit)]
        ok = part[split.static(part)][: keep - n]
        found.append(ok)
        n += len(ok)
        start += chunk
        chunk *= 2
    head = _Head(np.concatenate(found) if found else _EMPTY, whole=n < keep)
    _remember(catalog, key, head)
    return head


def _scan(ranked: IntArray, each: int, available: Callable[[IntArray], BoolArray]) -> IntArray:
    """The first ``each`` available actions among the first ``READ_SPAN x each`` of
    ``ranked``, read in growing chunks (most quotas are met by the first)."""
    got: list[IntArray] = []
    found, start, chunk = 0, 0, each * 2
    limit = min(len(ranked), READ_SPAN * each)
    while found < each and start < limit:
        part = ranked[start : min(start + chunk, limit)]
        keep = part[available(part)][: each - found]
        got.append(keep)
        found += len(keep)
        start += chunk
        chunk = each * 4 if start == each * 2 else chunk * 2
    return np.concatenate(got) if got else _EMPTY


def _best_of(
    catalog: CatalogIndex,
    prefixes: Iterable[str],
    budget: int,
    floor: int,
    available: Callable[[IntArray], BoolArray],
    split: Split | None = None,
) -> list[IntArray]:
    """The best available actions by prior under each prefix, ``budget`` shared: the
    first ``max(floor, budget / prefixes)`` available of each prefix's list (read no
    further than :data:`READ_SPAN` times that, so an unavailable category cannot make it
    a full scan)."""
    prefixes = list(dict.fromkeys(prefixes))
    if not prefixes:
        return []
    each = max(floor, budget // len(prefixes))
    if split is None:
        return [_scan(catalog.under_prefix(p), each, available) for p in prefixes]
    heads = [_head(catalog, p, each, split) for p in prefixes]
    # the validity of every head in one call: the cost of a filter is mostly per call
    ok = split.valid(np.concatenate([h.positions for h in heads]))
    out: list[IntArray] = []
    offset = 0
    for prefix, head in zip(prefixes, heads, strict=True):
        n = len(head.positions)
        keep = head.positions[ok[offset : offset + n]]
        offset += n
        if len(keep) >= each or head.whole:
            out.append(keep[:each])
        else:  # the validity window removed most of the head: read the list itself
            out.append(_scan(catalog.under_prefix(prefix), each, available))
    return out


def _remember(catalog: CatalogIndex, key: Hashable, value: object) -> None:
    memo = catalog.memo
    if len(memo) >= MEMO_MAX:
        memo.clear()
    memo[key] = value


def _first_allowed(
    catalog: CatalogIndex, token: int, allowed: BoolArray | None, limits: Limits
) -> IntArray:
    """One known word: its list is in order of weight already (heaviest first, ties by
    position), so its best ``limits.query`` allowed actions are the first allowed ones,
    read in growing chunks rather than the whole list up to the postings cap."""
    text = catalog.text
    lo = int(text.post_ptr[token])
    hi = min(int(text.post_ptr[token + 1]), lo + limits.postings)
    want = limits.query
    if allowed is None:
        return text.post_items[lo : min(hi, lo + want)].copy()
    got: list[IntArray] = []
    found, start, chunk = 0, lo, 2 * want
    while found < want and start < hi:
        part = text.post_items[start : min(start + chunk, hi)]
        keep = part[allowed[catalog.category_of[part]]][: want - found]
        got.append(keep)
        found += len(keep)
        start += chunk
        chunk *= 2
    return np.concatenate(got) if got else _EMPTY.copy()


def _by_words(
    catalog: CatalogIndex, token_ids: IntArray, allowed: BoolArray | None, limits: Limits
) -> IntArray:
    """The ``limits.query`` actions allowed whose words weigh most for ``token_ids``
    (summed BM25 over at most ``limits.postings`` of each word's list), remembered per
    catalog version by the known words and the allowed categories: words the catalog does
    not know (a typo, a made-up word) add nothing, so such a query reads no postings
    again; a query with a new word among the catalog's reads at most the postings cap."""
    key = (
        "query",
        token_ids.tobytes(),
        allowed.tobytes() if allowed is not None else None,
        limits.query,
        limits.postings,
    )
    known = catalog.memo.get(key)
    if isinstance(known, np.ndarray):
        return known
    if len(token_ids) == 1:
        items = _first_allowed(catalog, int(token_ids[0]), allowed, limits)
        items.flags.writeable = False
        _remember(catalog, key, items)
        return items
    items, weights = catalog.text.search(token_ids, limits.postings)
    if allowed is not None and len(items):
        keep = allowed[catalog.category_of[items]]
        items, weights = items[keep], weights[keep]
    if len(items) > limits.query:
        items = items[np.argpartition(-weights, limits.query - 1)[: limits.query]]
    items.flags.writeable = False
    _remember(catalog, key, items)
    return items


def retrieve(
    catalog: CatalogIndex,
    q: RetrievalQuery,
    limits: Limits,
    available: Callable[[IntArray], BoolArray],
    *,
    history: Mapping[str, float] | None = None,
    split: Split | None = None,
) -> Retrieved:
    """The candidate positions for one request; ``available`` is the cheap part of the
    context filter (language, channel, region, validity) over positions, ``split`` the
    same in two parts (then the category sources remember their heads per catalog
    version, :func:`_head`)."""
    parts: list[IntArray] = []
    sources: dict[str, int] = {}

    def add(name: str, arrays: Sequence[IntArray]) -> None:
        n = sum(len(a) for a in arrays)
        if n:
            parts.extend(arrays)
            sources[name] = sources.get(name, 0) + n

    allowed = q.allowed_categories
    if q.query_tokens:
        add("query", [_by_words(catalog, catalog.text.token_ids(q.query_tokens), allowed, limits)])

    prefixes = q.allowed_prefixes or _top_level(catalog)
    budget = limits.category // 3 if q.query_tokens else limits.category
    add("category", _best_of(catalog, prefixes, budget, limits.per_prefix, available, split))

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
        add("preferred", _best_of(catalog, named, limits.preferred, 10, available, split))
    if q.category_affinity:
        liked = sorted(
            (c for c, w in q.category_affinity.items() if w > 0),
            key=lambda c: (-q.category_affinity[c], c),
        )[: limits.affinity_categories]
        add("affinity", _best_of(catalog, gated(liked), limits.affinity, 10, available, split))

    own = catalog.positions(q.item_ids)
    if history:
        best = sorted(history, key=lambda k: (-history[k], k))[: limits.history]
        own = np.concatenate([own, catalog.positions(best)])
    add("history", [own])

    if q.page_item:
        page = catalog.get(q.page_item)
        if page is not None:
            add("page", [catalog.positions([page.id])])
            add("page", _best_of(catalog, gated([page.category]), 50, 10, available, split))

    if q.open_intent_prefixes:
        add("open_intent", _best_of(catalog, q.open_intent_prefixes, 100, 10, available, split))

    if q.boosted_ids or q.boosted_prefixes:
        add("lever", [catalog.positions(q.boosted_ids)])
        add("lever", _best_of(catalog, gated(q.boosted_prefixes), 100, 10, available, split))

    if q.popular_ids:
        add("popular", [catalog.positions(q.popular_ids[: limits.popular])])

    if not parts:
        return Retrieved(np.empty(0, np.int32), sources)
    return Retrieved(sorted_unique(np.concatenate(parts)).astype(np.int32), sources)
