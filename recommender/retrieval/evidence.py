"""What the catalog says about a query: which intents and sub-categories its words point to.

"Kaltes Kontobuch" is the German title of a crime novel, "Arcwave Fold X" a phone; the
intent classifier has never seen either, the catalog's lexical index has. For the query's
folded content words (unknown words read as known ones: :mod:`recommender.retrieval.expand`)
the index's heaviest postings are read, as retrieval does (bounded per word), and the best
matching actions (their BM25 weight relative to the best one, squared, so a full title
match outweighs a shared common word) vote:

* for the **intents** that admit them (taxonomy: category prefixes and action kinds), each
  vote divided by how many catalog actions the intent admits (the likelihood of one action
  under an intent that spreads itself over N: the most specific intent that admits a
  matched action wins, and gift ideas, which admit half the catalog, is not the catalog's
  answer to every title): ``P(intent | query) ~ sum_i r_i^p * admits(intent, i) / N_intent``,
  where the power ``p`` grows from 2 to 10 as a match of two known words or more nears a
  full title (``strength`` near 1): a query is about the one action that explains all of
  it, not about the many that share one of its common words;
* for their **categories**: the share of the vote each leaf category holds, which the
  ranking reads as a soft preference within the gate (crime vs cooking, fridge vs
  dishwasher), never as a filter.

``strength`` says how much the vote is worth (0..1): how much of the query's known words
the best single action explains (its BM25 weight over the summed head weights of those
words: a full title match is 1, one shared word of five about a fifth), times the share of
the query the index knows at all, each word weighted like its BM25 head weight (a word the
index does not know weighs as much as its rarest word). A query made of words the catalog
never uses gets no catalog evidence; one whose only known word is "good" next to "dentist"
gets little.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from domain.actions import ACTION_KINDS
from intent.taxonomy import Taxonomy
from recommender.catalog import CatalogIndex
from recommender.retrieval.expand import Expander

#: postings read per query word (the heaviest first)
POSTINGS = 400
#: best-matching actions that vote
VOTERS = 24
#: a voter's weight relative to the best match is raised to this power
SHARPNESS = 2.0
#: voters below this share of the best weight are ignored
MIN_SHARE = 0.05
#: on a full match the intents' vote raises a voter's relative weight to this higher
#: power: a query is about the few actions that explain it best, so a full title is not
#: outvoted by the many actions that share one common word of it (the categories' vote
#: keeps ``SHARPNESS``)
INTENT_SHARPNESS = 10.0
#: ... reached as ``strength ** STRENGTH_POWER`` nears 1 (``SHARPNESS`` on a loose match
#: and on one known word, which its best action always explains in full)
STRENGTH_POWER = 8.0
#: an intent's vote is divided by (actions it admits) ** OCCAM: the likelihood of one
#: action under an intent that spreads its mass over N actions (the most specific intent
#: that admits a matched action wins over a broad one that admits it too)
OCCAM = 1.0
#: word sets whose evidence one catalog version remembers
EVIDENCE_CACHE = 1024


@dataclass(frozen=True)
class Evidence:
    """The catalog's reading of one query."""

    #: folded query words as the index knows them (typed words and their expansions)
    tokens: frozenset[str] = frozenset()
    #: content words of the query (after folding)
    words: int = 0
    #: share of them the index knows (0..1)
    coverage: float = 0.0
    #: how much the catalog's vote is worth (0..1; see the module docstring)
    strength: float = 0.0
    #: intent name -> share of the catalog's vote (sums to 1; empty: nothing matched)
    intents: Mapping[str, float] = field(default_factory=dict)
    #: leaf category -> share of the vote of its actions (sums to 1; empty: nothing matched)
    categories: Mapping[str, float] = field(default_factory=dict)

    @property
    def matched(self) -> bool:
        return bool(self.intents)


NO_EVIDENCE = Evidence()


class _Prepared:
    """Per catalog version and taxonomy: the vocabulary expander and which intents admit
    each (category, kind)."""

    def __init__(
        self, catalog: CatalogIndex, taxonomy: Taxonomy, previous: _Prepared | None = None
    ) -> None:
        # held weakly: the previous version's tables are kept while the next is warmed
        # (:func:`prepared`), and must not keep the previous catalog itself alive after it
        self._catalog = weakref.ref(catalog)
        self._categories = catalog.categories
        self.taxonomy = taxonomy
        self.names = tuple(i.name for i in taxonomy.intents)
        #: the evidence of the queries' word sets seen so far (emptied when full)
        self.evidence: dict[frozenset[str], Evidence] = {}
        self.expander: Expander = Expander(
            catalog.text.vocabulary,
            catalog.text.n_tokens,
            previous.expander if previous is not None else None,
        )
        pairs = catalog.category_of.astype(np.int64) * len(ACTION_KINDS) + catalog.kind_of
        keys, counts = np.unique(pairs, return_counts=True)
        self._admits: dict[int, NDArray[np.float64]] = {}
        sizes = np.zeros(len(self.names))
        for key, count in zip(keys.tolist(), counts.tolist(), strict=True):
            sizes += self.admits(int(key)) * count
        #: 1 / (actions each intent admits) ** OCCAM (0 for an intent that admits none)
        self.scale = np.where(sizes > 0, np.maximum(sizes, 1.0) ** -OCCAM, 0.0)
        text = catalog.text
        ptr = text.post_ptr
        heads = np.zeros(text.n_tokens)
        has = ptr[1:] > ptr[:-1]
        heads[has] = text.post_weights[ptr[:-1][has]]
        #: per word id, its heaviest BM25 weight; an unknown word weighs the heaviest of all
        self.heads = heads
        self.unknown = float(heads.max()) if len(heads) else 1.0

    def of(self, catalog: CatalogIndex, taxonomy: Taxonomy) -> bool:
        """Whether these are the tables of ``catalog`` and ``taxonomy``."""
        return self._catalog() is catalog and self.taxonomy is taxonomy

    def admits(self, pair: int) -> NDArray[np.float64]:
        row = self._admits.get(pair)
        if row is None:
            category = self._categories[pair // len(ACTION_KINDS)]
            kind = ACTION_KINDS[pair % len(ACTION_KINDS)]
            row = np.asarray(
                [float(i.allows(category, kind)) for i in self.taxonomy.intents], np.float64
            )
            self._admits[pair] = row
        return row


_lock = threading.Lock()
#: the most recent pairs (the live one, and the next one warmed before it goes live)
_prepared: tuple[_Prepared, ...] = ()
_KEEP = 2


def prepared(catalog: CatalogIndex, taxonomy: Taxonomy) -> _Prepared:
    """The prepared tables of this catalog and taxonomy (the last two pairs remembered:
    the live one, and the next one :func:`warm` built before it goes live)."""
    global _prepared
    for p in _prepared:
        if p.of(catalog, taxonomy):
            return p
    with _lock:
        for p in _prepared:
            if p.of(catalog, taxonomy):
                return p
        # the newest pair's expander is extended rather than built again
        p = _Prepared(catalog, taxonomy, _prepared[0] if _prepared else None)
        _prepared = (p, *_prepared)[:_KEEP]
    return p


def warm(catalog: CatalogIndex, taxonomy: Taxonomy) -> None:
    """Build what the first query on a new catalog would otherwise build on the request
    path (the prepared tables and the expander's trigram index: ~0.25 s at 100,000
    actions); the runtime calls it off the event loop before the catalog goes live."""
    prepared(catalog, taxonomy).expander.prepare()


def catalog_evidence(catalog: CatalogIndex, taxonomy: Taxonomy, words: frozenset[str]) -> Evidence:
    """The catalog's evidence for the folded content ``words`` of a query (remembered per
    catalog and taxonomy: a repeated query reads the same postings to the same votes)."""
    if not words or not taxonomy.intents or len(catalog) == 0:
        return Evidence(words=len(words))
    prep = prepared(catalog, taxonomy)
    found = prep.evidence.get(words)
    if found is None:
        found = _weigh(catalog, prep, words)
        if len(prep.evidence) >= EVIDENCE_CACHE:
            prep.evidence.clear()
        prep.evidence[words] = found
    return found


def _weigh(catalog: CatalogIndex, prep: _Prepared, words: frozenset[str]) -> Evidence:
    expanded = prep.expander.expand_all(sorted(words))
    known = frozenset(t for parts in expanded.values() for t in parts)
    coverage = sum(bool(parts) for parts in expanded.values()) / len(words)
    if not known:
        return Evidence(words=len(words))
    text = catalog.text
    ids = text.token_ids(known)
    items, weights = text.search(ids, POSTINGS)
    if len(items) == 0:
        return Evidence(tokens=known, words=len(words), coverage=coverage)
    # per typed word: the heaviest head weight among its expansions
    vocab = text.vocabulary
    typed = [
        max((prep.heads[vocab[t]] for t in parts), default=0.0) if parts else 0.0
        for parts in expanded.values()
    ]
    known_weight = float(sum(typed))
    unknown_weight = prep.unknown * sum(not parts for parts in expanded.values())
    fit = min(1.0, float(weights.max()) / max(float(prep.heads[ids].sum()), 1e-9))
    strength = fit * known_weight / max(known_weight + unknown_weight, 1e-9)
    if len(items) > VOTERS:
        best = np.argpartition(-weights, VOTERS - 1)[:VOTERS]
        items, weights = items[best], weights[best]
    relative = weights / float(weights.max())
    # one known word is always fully "explained" by its best action: no title evidence
    several = sum(bool(parts) for parts in expanded.values()) > 1
    power = SHARPNESS + (INTENT_SHARPNESS - SHARPNESS) * strength**STRENGTH_POWER * several
    share = relative**SHARPNESS
    keep = share >= MIN_SHARE
    items, share, relative = items[keep], share[keep], relative[keep]
    pairs = catalog.category_of[items].astype(np.int64) * len(ACTION_KINDS) + catalog.kind_of[items]
    votes = np.zeros(len(prep.names))
    by_category: dict[str, float] = {}
    for pair, r, rel in zip(pairs.tolist(), share.tolist(), relative.tolist(), strict=True):
        votes += rel**power * prep.admits(int(pair))
        category = catalog.categories[int(pair) // len(ACTION_KINDS)]
        by_category[category] = by_category.get(category, 0.0) + r
    votes *= prep.scale
    total = float(votes.sum())
    mass = sum(by_category.values())
    return Evidence(
        tokens=known,
        words=len(words),
        coverage=coverage,
        strength=strength,
        intents=(
            {n: float(v) / total for n, v in zip(prep.names, votes.tolist(), strict=True) if v}
            if total > 0
            else {}
        ),
        categories={c: v / mass for c, v in by_category.items()} if mass > 0 else {},
    )


def entropy(distribution: Mapping[str, float]) -> float:
    """Shannon entropy (nats) of a distribution given as shares."""
    return -sum(p * math.log(p) for p in distribution.values() if p > 0)
