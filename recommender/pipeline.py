"""One decision, end to end: read the user, resolve the intent, filter, rank, explain."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from context.events import EventPlanner
from context.store import STORE_ERRORS, UserSnapshot, UserStore
from intent.learned import LearnedExample, LearnedExamples
from intent.resolve import (
    ClarifyPolicy,
    IntentDecision,
    clarify_question,
    option_label,
    resolve_intent,
)
from intent.taxonomy import Intent
from recommender.arbiter import Arbiter, Picked
from recommender.explain import Reason, ReasonContext, explored, reason_context, reasons
from recommender.history import similar_items, titled_sources
from recommender.intent_evidence import weigh_query, with_evidence
from recommender.ranking.arbitrate import answer_head
from recommender.ranking.filter import ContextFilter, FilterContext
from recommender.ranking.score import ScoreTable, score_positions
from recommender.retrieval import Limits, RetrievalQuery, retrieve
from recommender.schemas import (
    ActionOut,
    Clarify,
    ClarifyOption,
    DebugOut,
    ExperimentOut,
    Fallback,
    IntentOut,
    RecommendRequest,
    RecommendResponse,
)
from recommender.scoring import Scored, ScoringContext, Weights
from recommender.state import LiveState
from recommender.text import tokens

log = logging.getLogger("waypoint.recommender")

DEFAULT_LIMITS = Limits()


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


@dataclass
class Ranked:
    """One request's candidates, retrieved, filtered and scored (before arbitration)."""

    now: float
    user: UserSnapshot
    treatment: Treatment
    decision: IntentDecision
    ctx: ScoringContext
    table: ScoreTable
    debug: DebugOut
    degraded: list[str]
    #: the answer is a safe fallback (no intent came of the query): where it comes from
    fallback: Fallback | None = None

    def top(self, limit: int, diversity: float) -> list[Scored]:
        """The first ``limit`` by score (ties by id): blocks per clarify option, else
        under the diversity rule."""
        table, d = self.table, self.decision
        order = np.lexsort((table.positions, -table.score))
        rows = answer_head(
            table, order, d.clarify_options, d.clarify_probabilities, limit, diversity
        )
        return [table.scored(r) for r in rows]


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
        retrieval: Limits | None = DEFAULT_LIMITS,
        neutral: tuple[str, ...] = ("agent",),
    ) -> None:
        self.store = store
        #: arbitration, contact policy, exploration and decision log (None: score order)
        self.arbiter = arbiter
        self.planner = planner
        self.journey_ttl_s = journey_ttl_s
        self.policy = policy
        self.learned = learned
        self.clarify = clarify or ClarifyPolicy()
        #: per-source candidate limits; None ranks the whole catalog (the reference scan)
        self.limits = retrieval
        #: category prefixes of the safe answer when nothing else is known
        self.neutral = neutral

    async def rank(
        self, req: RecommendRequest, state: LiveState, *, now: float | None = None
    ) -> Ranked:
        """Read the user, resolve the intent, retrieve, filter and score: everything a
        decision does before arbitration, with no writes."""
        now = time.time() if now is None else now
        degraded: list[str] = []
        try:
            user = await self.store.read(req.user_id, now)
        except STORE_ERRORS as exc:
            log.warning("profile read failed for a request, answering degraded: %r", exc)
            user = UserSnapshot(user_id=req.user_id)
            degraded.append("profile unavailable: answered from catalog and context only")

        treatment = self.policy.treatment(req, user, state) if self.policy else Treatment()
        decision = resolve_intent(
            explicit=req.intent,
            query=req.query,
            journey_intent=user.journey.intent if req.query is None else None,
            journey_confidence=user.journey.intent_confidence,
            taxonomy=state.taxonomy,
            model=state.model,
            clarify=self.clarify,
        )
        # intent from all the evidence: the classifier and the catalog (intent_evidence)
        decision, evidence = weigh_query(req.query, req.intent, decision, state)
        ctx = with_evidence(self._scoring_context(req, state, user, decision, now), evidence)
        gate, fallback = self._gate(state, user, decision)
        table, debug = self._rank(req, state, treatment.strategy, user, gate, ctx, now)
        return Ranked(now, user, treatment, decision, ctx, table, debug, degraded, fallback)

    def _gate(
        self, state: LiveState, user: UserSnapshot, decision: IntentDecision
    ) -> tuple[tuple[Intent, ...], Fallback | None]:
        """The intents whose categories an answer may come from, and whether that is a
        safe fallback. A resolved intent or the clarify options gate the answer; a query
        that resolved no intent never opens the whole catalog: it gets the customer's
        current journey and open intents, else the neutral categories."""
        if decision.allowed:
            return decision.allowed, None
        if not decision.unresolved_query:
            return (), None
        journey = user.journey.intent
        open_names = [o.intent for o in sorted(user.open_intents, key=lambda o: -o.last_seen)]
        names = dict.fromkeys(([journey] if journey else []) + open_names)
        intents = tuple(i for n in names if (i := state.taxonomy.get(n)) is not None)
        if intents:
            first: Fallback = (
                "journey" if journey and intents[0].name == journey else "open_intents"
            )
            return intents, first
        neutral = Intent.model_construct(
            name="neutral",
            label={"en": "neutral"},
            allowed_categories=list(self.neutral),
            action_kinds=[],
            clarify_prompt={},
        )
        return (neutral,), "neutral"

    async def recommend(
        self,
        req: RecommendRequest,
        state: LiveState,
        *,
        now: float | None = None,
    ) -> RecommendResponse:
        ranked = await self.rank(req, state, now=now)
        now, user, treatment, decision = ranked.now, ranked.user, ranked.treatment, ranked.decision
        ctx, table, debug, degraded = ranked.ctx, ranked.table, ranked.debug, ranked.degraded
        strategy = treatment.strategy
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
                table=table,
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
            chosen = ranked.top(req.limit, strategy.diversity)
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
        ops.extend(user.pseudonym_ops())
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
            fallback=ranked.fallback,
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
                [
                    LearnedExample(
                        journey.clarify_query,
                        req.intent,
                        req.context.language,
                        user_id=req.user_id,
                    )
                ]
            )

    def _rank(
        self,
        req: RecommendRequest,
        state: LiveState,
        strategy: Strategy,
        user: UserSnapshot,
        allowed: tuple[Intent, ...],
        ctx: ScoringContext,
        now: float,
    ) -> tuple[ScoreTable, DebugOut]:
        """Retrieve a bounded candidate set, filter it, score it (all as arrays);
        ``allowed``: the intents whose categories may answer (empty: any)."""
        catalog = state.catalog
        prefixes = tuple(sorted({p for i in allowed for p in i.allowed_categories}))
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
        rules = ContextFilter(
            catalog,
            FilterContext(
                channel=req.context.channel,
                language=req.context.language,
                country=country,
                now=now,
                owned=frozenset(user.owned),
                intents=allowed,
                facts=facts,
                excluded=frozenset(req.exclude),
            ),
        )
        sources: dict[str, int] = {}
        if self.limits is None:  # the exhaustive reference scan
            positions = np.arange(len(catalog), dtype=np.int32)
        else:
            levers = state.levers
            got = retrieve(
                catalog,
                RetrievalQuery(
                    query_tokens=ctx.query_tokens,
                    allowed_prefixes=prefixes,
                    allowed_categories=catalog.category_mask(prefixes) if prefixes else None,
                    category_affinity=user.category_affinity,
                    item_ids=[i for i, w in user.item_affinity.items() if w > 0],
                    page_item=self._page_item(req, user),
                    open_intent_prefixes=tuple(
                        p for ps in ctx.open_intent_categories.values() for p in ps
                    ),
                    boosted_ids=[i for i, f in levers.actions.items() if f > 1],
                    boosted_prefixes=tuple(c for c, f in levers.categories.items() if f > 1),
                    popular_ids=state.popular_ids,
                ),
                self.limits,
                rules.available,
                history=ctx.similar,
            )
            positions, sources = got.positions, got.sources
        filtered = rules.apply(positions)
        table = score_positions(catalog, filtered.kept, ctx, strategy.weights)
        debug = DebugOut(
            candidates=len(positions),
            removed=filtered.removed,
            kept=len(filtered.kept),
            sources=sources,
        )
        return table, debug

    @staticmethod
    def _fatigue_counts(req: RecommendRequest, user: UserSnapshot) -> dict[str, float]:
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

    @staticmethod
    def _page_item(req: RecommendRequest, user: UserSnapshot) -> str | None:
        return req.context.page.item_id if req.context.page else user.journey.page_item

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
        page_item = self._page_item(req, user)
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
            impressions=self._fatigue_counts(req, user),
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
