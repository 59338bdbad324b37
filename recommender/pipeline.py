"""One decision, top to bottom: read the user, resolve the intent, retrieve, filter,
score (:meth:`Recommender.rank`), then arbitrate and admit (:mod:`recommender.decision.arbiter`),
write (:mod:`recommender.decision.write`) and answer (:mod:`recommender.decision.answer`).
The per-decision data travels in one :class:`~recommender.decision.case.Decision`."""

from __future__ import annotations

import logging
import time
from dataclasses import KW_ONLY, dataclass, field
from typing import Protocol

from context.events import EventPlanner
from context.store import STORE_ERRORS, UserSnapshot, UserStore
from intent.learned import LearnedExamples
from intent.resolve import ClarifyPolicy, IntentDecision, resolve_intent
from intent.taxonomy import Intent
from recommender.decision import answer
from recommender.decision.arbiter import Arbiter
from recommender.decision.case import Decision, Strategy, Treatment
from recommender.decision.rank import rank_candidates, scoring_context
from recommender.decision.write import DecisionWriter
from recommender.intent_evidence import with_evidence
from recommender.query_memo import QueryMemo, weighs
from recommender.retrieval import Limits
from recommender.retrieval.evidence import NO_EVIDENCE
from recommender.schemas import Fallback, RecommendRequest, RecommendResponse
from recommender.state import LiveState

__all__ = ["Decision", "Recommender", "Strategy", "Treatment", "TreatmentPolicy"]

log = logging.getLogger("waypoint.recommender")

DEFAULT_LIMITS = Limits()
PROFILE_DOWN = "profile unavailable: answered from catalog and context only"


class TreatmentPolicy(Protocol):
    """Chooses the strategy per request (A/B experiments) and records exposures."""

    def treatment(
        self, req: RecommendRequest, user: UserSnapshot, state: LiveState
    ) -> Treatment: ...

    async def exposed(
        self, req: RecommendRequest, answer: RecommendResponse, treatment: Treatment, now: float
    ) -> None: ...


@dataclass(eq=False)
class Recommender:
    store: UserStore
    planner: EventPlanner
    _: KW_ONLY
    journey_ttl_s: int
    policy: TreatmentPolicy | None = None
    learned: LearnedExamples | None = None
    clarify: ClarifyPolicy = field(default_factory=ClarifyPolicy)
    #: arbitration, contact policy and exploration (None: score order)
    arbiter: Arbiter | None = None
    #: per-source candidate limits; None ranks the whole catalog (the reference scan)
    retrieval: Limits | None = DEFAULT_LIMITS
    #: category prefixes of the safe answer when nothing else is known
    neutral: tuple[str, ...] = ("agent",)
    #: typed queries' intent decisions and catalog evidence, per live model and catalog
    queries: QueryMemo = field(default_factory=QueryMemo)

    def __post_init__(self) -> None:
        arbiter = self.arbiter
        #: the decision's write: the arbiter's propensity counters and decision log
        self.writer = DecisionWriter(
            self.store,
            self.planner,
            propensity=arbiter.propensity if arbiter is not None else None,
            decision_log=arbiter.decision_log if arbiter is not None else None,
            learned=self.learned,
        )

    async def rank(
        self, req: RecommendRequest, state: LiveState, *, now: float | None = None
    ) -> Decision:
        """Read the user, resolve the intent, retrieve, filter and score: everything a
        decision does before arbitration, with no writes."""
        now = time.time() if now is None else now
        degraded: list[str] = []
        try:
            user = await self.store.read(req.user_id, now)
        except STORE_ERRORS as exc:
            log.warning("profile read failed for a request, answering degraded: %r", exc)
            user = UserSnapshot(user_id=req.user_id)
            degraded.append(PROFILE_DOWN)

        treatment = self.policy.treatment(req, user, state) if self.policy else Treatment()
        if req.query is not None and weighs(req.query, req.intent, state):
            # a typed query: intent from all the evidence, the classifier and the catalog
            # (intent_evidence), remembered per query
            decision, evidence = self.queries.weigh(req.query, state)
        else:
            decision = resolve_intent(
                explicit=req.intent,
                query=req.query,
                journey_intent=user.journey.intent if req.query is None else None,
                journey_confidence=user.journey.intent_confidence,
                taxonomy=state.taxonomy,
                model=state.model,
                clarify=self.clarify,
            )
            evidence = NO_EVIDENCE
        ctx = with_evidence(
            scoring_context(req, state, user, decision, now, self.journey_ttl_s),
            evidence,
            state.catalog,
            self.queries.semantic,
        )
        gate, fallback = self._gate(state, user, decision)
        weights = treatment.strategy.weights
        table, debug = rank_candidates(req, state, user, gate, ctx, weights, now, self.retrieval)
        return Decision(
            req=req,
            state=state,
            now=now,
            user=user,
            user_keys=self.store.keys(req.user_id),
            treatment=treatment,
            intent=decision,
            ctx=ctx,
            table=table,
            debug=debug,
            degraded=degraded,
            fallback=fallback,
        )

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
        """One decision, top to bottom: retrieve, filter and score (:meth:`rank`),
        arbitrate and admit, write, answer."""
        d = await self.rank(req, state, now=now)
        picked = await self.arbiter.choose(d) if self.arbiter is not None else None
        top = d.top(req.limit, d.strategy.diversity) if picked is None else []
        shown = picked.shown_ids if picked is not None else [s.action.id for s in top]
        await self.writer.write(d, picked, shown)
        out = answer.response(d, answer.actions(d, picked, top, self.journey_ttl_s))
        await self._expose(d, out)
        return out

    async def _expose(self, d: Decision, out: RecommendResponse) -> None:
        """Record that the user saw their experiment's variant (never fails the answer)."""
        if self.policy is None or d.treatment.experiment is None:
            return
        try:
            await self.policy.exposed(d.req, out, d.treatment, d.now)
        except STORE_ERRORS as exc:
            log.warning("exposure not recorded: %r", exc)
            out.degraded = True
            out.degraded_reasons.append("experiment exposure not recorded")
