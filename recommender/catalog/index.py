"""The catalog every worker serves from: an immutable, columnar snapshot of one version.

Each action has a position (its rank in id order); everything the decision path asks of
the catalog is an array indexed by that position, so filtering and scoring a candidate set
are array operations whatever the catalog's size:

* category id, kind, channel bitmask, validity window, value term, ``explore`` flag and
  whether the action carries eligibility rules;
* one boolean column per title language and per country named in ``regions``;
* the lexical index (:mod:`recommender.catalog.text_index`);
* per category prefix (every level), the actions under it in order of a quality prior,
  so an empty query still finds the best of each allowed category.

The :class:`~recommender.models.Action` objects are kept too: the few actions an answer
shows are rendered from them.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from recommender.catalog.rows import CHANNEL_BITS, ItemRow, Vocabulary
from recommender.catalog.text_index import TextIndex
from recommender.models import ACTION_KINDS, Action, category_levels

IntArray = NDArray[np.int32]
BoolArray = NDArray[np.bool_]
FloatArray = NDArray[np.float64]

_EMPTY = np.empty(0, dtype=np.int32)


@dataclass(frozen=True, eq=False)
class CatalogIndex:
    """A read-only snapshot of the catalog; build one with :meth:`build` or :meth:`from_rows`."""

    version: int
    items: tuple[Action, ...]
    position: Mapping[str, int]
    categories: tuple[str, ...]
    category_of: IntArray
    kind_of: NDArray[np.int8]
    channels: NDArray[np.uint8]
    languages: Mapping[str, BoolArray]
    region_free: BoolArray
    regions: Mapping[str, BoolArray]
    valid_from: FloatArray
    valid_to: FloatArray
    value: FloatArray
    #: the ``value`` score term, log1p(value) / log1p(max_value)
    value_term: FloatArray
    explore: BoolArray
    has_rules: BoolArray
    text: TextIndex
    #: category prefix -> ids of the categories under it
    prefix_categories: Mapping[str, IntArray]
    #: category prefix -> positions of the actions under it, best prior first
    by_prefix: Mapping[str, IntArray]
    max_value: float = 1.0
    #: longest ``Action.cap`` window in the catalog, seconds
    max_cap_s: int = 0
    ids: tuple[str, ...] = field(default=())

    # -- building -------------------------------------------------------------------

    @classmethod
    def build(cls, actions: Iterable[Action], version: int) -> CatalogIndex:
        by_id = {a.id: a for a in actions}
        vocabulary = Vocabulary()
        rows = [ItemRow.of(by_id[k], vocabulary) for k in sorted(by_id)]
        return cls.from_rows(rows, version, vocabulary)

    @classmethod
    def from_rows(
        cls, rows: Sequence[ItemRow], version: int, vocabulary: Vocabulary
    ) -> CatalogIndex:
        """``rows`` sorted by action id, one per action, their tokens in ``vocabulary``."""
        n = len(rows)
        items = tuple(r.action for r in rows)
        ids = tuple(a.id for a in items)
        categories = tuple(sorted({a.category for a in items}))
        category_id = {c: i for i, c in enumerate(categories)}
        kind_id = {k: i for i, k in enumerate(ACTION_KINDS)}
        category_of = np.fromiter((category_id[a.category] for a in items), np.int32, n)
        value = np.fromiter((a.value for a in items), np.float64, n)
        max_value = max(float(value.max()) if n else 0.0, 1.0)
        value_term = np.log1p(value) / math.log1p(max_value)
        languages: dict[str, BoolArray] = {}
        regions: dict[str, BoolArray] = {}
        for i, a in enumerate(items):
            for lang in a.title:
                column = languages.get(lang)
                if column is None:
                    column = languages[lang] = np.zeros(n, np.bool_)
                column[i] = True
            for country in a.regions:
                column = regions.get(country)
                if column is None:
                    column = regions[country] = np.zeros(n, np.bool_)
                column[i] = True
        prefix_categories: dict[str, list[int]] = {}
        for c, path in enumerate(categories):
            for level in category_levels(path):
                prefix_categories.setdefault(level, []).append(c)
        index = cls(
            version=version,
            items=items,
            ids=ids,
            position=dict(zip(ids, range(n), strict=True)),
            categories=categories,
            category_of=category_of,
            kind_of=np.fromiter((kind_id[a.kind] for a in items), np.int8, n),
            channels=np.fromiter((r.channels for r in rows), np.uint8, n),
            languages=languages,
            region_free=np.fromiter((not a.regions for a in items), np.bool_, n),
            regions=regions,
            valid_from=np.fromiter((r.valid_from for r in rows), np.float64, n),
            valid_to=np.fromiter((r.valid_to for r in rows), np.float64, n),
            value=value,
            value_term=value_term,
            explore=np.fromiter((a.explore for a in items), np.bool_, n),
            has_rules=np.fromiter((bool(a.eligibility) for a in items), np.bool_, n),
            text=TextIndex.build([r.token_ids for r in rows], vocabulary.ids),
            prefix_categories={
                p: np.asarray(cs, dtype=np.int32) for p, cs in prefix_categories.items()
            },
            by_prefix=_prefix_lists(category_of, len(categories), value_term, prefix_categories),
            max_value=max_value,
            max_cap_s=max((r.cap_s for r in rows), default=0),
        )
        return index

    # -- lookups --------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.items)

    def get(self, action_id: str) -> Action | None:
        i = self.position.get(action_id)
        return self.items[i] if i is not None else None

    @functools.cached_property
    def nowhere(self) -> BoolArray:
        """An all-false column (a language or country no action has)."""
        return np.zeros(len(self.items), np.bool_)

    @functools.cached_property
    def actions(self) -> dict[str, Action]:
        """Every action by id (built on first use: the request path does not need it)."""
        return dict(zip(self.ids, self.items, strict=True))

    def positions(self, action_ids: Iterable[str]) -> IntArray:
        """Positions of the ids that are in the catalog (unknown ids are skipped)."""
        pos = self.position
        return np.asarray([pos[i] for i in action_ids if i in pos], dtype=np.int32)

    def under_prefix(self, prefix: str) -> IntArray:
        """Positions of the actions under ``prefix``, best prior first."""
        return self.by_prefix.get(prefix, _EMPTY)

    def category_mask(self, prefixes: Iterable[str]) -> BoolArray:
        """Per category id: is it under one of ``prefixes``?"""
        mask = np.zeros(len(self.categories), np.bool_)
        for p in prefixes:
            ids = self.prefix_categories.get(p)
            if ids is not None:
                mask[ids] = True
        return mask

    def under(self, prefixes: Sequence[str] | None) -> list[Action]:
        """Actions whose category starts with one of ``prefixes`` (all when None)."""
        if prefixes is None:
            return list(self.items)
        mask = self.category_mask(prefixes)
        return [self.items[i] for i in np.flatnonzero(mask[self.category_of])]

    def channel_bit(self, channel: str) -> int:
        return CHANNEL_BITS.get(channel, 0)

    # -- the scalar reference path (offline evaluation, tests) ----------------------

    @functools.cached_property
    def tokens(self) -> dict[str, frozenset[str]]:
        words = {i: t for t, i in self.text.vocabulary.items()}
        ptr, toks = self.text.item_ptr, self.text.item_tokens
        return {
            a: frozenset(words[int(t)] for t in toks[ptr[i] : ptr[i + 1]])
            for i, a in enumerate(self.ids)
        }

    @functools.cached_property
    def value_terms(self) -> dict[str, float]:
        return dict(zip(self.ids, self.value_term.tolist(), strict=True))


def _prefix_lists(
    category_of: IntArray,
    n_categories: int,
    prior: FloatArray,
    prefix_categories: Mapping[str, list[int]],
) -> dict[str, IntArray]:
    n = len(category_of)
    order = np.lexsort((np.arange(n), -prior)).astype(np.int32)  # best prior first
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    grouped = order[np.argsort(category_of[order], kind="stable")]
    ptr = np.zeros(n_categories + 1, np.int64)
    np.cumsum(np.bincount(category_of, minlength=n_categories), out=ptr[1:])
    out: dict[str, IntArray] = {}
    for prefix, cats in prefix_categories.items():
        parts = [grouped[ptr[c] : ptr[c + 1]] for c in cats]
        if len(parts) == 1:
            out[prefix] = parts[0]
        else:
            merged = np.concatenate(parts)
            out[prefix] = merged[np.argsort(rank[merged], kind="stable")]
    return out
