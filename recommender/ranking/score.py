"""The score terms of a candidate set, as arrays (one row per candidate).

The terms and their weights are those of :mod:`recommender.ranking.terms` (which documents
them and keeps the scalar version for offline use); here every term is one array
operation over the candidates' catalog positions, and the per-category terms are
computed once per distinct category. The score is summed in the same term order as the
scalar version, so both give the same numbers.

Only the actions that end up in an answer or in the decision log are turned into
:class:`~recommender.ranking.terms.Scored` objects (:meth:`ScoreTable.scored`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recommender.catalog import CatalogIndex
from recommender.catalog.arrays import unique_inverse
from recommender.ranking.terms import (
    FATIGUE_UNIT,
    TERMS,
    Scored,
    ScoringContext,
    Weights,
    category_terms,
)

IntArray = NDArray[np.int32]
FloatArray = NDArray[np.float64]

_CONTEXT_KINDS = ("query", "page", "channel")
(_AFFINITY, _CONTEXT, _INTENT, _VALUE, _POPULARITY, _OPEN_INTENT, _FATIGUE, _SIMILAR) = (
    TERMS.index(name)
    for name in (
        "affinity",
        "context",
        "intent",
        "value",
        "popularity",
        "open_intent",
        "fatigue",
        "similar",
    )
)


def _lookup(catalog: CatalogIndex, positions: IntArray, table: Mapping[str, float]) -> FloatArray:
    """``table[id]`` for every one of ``positions`` (sorted), 0 when absent; walks the
    smaller of the two."""
    n = len(positions)
    if not table or n == 0:
        return np.zeros(n)
    if len(table) >= n:
        ids, get = catalog.ids, table.get
        return np.fromiter((get(ids[i], 0.0) for i in positions.tolist()), np.float64, n)
    where = catalog.position
    known = [(where[k], v) for k, v in table.items() if k in where]
    out = np.zeros(n)
    if known:
        pos = np.fromiter((k for k, _ in known), np.int64, len(known))
        val = np.fromiter((v for _, v in known), np.float64, len(known))
        idx = np.minimum(np.searchsorted(positions, pos), n - 1)
        hit = positions[idx] == pos
        out[idx[hit]] = val[hit]
    return out


@dataclass
class ScoreTable:
    catalog: CatalogIndex
    ctx: ScoringContext
    positions: IntArray
    #: (candidates x len(TERMS)), in TERMS order
    terms: FloatArray
    contributions: FloatArray
    score: FloatArray
    item_affinity: FloatArray
    context_kind: NDArray[np.intp]
    #: per candidate, the open intent whose categories it is under (or None)
    open_intent: list[str | None]

    def __len__(self) -> int:
        return len(self.positions)

    def scored(self, row: int) -> Scored:
        """The candidate of ``row`` as a :class:`Scored` (terms, contributions, details)."""
        action = self.catalog.items[int(self.positions[row])]
        terms = dict(zip(TERMS, self.terms[row].tolist(), strict=True))
        contributions = dict(zip(TERMS, self.contributions[row].tolist(), strict=True))
        details = {"context": _CONTEXT_KINDS[int(self.context_kind[row])]}
        if self.item_affinity[row] > 0.5:
            details["affinity"] = "item"
        name = self.open_intent[row]
        if name is not None:
            details["open_intent"] = name
        if terms["similar"] > 0 and action.id in self.ctx.similar_sources:
            details["similar"] = self.ctx.similar_sources[action.id]
        return Scored(
            action=action,
            terms=terms,
            contributions=contributions,
            score=float(self.score[row]),
            details=details,
        )


def score_positions(
    catalog: CatalogIndex, positions: IntArray, ctx: ScoringContext, weights: Weights
) -> ScoreTable:
    n = len(positions)
    # each term is written into its column of one (candidates x terms) array, with as few
    # array calls as possible: on the few dozen candidates of a request, every numpy call
    # costs more than the arithmetic it does
    terms = np.empty((n, len(TERMS)))
    cats, inverse = unique_inverse(catalog.category_of[positions])
    per_category = [category_terms(catalog.categories[c], ctx) for c in cats.tolist()]
    open_names = [t[3] for t in per_category]
    popular = np.asarray([t[4] for t in per_category], np.float64)[inverse]
    open_intent_name = [open_names[i] for i in inverse.tolist()]
    # per candidate: category affinity, page similarity, intent term, under an open intent
    by_category = np.array(
        [(t[0], t[1], t[2], 0.0 if t[3] is None else 1.0) for t in per_category], np.float64
    ).reshape(-1, 4)[inverse]
    cat_affinity, page_sim = by_category[:, 0], by_category[:, 1]
    terms[:, _INTENT] = by_category[:, 2]
    terms[:, _OPEN_INTENT] = by_category[:, 3]

    item_aff = _lookup(catalog, positions, ctx.item_affinity)
    np.tanh((cat_affinity + 0.5 * item_aff) / 4.0, out=terms[:, _AFFINITY])

    if ctx.query_tokens:
        token_ids = catalog.text.token_ids(ctx.query_tokens)
        query_match = catalog.text.matched(positions, token_ids) / len(ctx.query_tokens)
    else:
        query_match = np.zeros(n)
    bit = catalog.channel_bit(ctx.channel)
    made = ((catalog.channels[positions] & bit) != 0).astype(np.float64)
    parts = np.empty((n, 3))
    np.multiply(0.6, query_match, out=parts[:, 0])
    np.multiply(0.4, page_sim, out=parts[:, 1])
    np.multiply(0.2, made, out=parts[:, 2])
    np.minimum(1.0, parts[:, 0] + parts[:, 1] + parts[:, 2], out=terms[:, _CONTEXT])
    context_kind = parts.argmax(axis=1) if n else np.zeros(0, np.intp)

    terms[:, _VALUE] = catalog.value_term[positions]
    terms[:, _POPULARITY] = _lookup(catalog, positions, ctx.popularity) * popular
    # fatigue_term, as arrays: -n / FATIGUE_UNIT, no cap
    fatigue = np.maximum(_lookup(catalog, positions, ctx.impressions), 0.0)
    np.divide(np.negative(fatigue, out=fatigue), FATIGUE_UNIT, out=terms[:, _FATIGUE])
    terms[:, _SIMILAR] = _lookup(catalog, positions, ctx.similar)

    w = np.asarray([getattr(weights, name) for name in TERMS], np.float64)
    contributions = terms * w
    score = np.zeros(n)
    for k in range(len(TERMS)):  # summed in TERMS order, as the scalar version does
        score += contributions[:, k]
    return ScoreTable(
        catalog=catalog,
        ctx=ctx,
        positions=positions,
        terms=terms,
        contributions=contributions,
        score=score,
        item_affinity=item_aff,
        context_kind=context_kind,
        open_intent=open_intent_name,
    )
