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

Of each action the worker keeps a :class:`~domain.actions.CatalogItem` (id, kind,
category, titles, value, cap...): the few actions an answer shows are rendered from it. The
full entries stay in Redis.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

import numpy as np
from numpy.typing import NDArray

from domain.actions import Action, CatalogItem, Rule, category_levels
from recommender.catalog.rows import CHANNEL_BITS, MAX_LANGUAGES, ItemRow, Vocabularies, word_ids
from recommender.catalog.text_index import TextIndex
from recommender.catalog.tokens import collect as collect_tokens

IntArray = NDArray[np.int32]
BoolArray = NDArray[np.bool_]
FloatArray = NDArray[np.float64]

_EMPTY = np.empty(0, dtype=np.int32)

#: rows per step of a pass over every action: a build runs beside the event loop, and one
#: C-level call over 100,000 rows would hold the interpreter lock for tens of milliseconds
SLICE = 4096


def slices(n: int, size: int = SLICE) -> list[tuple[int, int]]:
    """``(lo, hi)`` bounds that cut ``range(n)`` into steps of at most ``size``."""
    return [(lo, min(lo + size, n)) for lo in range(0, n, size)]


@dataclass(frozen=True, eq=False)
class CatalogIndex:
    """A read-only snapshot of the catalog; build one with :meth:`build` or :meth:`from_rows`."""

    version: int
    items: tuple[CatalogItem, ...]
    position: Mapping[str, int]
    categories: tuple[str, ...]
    category_of: IntArray
    kind_of: NDArray[np.int8]
    channels: NDArray[np.uint8]
    #: language -> bit number in ``languages``
    language_ids: Mapping[str, int]
    #: per action, bit ``1 << language id`` set for each title language
    languages: NDArray[np.int64]
    region_free: BoolArray
    regions: Mapping[str, BoolArray]
    valid_from: FloatArray
    valid_to: FloatArray
    value: FloatArray
    #: the ``value`` score term, log1p(value) / log1p(max_value)
    value_term: FloatArray
    explore: BoolArray
    #: per action, its eligibility rule set (0: none; k: ``rule_sets[k - 1]``); actions
    #: with the same rules share one set, so a request checks each set once
    rule_set_of: IntArray
    rule_sets: tuple[tuple[Rule, ...], ...]
    text: TextIndex
    #: category prefix -> ids of the categories under it
    prefix_categories: Mapping[str, IntArray]
    #: category prefix -> positions of the actions under it, best prior first
    by_prefix: Mapping[str, IntArray]
    #: per action, CRC-32 of its id (a pseudo-random order that a new version keeps)
    id_hash: NDArray[np.uint32] = field(default_factory=lambda: np.empty(0, np.uint32))
    max_value: float = 1.0
    #: longest ``Action.cap`` window in the catalog, seconds
    max_cap_s: int = 0
    ids: tuple[str, ...] = field(default=())

    # -- building -------------------------------------------------------------------

    @classmethod
    def build(cls, actions: Iterable[Action], version: int) -> CatalogIndex:
        by_id = {a.id: a for a in actions}
        vocab = Vocabularies()
        ordered = [by_id[k] for k in sorted(by_id)]
        rows = [ItemRow.of(a, vocab) for a in ordered]
        fresh = {a.id: word_ids(a, vocab) for a in ordered}
        return cls.from_rows(rows, version, vocab, fresh)

    @classmethod
    def from_rows(
        cls,
        rows: Sequence[ItemRow],
        version: int,
        vocab: Vocabularies,
        fresh: Mapping[str, bytes],
        previous: CatalogIndex | None = None,
    ) -> CatalogIndex:
        """``rows`` sorted by action id, one per action, numbered in ``vocab``. The words
        of an action are ``fresh[id]`` (:func:`~recommender.catalog.rows.word_ids`) when
        there, else those ``previous`` indexed (numbered in the same ``vocab``). The ids
        of ``previous`` (and its id -> position map over them) are reused when they are
        the same."""
        n = len(rows)

        def column(name: str, dtype: type) -> NDArray[Any]:
            out: NDArray[Any] = np.empty(n, dtype)
            get = attrgetter(name)
            for lo, hi in slices(n):
                out[lo:hi] = np.fromiter(map(get, rows[lo:hi]), dtype, hi - lo)
            return out

        items = tuple([r.item for r in rows])
        ids = tuple([a.id for a in items])
        position: Mapping[str, int]
        if previous is not None and previous.ids == ids:
            ids = previous.ids  # read-only, so the versions can share them
            position = previous.position
        else:
            position = {}
            for lo, hi in slices(n):
                position.update(zip(ids[lo:hi], range(lo, hi), strict=True))
        lengths, item_tokens = collect_tokens(
            ids,
            fresh,
            previous.text if previous is not None else None,
            previous.ids if previous is not None else (),
        )
        categories = tuple(vocab.categories.names)
        category_of = column("category", np.int32)
        value = column("value", np.float64)
        max_value = max(float(value.max()) if n else 0.0, 1.0)
        value_term = np.log1p(value) / math.log1p(max_value)
        regions: dict[str, BoolArray] = {}
        rule_set_id: dict[tuple[str, ...], int] = {}
        rule_sets: list[tuple[Rule, ...]] = []
        rule_set_of = np.zeros(n, np.int32)
        for i, r in enumerate(rows):
            if r.regions:
                for country in r.regions:
                    col = regions.get(country)
                    if col is None:
                        col = regions[country] = np.zeros(n, np.bool_)
                    col[i] = True
            if r.rule_key:
                k = rule_set_id.get(r.rule_key)
                if k is None:
                    rule_sets.append(r.item.eligibility)
                    k = rule_set_id[r.rule_key] = len(rule_sets)
                rule_set_of[i] = k
        prefix_categories: dict[str, list[int]] = {}
        for c, path in enumerate(categories):
            for level in category_levels(path):
                prefix_categories.setdefault(level, []).append(c)
        cap_s = column("cap_s", np.int64)
        return cls(
            version=version,
            items=items,
            ids=ids,
            position=position,
            categories=categories,
            category_of=category_of,
            kind_of=column("kind", np.int8),
            channels=column("channels", np.uint8),
            language_ids=dict(vocab.languages.ids),
            languages=column("languages", np.int64),
            region_free=np.fromiter((not r.regions for r in rows), np.bool_, n),
            regions=regions,
            valid_from=column("valid_from", np.float64),
            valid_to=column("valid_to", np.float64),
            value=value,
            value_term=value_term,
            explore=column("explore", np.bool_),
            rule_set_of=rule_set_of,
            rule_sets=tuple(rule_sets),
            text=TextIndex.build(lengths, item_tokens, vocab.words.ids),
            prefix_categories={
                p: np.asarray(cs, dtype=np.int32) for p, cs in prefix_categories.items()
            },
            by_prefix=_prefix_lists(category_of, len(categories), value_term, prefix_categories),
            id_hash=column("id_hash", np.uint32),
            max_value=max_value,
            max_cap_s=int(cap_s.max()) if n else 0,
        )

    # -- lookups --------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.items)

    def get(self, action_id: str) -> CatalogItem | None:
        i = self.position.get(action_id)
        return self.items[i] if i is not None else None

    @functools.cached_property
    def memo(self) -> dict[Hashable, object]:
        """What the request path remembers about this version (it is immutable), e.g. the
        available heads of the category lists (:mod:`recommender.retrieval.retrieve`);
        each user bounds its own entries."""
        return {}

    @functools.cached_property
    def nowhere(self) -> BoolArray:
        """An all-false column (a language or country no action has)."""
        return np.zeros(len(self.items), np.bool_)

    @functools.cached_property
    def actions(self) -> dict[str, CatalogItem]:
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

    def under(self, prefixes: Sequence[str] | None) -> list[CatalogItem]:
        """Actions whose category starts with one of ``prefixes`` (all when None)."""
        if prefixes is None:
            return list(self.items)
        mask = self.category_mask(prefixes)
        return [self.items[i] for i in np.flatnonzero(mask[self.category_of])]

    def channel_bit(self, channel: str) -> int:
        return CHANNEL_BITS.get(channel, 0)

    def in_language(self, language: str, positions: IntArray) -> BoolArray:
        """Which ``positions`` have a title in ``language``."""
        bit = self.language_ids.get(language)
        if bit is None or bit >= MAX_LANGUAGES:
            return np.zeros(len(positions), np.bool_)
        ok: BoolArray = (self.languages[positions] & (1 << bit)) != 0
        return ok

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
