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
#: a query's words outside its negation name what it wants instead ("headphones, not a
#: phone") when the catalog reads them with at least this strength; then the negated words
#: rank nothing. Below it the negated thing is most likely what the query is about ("never
#: owned a tablet, which one", "habe keinen Kühlschrank mehr", "pas encore de casque"): a
#: negation cue also says a lack or a first time, and the word keeps ranking (chosen on 24
#: queries of our own, 12 negations and 12 such statements)
ALTERNATIVE = 0.5


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
    asked = ctx.query
    if ctx.query and evidence.strength >= ALTERNATIVE:
        words = query_words(ctx.query)
        if words.negated:
            # "ein Tablet, kein Handy": the query names what it wants outside its negation,
            # so the negated words rank nothing (neither by tokens nor by meaning)
            ctx = replace(ctx, query_tokens=words.ranking_tokens(ctx.query))
            asked = words.unnegated
    if evidence.tokens:
        ctx = replace(ctx, query_tokens=ctx.query_tokens | evidence.tokens)
    return with_preference(ctx, evidence, catalog, semantic, asked=asked)


def with_preference(
    ctx: ScoringContext,
    evidence: Evidence,
    catalog: CatalogIndex | None = None,
    semantic_of: Semantic = semantic_preference,
    *,
    asked: str | None = None,
) -> ScoringContext:
    """``ctx`` with the sub-category preference of its query (lexical and semantic), the
    popularity prior damped by how clearly the query names leaves, and (with the
    ``catalog``) the user's history kept inside the leaves it names; ``asked``: the text
    whose meaning is read (default: the query)."""
    gate = ctx.intent_categories
    lexical = lexical_preference(evidence, gate)
    text = ctx.query if asked is None else asked
    semantic = semantic_of(text, catalog, gate) if catalog is not None else {}
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
