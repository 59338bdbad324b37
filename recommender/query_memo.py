"""Per-query work remembered across requests (per worker, bounded).

What a typed query resolves to -- the intent decision from the classifier and the catalog
(:func:`recommender.intent_evidence.weigh_query`) and the catalog's evidence -- depends on
the query's text and on the live intent model, catalog and taxonomy only, not on the
customer or the context; so does the semantic sub-category preference of a query inside
a gate (:func:`recommender.ranking.preference.semantic_preference`). Customers type the
same few things a lot, so a repeated query skips the classifier, the speller, the
catalog's vote, the decision and the embedding. Entries belong to the live objects they
were computed from: when the live state swaps the model, the catalog or the taxonomy, the
memo starts afresh, so an answer never comes from a model or catalog no longer live.

The values are never changed after they are made (frozen dataclasses, and preference
dicts that their readers only read), so one entry serves many requests.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from intent.resolve import IntentDecision, has_words
from recommender.catalog import CatalogIndex
from recommender.intent_evidence import weigh_query
from recommender.ranking.preference import semantic_preference
from recommender.retrieval.evidence import Evidence
from recommender.state import LiveState

#: distinct queries remembered (an entry holds a few small dicts: a few KB at most)
MEMO_SIZE = 1_024

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def weighs(query: str | None, explicit: str | None, state: LiveState) -> bool:
    """Whether :func:`weigh_query` decides this request's intent itself (a typed query with
    words, no explicit intent, a model and a taxonomy): the classifier's own decision is
    then replaced, so it need not be made."""
    return (
        explicit is None
        and bool(query)
        and state.model is not None
        and bool(state.taxonomy.intents)
        and has_words(query or "")
    )


@dataclass
class Lru(Generic[K, V]):
    """A least-recently-used map for the live objects ``owner`` (identity): asked with
    other owners, it forgets everything first."""

    size: int = MEMO_SIZE
    hits: int = 0
    misses: int = 0
    _owner: tuple[object, ...] = field(default=(), repr=False)
    _entries: OrderedDict[K, V] = field(default_factory=OrderedDict, repr=False)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, owner: tuple[object, ...], key: K, make: Callable[[], V]) -> V:
        entries = self._entries
        if len(owner) != len(self._owner) or any(
            a is not b for a, b in zip(owner, self._owner, strict=True)
        ):
            entries.clear()
            self._owner = owner
        if key in entries:
            entries.move_to_end(key)
            self.hits += 1
            return entries[key]
        self.misses += 1
        value = make()
        if self.size > 0:
            entries[key] = value
            if len(entries) > self.size:
                entries.popitem(last=False)
        return value


@dataclass
class QueryMemo:
    """Typed queries' intent decisions and evidence, and their semantic preferences."""

    decisions: Lru[str, tuple[IntentDecision, Evidence]] = field(default_factory=Lru)
    preferences: Lru[tuple[str, tuple[str, ...]], dict[str, float]] = field(default_factory=Lru)

    def weigh(self, query: str, state: LiveState) -> tuple[IntentDecision, Evidence]:
        """:func:`weigh_query` for a query that :func:`weighs` (no explicit intent)."""
        return self.decisions.get(
            (state.model, state.catalog, state.taxonomy),
            query,
            lambda: weigh_query(query, None, IntentDecision(), state),
        )

    def semantic(
        self, query: str | None, catalog: CatalogIndex, gate: tuple[str, ...]
    ) -> dict[str, float]:
        """:func:`semantic_preference` of ``query`` inside ``gate``."""
        if not query or not gate:
            return {}
        return self.preferences.get(
            (catalog,), (query, gate), lambda: semantic_preference(query, catalog, gate)
        )
