"""From scored candidates to the shown list: arbitration, contact policy, exploration.

The pipeline (:mod:`recommender.pipeline`) calls :meth:`Arbiter.choose` after scoring,
and adds :meth:`Picked.user_ops` and :meth:`Picked.record` to the decision's write:

1. **levers** -- a lever of 0 removes the action (``debug.removed["lever"]``);
2. **arbitration** -- priority = propensity x context weight x value x lever
   (:mod:`recommender.arbitration`), sorted by priority;
3. **order** -- the leaf-category diversity rule picks the first ``limit`` by priority,
   the other candidates follow in priority order (the backfill order);
4. **contact policy + exploration** -- one atomic script on the user's slot admits the
   candidates in that order until the answer is full, and, when this answer explores,
   replaces the last slot with a uniform pick among the eligible actions
   (:mod:`recommender.policy`, :mod:`recommender.explore`);
5. **record** -- the attribution records join the decision's write on the user's slot;
   the propensity impression counters and the decision log entry (global keys) are
   queued on the same pipeline.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, overload

import numpy as np
from numpy.typing import NDArray

from context.events import Op
from context.store import STORE_ERRORS, UserSnapshot
from domain.actions import CatalogItem
from domain.keys import UserKeys
from intent.resolve import IntentDecision
from recommender.arbitration import TERMS, Arbitrated
from recommender.decision_log import LOG_CANDIDATES, DecisionLog
from recommender.explore import explore_order, shown_probabilities
from recommender.levers import LeverStore
from recommender.policy import (
    MAX_CANDIDATES,
    Admission,
    Candidate,
    ContactEnforcer,
    PolicyStore,
    unenforced,
)
from recommender.propensity_store import PropensityStore, context_bucket
from recommender.ranking.arbitrate import (
    Arbitration,
    answer_head,
    arbitrate_rows,
    lever_factors,
)
from recommender.ranking.score import ScoreTable
from recommender.schemas import (
    ActionOut,
    ArbitrationOut,
    DebugOut,
    ExperimentOut,
    RecommendRequest,
)
from recommender.scoring import TERMS as SCORE_TERMS
from recommender.state import LiveState

log = logging.getLogger("waypoint.arbiter")

__all__ = ["Arbiter", "ArbitrationSource", "Picked", "Shown"]

#: pseudo-count for ``ActionOut.confidence = n / (n + CONFIDENCE_K)``
CONFIDENCE_K = 20.0


@dataclass
class Shown:
    item: Arbitrated
    position: int
    probability: float
    explored: bool
    confidence: float


@dataclass
class Picked:
    """The chosen actions and what the decision's write must record about them."""

    shown: list[Shown]
    bucket: str
    request_id: str
    now: float
    log_record: dict[str, Any] | None = None
    degraded: list[str] = field(default_factory=list)
    _arbiter: Arbiter | None = None

    def user_ops(self) -> list[Op]:
        """The attribution records, for the decision's write on the user's slot."""
        arb = self._arbiter
        if arb is None or arb.propensity is None:
            return []
        return arb.propensity.attribution_ops(
            self.request_id, self.bucket, [s.item.id for s in self.shown], self.now
        )

    def record(self, pipe: Any) -> None:
        """Queue the impression counters and the decision log entry (global keys) on
        ``pipe``, the decision's write pipeline."""
        arb = self._arbiter
        if arb is None:
            return
        if arb.propensity is not None and self.shown:
            arb.propensity.count_impressions(pipe, self.bucket, [s.item.id for s in self.shown])
        if arb.decision_log is not None and self.log_record is not None:
            arb.decision_log.append(pipe, self.log_record)

    def out(self, base: ActionOut, shown: Shown, explain: bool) -> ActionOut:
        """``base`` (the pipeline's own rendering) with the arbitration fields added."""
        item = shown.item
        update: dict[str, Any] = {
            "priority": item.priority,
            "explored": shown.explored,
            "probability": shown.probability,
            "confidence": shown.confidence,
        }
        if explain:
            update["arbitration"] = ArbitrationOut(
                terms={name: item.terms[name] for name in TERMS}, priority=item.priority
            )
        return base.model_copy(update=update)


def _clamp_rate(rate: float) -> float:
    return min(max(float(rate), 0.0), 1.0)


class Arbiter:
    def __init__(
        self,
        *,
        enforcer: ContactEnforcer | None = None,
        propensity: PropensityStore | None = None,
        decision_log: DecisionLog | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.enforcer = enforcer
        self.propensity = propensity
        self.decision_log = decision_log
        self.rng = rng or random.Random()

    async def choose(
        self,
        req: RecommendRequest,
        state: LiveState,
        *,
        strategy: Any,
        user: UserSnapshot,
        decision: IntentDecision,
        table: ScoreTable,
        debug: DebugOut,
        user_keys: UserKeys,
        request_id: str,
        experiment: ExperimentOut | None,
        now: float,
    ) -> Picked:
        intent = decision.intent.name if decision.intent is not None else None
        bucket = context_bucket(intent, req.context.channel, user.profile.segments)
        catalog = table.catalog
        lever = lever_factors(state.levers, catalog, table.positions)
        rows = np.flatnonzero(lever > 0)
        off = len(table) - len(rows)
        debug.removed["lever"] = debug.removed.get("lever", 0) + off
        debug.kept -= off

        props = state.propensity
        ids = catalog.ids
        positions = table.positions[rows]
        propensity = props.multipliers(bucket, [ids[p] for p in positions.tolist()])
        arb = arbitrate_rows(table, rows, propensity, lever[rows])
        # by priority, ties by id (positions are in id order)
        ranked = rows[np.lexsort((positions, -arb.priority))]
        at = np.full(len(table), -1, np.int64)  # table row -> index into ``arb``
        at[rows] = np.arange(len(rows))
        head = answer_head(
            table,
            ranked,
            decision.clarify_options,
            decision.clarify_probabilities,
            req.limit,
            strategy.diversity,
        )
        rest = ranked[~np.isin(ranked, head)]
        # the admission script reads at most MAX_CANDIDATES of them
        order = head + rest[: max(0, MAX_CANDIDATES - len(head))].tolist()
        candidates = LazyCandidates(catalog.items, table.positions[order].tolist())

        def arbitrated(row: int) -> Arbitrated:
            j = int(at[row])
            return Arbitrated(
                scored=table.scored(row), terms=arb.terms(j), priority=float(arb.priority[j])
            )

        rate = _clamp_rate(getattr(strategy, "exploration_rate", 0.0))
        pool, go = explore_order(candidates, rate, self.rng)
        degraded: list[str] = []
        admission = await self._admit(
            req, state, user_keys, request_id, candidates, pool, go, now, degraded
        )
        for name, n in admission.denied.items():
            key = "contact_policy" if name == "unenforced" else f"contact_{name}"
            debug.removed[key] = debug.removed.get(key, 0) + n
            debug.kept -= n

        probs = shown_probabilities(admission, rate if admission.enforced else 0.0)
        shown: list[Shown] = []
        for pos, (i, p) in enumerate(zip(admission.shown, probs, strict=True)):
            row = order[i]
            item = arbitrated(row)
            n_cell = props.impressions(bucket, item.id)
            shown.append(
                Shown(
                    item=item,
                    position=pos,
                    probability=p,
                    explored=i == admission.explored,
                    confidence=round(n_cell / (n_cell + CONFIDENCE_K), 4),
                )
            )
        picked = Picked(
            shown=shown,
            bucket=bucket,
            request_id=request_id,
            now=now,
            degraded=degraded,
            _arbiter=self,
        )
        if self.decision_log is not None:
            rank_of = np.empty(len(table), np.int64)
            rank_of[ranked] = np.arange(len(ranked))
            logged = set(range(min(LOG_CANDIDATES, len(ranked))))
            logged.update(int(rank_of[order[i]]) for i in admission.shown)
            refused = {order[i] for i in admission.refused}
            ranks = sorted(logged)
            logged_entries = logged_candidates(table, arb, at, ranked[ranks], ranks, refused)
            for entry in logged_entries:  # the posterior success rate (propensity is a lift)
                entry["rate"] = props.mean(bucket, entry["id"])
            picked.log_record = self._log_record(
                req, state, strategy, user, decision, bucket, rate, logged_entries, admission,
                shown, request_id, experiment, now,
            )  # fmt: skip
        return picked

    async def _admit(
        self,
        req: RecommendRequest,
        state: LiveState,
        user_keys: UserKeys,
        request_id: str,
        candidates: Sequence[Candidate],
        pool: list[int] | None,
        go: bool,
        now: float,
        degraded: list[str],
    ) -> Admission:
        if self.enforcer is None:
            return Admission(shown=list(range(min(req.limit, len(candidates)))))
        try:
            return await self.enforcer.admit(
                user_keys,
                policy=state.contact_policy,
                channel=req.context.channel,
                session_id=req.session_id,
                request_id=request_id,
                candidates=candidates,
                want=req.limit,
                explore_order=pool,
                explore=go,
                now=now,
                catalog_horizon_s=self.enforcer.catalog_horizon(state.catalog),
            )
        except STORE_ERRORS as exc:
            log.warning("contact policy not enforced (store error): %r", exc)
            degraded.append(
                "contact policy unavailable: actions under a cap or suppression rule withheld"
            )
            return unenforced(state.contact_policy, candidates, req.limit)

    def _log_record(
        self,
        req: RecommendRequest,
        state: LiveState,
        strategy: Any,
        user: UserSnapshot,
        decision: IntentDecision,
        bucket: str,
        rate: float,
        candidates: list[dict[str, Any]],
        admission: Admission,
        shown: list[Shown],
        request_id: str,
        experiment: ExperimentOut | None,
        now: float,
    ) -> dict[str, Any]:
        """``candidates``: the top :data:`LOG_CANDIDATES` by priority plus every shown one,
        in rank order (:func:`logged_candidates`)."""
        weights = getattr(strategy, "weights", None)
        segments = user.profile.segments
        return {
            "type": "decision",
            "request_id": request_id,
            "ts": now,
            "user": user.pseudonym,
            "context": {
                "channel": req.context.channel,
                "language": req.context.language,
                "country": req.context.country,
                "device": req.context.device,
                "intent": decision.intent.name if decision.intent is not None else None,
                "intent_confidence": round(decision.confidence, 4),
                "segment": segments[0] if segments else None,
                "bucket": bucket,
                "has_query": req.query is not None,
            },
            "limit": req.limit,
            "experiment": experiment.model_dump() if experiment is not None else None,
            "strategy": {
                "exploration_rate": rate,
                "diversity": getattr(strategy, "diversity", None),
                "weights": dict(weights.__dict__) if weights is not None else None,
            },
            "versions": {
                "intent_model": state.model_version,
                "catalog": state.catalog.version,
                "levers": state.levers.version,
                "contact_policy": state.contact_policy.version,
                "propensity": state.propensity.version,
            },
            "policy_enforced": admission.enforced,
            "eligible": admission.eligible,
            "candidates": candidates,
            "shown": [
                {
                    "id": s.item.id,
                    "position": s.position,
                    "probability": s.probability,
                    "explored": s.explored,
                }
                for s in shown
            ],
        }


def logged_candidates(
    table: ScoreTable,
    arb: Arbitration,
    at: NDArray[np.int64],
    rows: NDArray[np.integer[Any]],
    ranks: list[int],
    refused: set[int],
) -> list[dict[str, Any]]:
    """The decision log's candidate entries of ``rows`` (table rows, ranked ``ranks`` by
    priority), read from the arrays."""
    catalog = table.catalog
    positions = table.positions[rows]
    j = at[rows]
    terms = np.round(table.terms[rows], 6).tolist()
    score = table.score[rows].tolist()
    value_contribution = table.contributions[rows, SCORE_TERMS.index("value")].tolist()
    propensity = arb.propensity[j].tolist()
    lever = arb.lever[j].tolist()
    priority = arb.priority[j].tolist()
    out = []
    for k, p in enumerate(positions.tolist()):
        item = catalog.items[p]
        out.append(
            {
                "id": item.id,
                "kind": item.kind,
                "category": item.category,
                "value": item.value,
                "rank": ranks[k],
                "terms": dict(zip(SCORE_TERMS, terms[k], strict=True)),
                "score": score[k],
                "value_contribution": value_contribution[k],
                "propensity": propensity[k],
                "lever": lever[k],
                "priority": priority[k],
                "explore": item.explore,
                "refused": int(rows[k]) in refused,
            }
        )
    return out


class LazyCandidates(Sequence[Candidate]):
    """The candidates in the order offered to the contact policy, made into
    :class:`Candidate` objects only when read (the policy usually reads the head alone)."""

    def __init__(self, items: Sequence[CatalogItem], positions: list[int]) -> None:
        self.items = items
        self.positions = positions

    def __len__(self) -> int:
        return len(self.positions)

    @overload
    def __getitem__(self, i: int) -> Candidate: ...
    @overload
    def __getitem__(self, i: slice) -> list[Candidate]: ...
    def __getitem__(self, i: int | slice) -> Candidate | list[Candidate]:
        if isinstance(i, slice):
            return [Candidate(self.items[p]) for p in self.positions[i]]
        return Candidate(self.items[self.positions[i]])


class ArbitrationSource:
    """Reloads levers and the contact policy on version change, and the propensity
    snapshot every ``propensity.every_s`` seconds (the runtime calls :meth:`refresh`)."""

    def __init__(
        self,
        *,
        levers: LeverStore,
        policies: PolicyStore,
        propensity: PropensityStore | None = None,
    ) -> None:
        self.levers = levers
        self.policies = policies
        self.propensity = propensity
        self._propensity_at = -math.inf

    async def refresh(self, state: LiveState, now: float, *, force: bool = False) -> LiveState:
        levers_version = await self.levers.version()
        if levers_version != state.levers.version:
            state = replace(state, levers=await self.levers.get())
            log.info("levers version %d loaded", levers_version)
        policy_version = await self.policies.version()
        if policy_version != state.contact_policy.version:
            state = replace(state, contact_policy=await self.policies.get())
            log.info("contact policy version %d loaded", policy_version)
        p = self.propensity
        if p is not None and (force or now - self._propensity_at >= p.every_s):
            state = replace(state, propensity=await p.load())
            self._propensity_at = now
        return state
