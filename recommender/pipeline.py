"""One decision, end to end: read the user, resolve the intent, filter, rank, explain."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from context.events import EventPlanner
from context.filter import FilterContext, apply_filter
from context.store import STORE_ERRORS, UserSnapshot, UserStore
from intent.learned import LearnedExample, LearnedExamples
from intent.resolve import (
    ClarifyPolicy,
    IntentDecision,
    clarify_question,
    option_label,
    resolve_intent,
)
from recommender.arbiter import Arbiter, Picked
from recommender.explain import Reason, ReasonContext, explored, reason_context, reasons
from recommender.history import similar_items, titled_sources
from recommender.schemas import (
    ActionOut,
    Clarify,
    ClarifyOption,
    DebugOut,
    ExperimentOut,
    IntentOut,
    RecommendRequest,
    RecommendResponse,
)
from recommender.scoring import Scored, ScoringContext, Weights, diversify, score_actions
from recommender.state import LiveState
from recommender.text import tokens

log = logging.getLogger("waypoint.recommender")


@dataclass(frozen=True)
class Strategy:
    """Ranking parameters; experiments override them per variant."""

    weights: Weights = field(default_factory=Weights)
    diversity: float = 0.4
    #: share of answers in which one slot tries an action that passed every filter and
    #: policy but would not have made the list (0 = never explore)
    exploration_rate: float = 0.0


@dataclass(frozen=True)
class Treatment:
    """How this request is served: the strategy, and the experiment arm it came from."""

    strategy: Strategy = field(default_factory=Strategy)
    experiment: ExperimentOut | None = None
    #: opaque to the pipeline; handed back to ``TreatmentPolicy.exposed``
    detail: Any = None


class TreatmentPolicy(Protocol):
    """Chooses the strategy per request (A/B experiments) and records exposures."""

    def treatment(
        self, req: RecommendRequest, user: UserSnapshot, state: LiveState
    ) -> Treatment: ...

    async def exposed(
        self, req: RecommendRequest, answer: RecommendResponse, treatment: Treatment, now: float
    ) -> None: ...


class Recommender:
    def __init__(
        self,
        store: UserStore,
        planner: EventPlanner,
        *,
        journey_ttl_s: int,
        policy: TreatmentPolicy | None = None,
        learned: LearnedExamples | None = None,
        clarify: ClarifyPolicy | None = None,
        arbiter: Arbiter | None = None,
    ) -> None:
        self.store = store
        #: arbitration, contact policy, exploration and decision log (None: score order)
        self.arbiter = arbiter
        self.planner = planner
        self.journey_ttl_s = journey_ttl_s
        self.policy = policy
        self.learned = learned
        self.clarify = clarify or ClarifyPolicy()

    async def recommend(
        self,
        req: RecommendRequest,
        state: LiveState,
        *,
        now: float | None = None,
    ) -> RecommendResponse:
        now = time.time() if now is None else now
        degraded: list[str] = []
        try:
            user = await self.store.read(req.user_id, now)
        except STORE_ERRORS as exc:
            log.warning("profile read failed for a request, answering degraded: %r", exc)
            user = UserSnapshot(user_id=req.user_id)
            degraded.append("profile unavailable: answered from catalog and context only")

        treatment = self.policy.treatment(req, user, state) if self.policy else Treatment()
        strategy = treatment.strategy
        decision = resolve_intent(
            explicit=req.intent,
            query=req.query,
            journey_intent=user.journey.intent if req.query is None else None,
            journey_confidence=user.journey.intent_confidence,
            taxonomy=state.taxonomy,
            model=state.model,
            clarify=self.clarify,
        )
        ctx = self._scoring_context(req, state, user, decision, now)
        scored, debug = self._rank(req, state, strategy, user, decision, ctx, now)
        rctx = reason_context(
            req, user.journey, decision, state.taxonomy.intents, now, self.journey_ttl_s
        )
        request_id = uuid.uuid4().hex
        picked: Picked | None = None
        if self.arbiter is not None:
            picked = await self.arbiter.choose(
                req,
                state,
                strategy=strategy,
                user=user,
                decision=decision,
                scored=scored,
                debug=debug,
                user_keys=self.store.keys(req.user_id),
                request_id=request_id,
                experiment=treatment.experiment,
                now=now,
            )
            degraded.extend(picked.degraded)
            actions = [
                picked.out(self._out(p.item.scored, req, ctx, rctx, p.explored), p, req.explain)
                for p in picked.shown
            ]
        else:
            chosen = diversify(scored, req.limit, strategy.diversity)
            actions = [self._out(s, req, ctx, rctx) for s in chosen]

        intent_tuple = (
            (decision.intent.name, decision.confidence, decision.source or "model")
            if decision.intent is not None
            else None
        )
        ops = self.planner.decision_ops(
            ts=now,
            context=req.context,
            session_id=req.session_id,
            query=req.query,
            intent=intent_tuple,
            shown=[a.id for a in actions],
            clarify_options=[i.name for i in decision.clarify_options],
        )
        if picked is not None:
            ops.extend(picked.user_ops())
        try:
            await self.store.write(
                req.user_id, ops, also=picked.record if picked is not None else None
            )
            await self._learn_from_clarify(req, user)
        except STORE_ERRORS as exc:
            log.warning("decision write failed: %r", exc)
            degraded.append("journey and impressions not recorded")

        answer = RecommendResponse(
            request_id=request_id,
            user_id=req.user_id,
            intent=self._intent_out(decision, req.context.language),
            out_of_scope=decision.out_of_scope,
            clarify=self._clarify(decision, req.context.language),
            actions=actions,
            cold_start=user.is_cold,
            degraded=bool(degraded),
            degraded_reasons=degraded,
            model_version=state.model_version,
            catalog_version=state.catalog.version,
            experiment=treatment.experiment,
            debug=debug if req.debug else None,
        )
        if self.policy is not None and treatment.experiment is not None:
            try:
                await self.policy.exposed(req, answer, treatment, now)
            except STORE_ERRORS as exc:
                log.warning("exposure not recorded: %r", exc)
                answer.degraded = True
                answer.degraded_reasons.append("experiment exposure not recorded")
        return answer

    async def _learn_from_clarify(self, req: RecommendRequest, user: UserSnapshot) -> None:
        """An explicit intent picked from our clarifying options labels the asked query."""
        journey = user.journey
        if (
            self.learned is not None
            and req.intent is not None
            and journey.clarify_query
            and req.intent in journey.clarify_options
        ):
            await self.learned.add(
                [LearnedExample(journey.clarify_query, req.intent, req.context.language)]
            )

    def _rank(
        self,
        req: RecommendRequest,
        state: LiveState,
        strategy: Strategy,
        user: UserSnapshot,
        decision: IntentDecision,
        ctx: ScoringContext,
        now: float,
    ) -> tuple[list[Scored], DebugOut]:
        allowed = decision.allowed
        prefixes = sorted({p for i in allowed for p in i.allowed_categories}) if allowed else None
        candidates = state.catalog.under(prefixes)
        profile = user.profile
        country = self._country(req, user)
        facts: dict[str, Any] = {
            "profile": {
                **profile.attributes,
                "segments": profile.segments,
                "tenure_months": profile.tenure_months,
            },
            "context": {
                "channel": req.context.channel,
                "language": req.context.language,
                "country": country,
                "device": req.context.device,
            },
        }
        result = apply_filter(
            candidates,
            FilterContext(
                channel=req.context.channel,
                language=req.context.language,
                country=country,
                now=datetime.fromtimestamp(now, UTC),
                owned=frozenset(user.owned),
                intents=allowed,
                facts=facts,
                excluded=frozenset(req.exclude),
            ),
        )
        scored = score_actions(result.kept, ctx, state.catalog, strategy.weights)
        scored.sort(key=lambda s: (-s.score, s.action.id))
        debug = DebugOut(candidates=len(candidates), removed=result.removed, kept=len(result.kept))
        return scored, debug

    @staticmethod
    def _country(req: RecommendRequest, user: UserSnapshot) -> str | None:
        attr = user.profile.attributes.get("country")
        return (
            req.context.country or user.journey.country or (attr if isinstance(attr, str) else None)
        )

    def _scoring_context(
        self,
        req: RecommendRequest,
        state: LiveState,
        user: UserSnapshot,
        decision: IntentDecision,
        now: float,
    ) -> ScoringContext:
        page_item = req.context.page.item_id if req.context.page else user.journey.page_item
        page_action = state.catalog.get(page_item) if page_item else None
        earlier = now - self.journey_ttl_s
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
            impressions=user.impressions,
            query_tokens=tokens(req.query) if req.query else frozenset(),
            query=req.query,
            page_category=page_action.category if page_action else None,
            channel=req.context.channel,
            intent_names=frozenset(i.name for i in allowed),
            intent_categories=tuple(p for i in allowed for p in i.allowed_categories),
            open_intent_categories=open_intents,
            popularity=state.popularity,
            similar=history.scores,
            similar_sources=titled_sources(history.sources, state.catalog, req.context.language),
        )

    @staticmethod
    def _out(
        s: Scored,
        req: RecommendRequest,
        ctx: ScoringContext,
        rctx: ReasonContext,
        was_explored: bool = False,
    ) -> ActionOut:
        why: list[Reason] = [explored(rctx)] if was_explored else reasons(s, ctx, rctx)
        return ActionOut(
            id=s.action.id,
            kind=s.action.kind,
            title=s.action.title_in(req.context.language),
            category=s.action.category,
            value=s.action.value,
            score=round(s.score, 4),
            reasons=[r.text for r in why],
            why=[r.out() for r in why],
            explanation=(
                {
                    name: {"term": round(t, 4), "contribution": round(s.contributions[name], 4)}
                    for name, t in s.terms.items()
                }
                if req.explain
                else None
            ),
        )

    @staticmethod
    def _intent_out(decision: IntentDecision, language: str) -> IntentOut | None:
        if decision.intent is None:
            return None
        return IntentOut(
            name=decision.intent.name,
            label=decision.intent.label_in(language),
            confidence=round(decision.confidence, 4),
            source=decision.source or "model",  # type: ignore[arg-type]
        )

    @staticmethod
    def _clarify(decision: IntentDecision, language: str) -> Clarify | None:
        if not decision.clarify_options:
            return None
        return Clarify(
            question=clarify_question(decision.clarify_options, language),
            options=[
                ClarifyOption(intent=i.name, label=option_label(i, language))
                for i in decision.clarify_options
            ],
        )
