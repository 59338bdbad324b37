"""A query's sub-category preference applied to the scoring context.

:mod:`recommender.ranking.preference` reads which leaf categories the query names (its
words in the catalog and its meaning); here that preference goes into the scoring context
(the intent term's soft preference, the damped popularity prior) and keeps the user's
history inside the named leaves (:mod:`recommender.history_scope`).
"""

from __future__ import annotations

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
from recommender.retrieval.evidence import Evidence


def with_preference(
    ctx: ScoringContext, evidence: Evidence, catalog: CatalogIndex | None = None
) -> ScoringContext:
    """``ctx`` with the sub-category preference of its query (lexical and semantic), the
    popularity prior damped by how clearly the query names leaves, and (with the
    ``catalog``) the user's history kept inside the leaves it names."""
    gate = ctx.intent_categories
    lexical = lexical_preference(evidence, gate)
    semantic = semantic_preference(ctx.query, catalog, gate) if catalog is not None else {}
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
