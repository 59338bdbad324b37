"""What the catalog's evidence about a query does inside the gate (split from
:mod:`recommender.intent_evidence`, which decides the intent): the query's words as the
catalog knows them, and its sub-category preference applied to the scoring context.

:mod:`recommender.ranking.preference` reads which leaf categories the query names (its
words in the catalog and its meaning); here that preference goes into the scoring context
(the intent term's soft preference, the damped popularity prior) and keeps the user's
history inside the named leaves (:mod:`recommender.history_scope`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from recommender.catalog import CatalogIndex
from recommender.history_scope import HISTORY_INSIDE, history_inside
from recommender.ranking.preference import (
    NAMED,
    POPULARITY_AT_FOCUS,
    PREFERENCE,
    combined,
    lexical_preference,
    semantic_preference,
)
from recommender.ranking.terms import ScoringContext
from recommender.reasons.query_words import query_words
from recommender.retrieval.evidence import Evidence

#: a leaf category is one the query points at when it holds this share of the largest
MAIN_CATEGORY = 0.5


def category_preference(evidence: Evidence) -> Mapping[str, float]:
    """Leaf category -> its share of the catalog's vote relative to the largest (0..1]."""
    if not evidence.categories:
        return {}
    best = max(evidence.categories.values())
    return {c: v / best for c, v in evidence.categories.items()}


#: the semantic preference of a query inside a gate (:func:`semantic_preference`, or a
#: memo of it: :class:`recommender.query_memo.QueryMemo`)
Semantic = Callable[[str | None, CatalogIndex, tuple[str, ...]], dict[str, float]]


def with_evidence(
    ctx: ScoringContext,
    evidence: Evidence,
    catalog: CatalogIndex | None = None,
    semantic: Semantic = semantic_preference,
) -> ScoringContext:
    """``ctx`` with the query's words as the catalog knows them (typos corrected, compounds
    split: they retrieve and match, reasons still quote only the typed words), and the
    sub-category preference of the query (:func:`with_preference`: the catalog's evidence
    and the query's meaning), which also keeps the user's history inside the sub-categories
    the query names when the ``catalog`` is given."""
    if evidence.tokens:
        ctx = replace(ctx, query_tokens=ctx.query_tokens | evidence.tokens)
    return with_preference(ctx, evidence, catalog, semantic)


def with_preference(
    ctx: ScoringContext,
    evidence: Evidence,
    catalog: CatalogIndex | None = None,
    semantic_of: Semantic = semantic_preference,
) -> ScoringContext:
    """``ctx`` with the sub-category preference of its query (lexical and semantic), the
    popularity prior damped by how clearly the query names leaves, and (with the
    ``catalog``) the user's history kept inside the leaves it names."""
    gate = ctx.intent_categories
    lexical = lexical_preference(evidence, gate)
    # the meaning of what is asked for, not of what is negated ("a gift, but not a book")
    asked = query_words(ctx.query).unnegated if ctx.query else None
    semantic = semantic_of(asked, catalog, gate) if catalog is not None else {}
    preference, focus = combined(lexical, evidence.strength if lexical else 0.0, semantic)
    if not preference:
        return ctx
    ctx = replace(
        ctx,
        category_preference=preference,
        preference_strength=PREFERENCE * focus,
        popularity_scale=1.0 - (1.0 - POPULARITY_AT_FOCUS) * focus,
    )
    named = {c for c, v in preference.items() if v >= NAMED}
    if catalog is None or not named or focus < HISTORY_INSIDE:
        return ctx
    return history_inside(ctx, named, catalog)
