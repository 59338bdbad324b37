"""Retrieve, filter and score: a bounded candidate set, as arrays, for one request."""

from __future__ import annotations

from typing import Any

import numpy as np

from context.store import UserSnapshot
from intent.resolve import IntentDecision
from intent.taxonomy import Intent
from recommender.learning.history import similar_items, titled_sources
from recommender.ranking.filter import ContextFilter, FilterContext
from recommender.ranking.preference import GENERIC, named_categories, specificity
from recommender.ranking.score import ScoreTable, score_positions
from recommender.ranking.terms import ScoringContext, Weights
from recommender.retrieval import Limits, RetrievalQuery, retrieve
from recommender.schemas import DebugOut, RecommendRequest
from recommender.state import LiveState
from recommender.text import tokens


def page_item(req: RecommendRequest, user: UserSnapshot) -> str | None:
    return req.context.page.item_id if req.context.page else user.journey.page_item


def country(req: RecommendRequest, user: UserSnapshot) -> str | None:
    attr = user.profile.attributes.get("country")
    return req.context.country or user.journey.country or (attr if isinstance(attr, str) else None)


def fatigue_counts(req: RecommendRequest, user: UserSnapshot) -> dict[str, float]:
    """The impression counts fatigue is computed from. The same query asked again in
    this journey, on the same channel, is not held against its own earlier answer:
    asking twice (or reloading) gets the same answer unless something else changed."""
    last = user.journey.last_answer
    counts = dict(user.impressions)
    again = last is not None and last.query == req.query
    if req.query and again and last is not None and last.channel == req.context.channel:
        for action_id in last.shown:
            if action_id in counts:
                counts[action_id] = max(counts[action_id] - 1.0, 0.0)
    return counts


def scoring_context(
    req: RecommendRequest,
    state: LiveState,
    user: UserSnapshot,
    decision: IntentDecision,
    now: float,
    journey_ttl_s: float,
) -> ScoringContext:
    page = page_item(req, user)
    page_action = state.catalog.get(page) if page else None
    earlier = now - journey_ttl_s
    open_intents: dict[str, tuple[str, ...]] = {}
    for o in user.open_intents:
        intent = state.taxonomy.get(o.intent)
        if intent is not None and o.last_seen < earlier:
            open_intents[o.intent] = tuple(intent.allowed_categories)
    allowed = decision.allowed
    history = similar_items(user.item_affinity, state.neighbours, state.ranker)
    return ScoringContext(
        category_affinity=user.category_affinity,
        item_affinity=user.item_affinity,
        impressions=fatigue_counts(req, user),
        query_tokens=tokens(req.query) if req.query else frozenset(),
        query=req.query,
        page_category=page_action.category if page_action else None,
        channel=req.context.channel,
        intent_names=frozenset(i.name for i in allowed),
        intent_categories=tuple(p for i in allowed for p in i.allowed_categories),
        specificity=specificity(allowed, state.taxonomy),
        generic_penalty=GENERIC,
        open_intent_categories=open_intents,
        popularity=state.popularity,
        similar=history.scores,
        similar_sources=titled_sources(history.sources, state.catalog, req.context.language),
    )


def _rules(
    req: RecommendRequest,
    state: LiveState,
    user: UserSnapshot,
    allowed: tuple[Intent, ...],
    now: float,
) -> ContextFilter:
    profile = user.profile
    where = country(req, user)
    facts: dict[str, Any] = {
        "profile": {
            **profile.attributes,
            "segments": profile.segments,
            "tenure_months": profile.tenure_months,
        },
        "context": {
            "channel": req.context.channel,
            "language": req.context.language,
            "country": where,
            "device": req.context.device,
        },
    }
    return ContextFilter(
        state.catalog,
        FilterContext(
            channel=req.context.channel,
            language=req.context.language,
            country=where,
            now=now,
            owned=frozenset(user.owned),
            intents=allowed,
            facts=facts,
            excluded=frozenset(req.exclude),
        ),
    )


def rank_candidates(
    req: RecommendRequest,
    state: LiveState,
    user: UserSnapshot,
    allowed: tuple[Intent, ...],
    ctx: ScoringContext,
    weights: Weights,
    now: float,
    limits: Limits | None,
) -> tuple[ScoreTable, DebugOut]:
    """Retrieve a bounded candidate set, filter it, score it (all as arrays);
    ``allowed``: the intents whose categories may answer (empty: any); ``limits``
    None ranks the whole catalog (the reference scan)."""
    catalog = state.catalog
    rules = _rules(req, state, user, allowed, now)
    sources: dict[str, int] = {}
    if limits is None:
        positions = np.arange(len(catalog), dtype=np.int32)
    else:
        prefixes = tuple(sorted({p for i in allowed for p in i.allowed_categories}))
        levers = state.levers
        got = retrieve(
            catalog,
            RetrievalQuery(
                query_tokens=ctx.query_tokens,
                allowed_prefixes=prefixes,
                allowed_categories=catalog.category_mask(prefixes) if prefixes else None,
                category_affinity=user.category_affinity,
                preferred_categories=named_categories(ctx),
                item_ids=[i for i, w in user.item_affinity.items() if w > 0],
                page_item=page_item(req, user),
                open_intent_prefixes=tuple(
                    p for ps in ctx.open_intent_categories.values() for p in ps
                ),
                boosted_ids=[i for i, f in levers.actions.items() if f > 1],
                boosted_prefixes=tuple(c for c, f in levers.categories.items() if f > 1),
                popular_ids=state.popular_ids,
            ),
            limits,
            rules.available,
            history=ctx.similar,
            split=rules.split,
        )
        positions, sources = got.positions, got.sources
    filtered = rules.apply(positions)
    table = score_positions(catalog, filtered.kept, ctx, weights)
    debug = DebugOut.model_construct(
        candidates=len(positions),
        removed=filtered.removed,
        kept=len(filtered.kept),
        sources=sources,
    )
    return table, debug
