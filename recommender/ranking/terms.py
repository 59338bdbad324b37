"""Scoring: each candidate gets named terms in [-1, 1] (fatigue: <= 0, uncapped); the
score is their weighted sum.

Keeping the terms (not just the sum) is what lets every answer explain itself: the
reasons are written from the terms that actually contributed most to the rank.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from domain.actions import Action, CatalogItem, category_levels
from recommender.catalog import CatalogIndex
from recommender.text import match

TERMS = (
    "affinity",
    "context",
    "intent",
    "value",
    "popularity",
    "open_intent",
    "fatigue",
    "similar",
)


@dataclass(frozen=True)
class Weights:
    affinity: float = 1.0
    context: float = 1.0
    intent: float = 0.4
    value: float = 0.3
    popularity: float = 0.3
    open_intent: float = 0.6
    fatigue: float = 0.5
    #: items chosen after the user's items by others (co-occurrence / latent factors);
    #: 1.5 is the smallest weight at which the history ranker matched implicit ALS on the
    #: generated logs (docs/ranking.md)
    similar: float = 1.5

    def replace(self, overrides: Mapping[str, float]) -> Weights:
        unknown = set(overrides) - set(TERMS)
        if unknown:
            raise ValueError(f"unknown ranking weights: {', '.join(sorted(unknown))}")
        return Weights(**{**self.__dict__, **overrides})


@dataclass(frozen=True)
class ScoringContext:
    """What is known about the user and the moment, in the shape scoring needs."""

    category_affinity: Mapping[str, float] = field(default_factory=dict)
    item_affinity: Mapping[str, float] = field(default_factory=dict)
    impressions: Mapping[str, float] = field(default_factory=dict)
    query_tokens: frozenset[str] = frozenset()
    query: str | None = None
    page_category: str | None = None
    channel: str = "web"
    intent_names: frozenset[str] = frozenset()
    intent_categories: tuple[str, ...] = ()
    open_intent_categories: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    popularity: Mapping[str, float] = field(default_factory=dict)
    #: action id -> [0, 1]: how much the user's history points at it (recommender.learning.history)
    similar: Mapping[str, float] = field(default_factory=dict)
    #: action id -> display title of the history item that pointed at it most
    similar_sources: Mapping[str, str] = field(default_factory=dict)
    #: leaf category -> how much the query's words point at it (0..1], from the catalog's
    #: evidence (recommender.intent_evidence): a soft preference inside the gate
    category_preference: Mapping[str, float] = field(default_factory=dict)
    #: how far a category the query does not point at falls in the intent term (0..1)
    preference_strength: float = 0.0
    #: gate prefix -> how specific it is to the request (0..1], recommender.ranking.preference;
    #: empty: all alike
    specificity: Mapping[str, float] = field(default_factory=dict)
    #: how far the least specific prefix falls in the intent term (0..1)
    generic_penalty: float = 0.0
    #: share of the popularity prior kept outside the leaves the query names (0..1]: a
    #: static prior ranks inside what the query asks for, not across it
    #: (recommender.ranking.preference)
    popularity_scale: float = 1.0
    #: the leaf categories the query names, when the user's history is kept inside them
    #: (recommender.history_scope): outside them, the history's category terms (category
    #: affinity, the journey's page, open intents) are 0. Empty: history counts everywhere
    history_leaves: tuple[str, ...] = ()


@dataclass
class Scored:
    action: Action | CatalogItem
    terms: dict[str, float]
    contributions: dict[str, float]
    score: float
    details: dict[str, str] = field(default_factory=dict)


_NO_TOKENS: frozenset[str] = frozenset()


#: impressions per unit of fatigue: with the default weight (0.5) three impressions
#: without effect cost 1, as much as a full affinity or context term
FATIGUE_UNIT = 1.5


def fatigue_term(impressions: float) -> float:
    """Fatigue of an action shown ``impressions`` times (the server's own decayed count).

    ``-n / FATIGUE_UNIT``, without a cap: an action shown again and again without effect
    keeps sinking until any relevance gives way to fresher actions (before, it stopped at
    -1 after three impressions, which a strong relevance term or the propensity multiplier
    could outweigh forever). It is the one term allowed below -1. The count itself decays
    (half-life one day), so the fatigue wears off.
    """
    return -max(impressions, 0.0) / FATIGUE_UNIT


def _under(category: str, prefix: str) -> bool:
    return category == prefix or category.startswith(prefix + "/")


@functools.lru_cache(maxsize=16_384)
def _affinity_levels(category: str) -> tuple[tuple[str, float], ...]:
    """``(level, weight)`` from the leaf up: the leaf says more about taste than its
    parents (0.5 leaf, 0.3 parent, 0.2, then 0.1)."""
    weights = (0.5, 0.3, 0.2)
    levels = reversed(category_levels(category))
    return tuple((level, weights[i] if i < len(weights) else 0.1) for i, level in enumerate(levels))


def _category_affinity(category: str, aff: Mapping[str, float]) -> float:
    if not aff:
        return 0.0
    return sum(aff.get(level, 0.0) * weight for level, weight in _affinity_levels(category))


def _page_similarity(category: str, page_category: str | None) -> float:
    if not page_category:
        return 0.0
    a, b = category.split("/"), page_category.split("/")
    shared = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        shared += 1
    return shared / max(len(a), len(b))


#: (category affinity, page similarity, intent term, open intent name or None, share of the
#: popularity prior kept)
CategoryTerms = tuple[float, float, float, str | None, float]


def category_terms(category: str, ctx: ScoringContext) -> CategoryTerms:
    """The terms that depend only on the action's category (computed once per category)."""
    intent = 0.0
    popular = 1.0
    if ctx.popularity_scale < 1.0:
        liked = ctx.category_preference.get(category, 0.0)
        popular = 1.0 - (1.0 - ctx.popularity_scale) * (1.0 - liked)
    if ctx.intent_categories and any(_under(category, p) for p in ctx.intent_categories):
        # every category the intent allows fits it equally: how deep a prefix sits in the
        # taxonomy says nothing about this request (the query's words rank within the gate);
        # the sub-categories the query's words point at are preferred, softly
        intent = 1.0
        if ctx.category_preference:
            liked = ctx.category_preference.get(category, 0.0)
            intent = 1.0 - ctx.preference_strength * (1.0 - liked)
        if ctx.specificity:
            # a prefix many other intents admit too (the agent channels) is the gate's way
            # out, not its answer: it falls a little below the gate's own categories
            specific = max(
                (w for p, w in ctx.specificity.items() if _under(category, p)), default=1.0
            )
            intent *= 1.0 - ctx.generic_penalty * (1.0 - specific)
    if ctx.history_leaves and not any(_under(category, n) for n in ctx.history_leaves):
        # the query names other leaves: what the user did before ranks only among them
        return (0.0, 0.0, intent, None, popular)
    open_intent = None
    for name, prefixes in ctx.open_intent_categories.items():
        if any(_under(category, p) for p in prefixes):
            open_intent = name
            break
    return (
        _category_affinity(category, ctx.category_affinity),
        _page_similarity(category, ctx.page_category),
        intent,
        open_intent,
        popular,
    )


def score_actions(
    actions: Iterable[Action | CatalogItem],
    ctx: ScoringContext,
    catalog: CatalogIndex,
    weights: Weights,
) -> list[Scored]:
    """Score every action; the category terms are computed once per distinct category."""
    by_category: dict[str, CategoryTerms] = {}
    w = (
        weights.affinity,
        weights.context,
        weights.intent,
        weights.value,
        weights.popularity,
        weights.open_intent,
        weights.fatigue,
        weights.similar,
    )
    query_tokens = ctx.query_tokens
    item_tokens = catalog.tokens
    value_terms = catalog.value_terms
    catalog_actions = catalog.actions
    out: list[Scored] = []
    for action in actions:
        aid = action.id
        cat = by_category.get(action.category)
        if cat is None:
            cat = by_category[action.category] = category_terms(action.category, ctx)
        category_affinity, page_sim, intent, open_intent_name, popular = cat
        details: dict[str, str] = {}
        item_aff = ctx.item_affinity.get(aid, 0.0)
        affinity = math.tanh((category_affinity + 0.5 * item_aff) / 4.0)
        if item_aff > 0.5:
            details["affinity"] = "item"

        query_match = match(query_tokens, item_tokens.get(aid, _NO_TOKENS))
        made_for_channel = 1.0 if action.channels and ctx.channel in action.channels else 0.0
        context = min(1.0, 0.6 * query_match + 0.4 * page_sim + 0.2 * made_for_channel)
        best = max(
            (0.6 * query_match, "query"),
            (0.4 * page_sim, "page"),
            (0.2 * made_for_channel, "channel"),
        )
        details["context"] = best[1]

        open_intent = 0.0
        if open_intent_name is not None:
            open_intent = 1.0
            details["open_intent"] = open_intent_name

        if catalog_actions.get(aid) is action:
            value = value_terms[aid]
        else:  # an action object from elsewhere: compute its term
            value = math.log1p(action.value) / math.log1p(catalog.max_value)
        popularity = ctx.popularity.get(aid, 0.0) * popular
        fatigue = fatigue_term(ctx.impressions.get(aid, 0.0))
        similar = ctx.similar.get(aid, 0.0)
        if similar > 0 and aid in ctx.similar_sources:
            details["similar"] = ctx.similar_sources[aid]

        terms = {
            "affinity": affinity,
            "context": context,
            "intent": intent,
            "value": value,
            "popularity": popularity,
            "open_intent": open_intent,
            "fatigue": fatigue,
            "similar": similar,
        }
        contributions = {
            "affinity": w[0] * affinity,
            "context": w[1] * context,
            "intent": w[2] * intent,
            "value": w[3] * value,
            "popularity": w[4] * popularity,
            "open_intent": w[5] * open_intent,
            "fatigue": w[6] * fatigue,
            "similar": w[7] * similar,
        }
        out.append(
            Scored(
                action=action,
                terms=terms,
                contributions=contributions,
                score=sum(contributions.values()),
                details=details,
            )
        )
    return out


def score_action(
    action: Action | CatalogItem, ctx: ScoringContext, catalog: CatalogIndex, weights: Weights
) -> Scored:
    return score_actions((action,), ctx, catalog, weights)[0]
