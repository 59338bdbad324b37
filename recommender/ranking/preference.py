"""The sub-categories a query names, as a soft preference inside the gate.

Two readings of the query vote for the leaf categories the gate admits:

* the **lexical** one (:mod:`recommender.retrieval.evidence`): the categories of the
  actions whose words the query shares, worth the evidence's ``strength`` (a full title
  match is 1, one common word among several little);
* the **semantic** one (:mod:`recommender.retrieval.semantic`): how close the query's
  embedding is to each leaf's prototype actions, turned into a preference relative to the
  closest leaf (``exp((s - s_best) / SEMANTIC_TEMPERATURE)``) and worth
  :data:`SEMANTIC_WEIGHT`. It reads what shares no word with the catalog ("negotiation" is
  business, "six-year-old" is kids, "romace" is romance).

The preference of a leaf is the weighted mean of the two, relative to the best leaf
(0..1]. How much it counts (``focus``) grows with the stronger of the two readings; it
lowers the intent term of the leaves the query does not point at (never raises one: a
leaf is never preferred for being deep in the taxonomy, only for what the query says),
damps the popularity prior outside the named leaves (a static term that is the same
for every query ranks inside what the query asks for, never across it: the best seller of
the crime shelf no longer leads every book query), and keeps the user's history inside
the named leaves (:mod:`recommender.query_preference` applies it,
:mod:`recommender.history_scope`).

Inside a gate, the prefixes the gate shares with many other intents (the agent channels
that every service intent admits, installation) are its way out, not its answer: their
intent term falls by up to :data:`GENERIC` against the gate's most specific prefix
(:func:`specificity`), so a billing question shows its help pages ahead of the three ways
to reach an agent, which stay in the answer. A gate of one prefix ("talk to an agent") is
unchanged.

The weights were chosen on the dev probes only (sub-category hit@3, hit@1 and the rank of
the first named action, fresh users and users with history); docs/evaluation.md has the
figures.
"""

from __future__ import annotations

import threading

import numpy as np

from intent.taxonomy import Intent, Taxonomy
from recommender.catalog import CatalogIndex
from recommender.lexicon import reading
from recommender.ranking.terms import ScoringContext
from recommender.retrieval.evidence import Evidence
from recommender.retrieval.semantic import semantic_index

#: how far (at full focus) a leaf the query does not point at falls below one it does, in
#: the intent term (0..1): a soft preference, never a filter
PREFERENCE = 0.9
#: worth of the semantic reading against the lexical one's strength (0..1)
SEMANTIC_WEIGHT = 0.3
#: similarity gap (cosine) over which a leaf's semantic preference falls by a factor e
SEMANTIC_TEMPERATURE = 0.1
#: a leaf is named by the query when its preference is at least this: the user's history
#: stays inside the named leaves, and their best actions are retrieved
NAMED = 0.5
#: how far (at most) a gate prefix that many other intents admit too (the agent channels,
#: installation) falls below the gate's own most specific prefix, in the intent term
GENERIC = 0.25
#: share of the popularity prior kept at full focus in a leaf the query does not point at
#: (a named leaf keeps all of it)
POPULARITY_AT_FOCUS = 0.2


def _under(category: str, prefixes: tuple[str, ...]) -> bool:
    return any(category == p or category.startswith(p + "/") for p in prefixes)


def lexical_preference(evidence: Evidence, gate: tuple[str, ...] = ()) -> dict[str, float]:
    """Leaf category (under ``gate``, if given) -> its share of the catalog's lexical vote
    relative to the largest."""
    shares = dict(evidence.categories)
    if gate:  # a vote for leaves outside the gate says nothing about those inside
        shares = {c: v for c, v in shares.items() if _under(c, gate)}
    if not shares:
        return {}
    best = max(shares.values())
    return {c: v / best for c, v in shares.items()}


def semantic_preference(
    query: str | None, catalog: CatalogIndex, gate: tuple[str, ...]
) -> dict[str, float]:
    """Leaf category (under ``gate``) -> its semantic preference relative to the closest
    one (0..1]; empty without a query, a gate, the embedding, or a second leaf to prefer."""
    if not query or not gate:
        return {}
    index = semantic_index(catalog)
    if index is None:
        return {}
    found = index.similarity(reading(query))
    if not len(found.categories):
        return {}
    inside = catalog.category_mask(gate)[found.categories]
    if int(inside.sum()) < 2:
        return {}
    cats = found.categories[inside]
    sims = found.similarity[inside].astype(np.float64)
    pref = np.exp((sims - sims.max()) / SEMANTIC_TEMPERATURE)
    names = catalog.categories
    return {names[int(c)]: float(p) for c, p in zip(cats.tolist(), pref.tolist(), strict=True)}


def combined(
    lexical: dict[str, float], strength: float, semantic: dict[str, float]
) -> tuple[dict[str, float], float]:
    """The weighted mean of the two preferences relative to its best leaf, and the focus
    (0..1: how much the preference counts)."""
    lex_w = min(max(strength, 0.0), 1.0) if lexical else 0.0
    sem_w = SEMANTIC_WEIGHT if semantic else 0.0
    if lex_w + sem_w <= 0:
        return {}, 0.0
    leaves = set(lexical) | set(semantic)
    mixed = {
        c: (lex_w * lexical.get(c, 0.0) + sem_w * semantic.get(c, 0.0)) / (lex_w + sem_w)
        for c in leaves
    }
    best = max(mixed.values())
    if best <= 0:
        return {}, 0.0
    return {c: v / best for c, v in mixed.items() if v > 0}, max(lex_w, sem_w)


def named_categories(ctx: ScoringContext) -> tuple[str, ...]:
    """The leaf categories ``ctx``'s query names (preference at least :data:`NAMED`)."""
    if ctx.preference_strength <= 0:
        return ()
    return tuple(sorted(c for c, v in ctx.category_preference.items() if v >= NAMED))


def _overlap(p: str, q: str) -> bool:
    return p == q or p.startswith(q + "/") or q.startswith(p + "/")


_specific_lock = threading.Lock()
_specific: tuple[Taxonomy | None, dict[tuple[str, ...], dict[str, float]]] = (None, {})
#: gates remembered per taxonomy (cleared when full)
_GATES = 1024


def specificity(allowed: tuple[Intent, ...], taxonomy: Taxonomy) -> dict[str, float]:
    """Gate prefix -> how specific it is to this request (0..1]: the fewest intents that
    admit any prefix of the gate over the intents that admit this one. A billing question
    admits its own help pages (one intent) and the agent channels (seven): the help pages
    answer it, an agent is the way out. Empty when every prefix is equally specific.
    Remembered per gate for the live taxonomy (do not change the returned dict)."""
    global _specific
    key = tuple(f"{i.name}:{'|'.join(i.allowed_categories)}" for i in allowed)
    held, known = _specific
    if held is not taxonomy:
        with _specific_lock:
            _specific = (taxonomy, {})
            held, known = _specific
    found = known.get(key)
    if found is None:
        if len(known) >= _GATES:
            known.clear()
        found = known[key] = _specificity(allowed, taxonomy)
    return found


def _specificity(allowed: tuple[Intent, ...], taxonomy: Taxonomy) -> dict[str, float]:
    prefixes = list(dict.fromkeys(p for i in allowed for p in i.allowed_categories))
    if len(prefixes) < 2:
        return {}
    admitted = {
        p: sum(any(_overlap(p, q) for q in i.allowed_categories) for i in taxonomy.intents)
        for p in prefixes
    }
    fewest = max(min(admitted.values()), 1)
    if all(n <= fewest for n in admitted.values()):
        return {}
    return {p: fewest / max(n, fewest) for p, n in admitted.items()}
