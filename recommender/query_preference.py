"""What the catalog's evidence about a query does inside the gate: a soft sub-category
preference, the query's words as the catalog knows them, and the user's history kept
inside the sub-categories the query names (split from :mod:`recommender.intent_evidence`,
which decides the intent)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from recommender.catalog import CatalogIndex
from recommender.history_scope import HISTORY_INSIDE, history_inside
from recommender.ranking.terms import ScoringContext
from recommender.retrieval.evidence import Evidence

#: a leaf category is one the query points at when it holds this share of the largest
MAIN_CATEGORY = 0.5


def category_preference(evidence: Evidence) -> Mapping[str, float]:
    """Leaf category -> its share of the catalog's vote relative to the largest (0..1]."""
    if not evidence.categories:
        return {}
    best = max(evidence.categories.values())
    return {c: v / best for c, v in evidence.categories.items()}


#: how far (at full catalog strength) a category the query's words do not point to falls
#: below one they do, in the intent term (0..1): a soft preference, never a filter
PREFERENCE = 0.75


def with_evidence(
    ctx: ScoringContext, evidence: Evidence, catalog: CatalogIndex | None = None
) -> ScoringContext:
    """``ctx`` with the query's words as the catalog knows them (typos corrected, compounds
    split: they retrieve and match, reasons still quote only the typed words), the
    sub-category preference the catalog's evidence gives, and (with the ``catalog``) the
    user's history kept inside the sub-categories the query names."""
    if not evidence.tokens:
        return ctx
    preference = category_preference(evidence)
    ctx = replace(
        ctx,
        query_tokens=ctx.query_tokens | evidence.tokens,
        category_preference=preference,
        preference_strength=PREFERENCE * min(evidence.strength, 1.0),
    )
    named = {c for c, v in preference.items() if v >= MAIN_CATEGORY}
    if catalog is None or not named or evidence.strength < HISTORY_INSIDE:
        return ctx
    return history_inside(ctx, named, catalog)
