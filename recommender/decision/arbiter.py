"""Arbitrate and admit: from scored candidates to the shown list.

The pipeline (:mod:`recommender.pipeline`) calls :meth:`Arbiter.choose` with the
:class:`~recommender.decision.case.Decision` after scoring:

1. **levers** -- a lever of 0 removes the action (``debug.removed["lever"]``);
2. **arbitration** -- priority = propensity x context weight x value x lever
   (:mod:`recommender.ranking.priority`), sorted by priority;
3. **order** -- the leaf-category diversity rule picks the first ``limit`` by priority,
   the other candidates follow in priority order (the backfill order);
4. **contact policy + exploration** -- one atomic script on the user's slot admits the
   candidates in that order until the answer is full, and, when this answer explores,
   replaces the last slot with a uniform pick among the eligible actions
   (:mod:`recommender.decision.admit`, :mod:`recommender.controls.policy`,
   :mod:`recommender.decision.explore`).

The result (:class:`Picked`) is data only; :mod:`recommender.decision.write` records it
(attribution, impression counters, decision log) and :mod:`recommender.decision.answer`
renders it.
"""

from __future__ import annotations

import logging
import math
import random
from dataclasses import KW_ONLY, dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from recommender.controls.levers import LeverStore
from recommender.controls.policy import MAX_CANDIDATES, Admission, ContactEnforcer, PolicyStore
from recommender.decision.admit import LazyCandidates, admit
from recommender.decision.case import Decision
from recommender.decision.explore import explore_order, shown_probabilities
from recommender.decision.log import DecisionLog
from recommender.learning.propensity_store import PropensityStore, context_bucket
from recommender.ranking.arbitrate import (
    Arbitration,
    answer_head,
    arbitrate_rows,
    backfill_rows,
    lever_factors,
)
from recommender.ranking.priority import Arbitrated
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
    """The arbitration's outcome: the shown actions, and the arrays the decision log
    reads its candidates from."""

    shown: list[Shown]
    bucket: str
    #: the exploration rate this answer ran under
    rate: float
    admission: Admission
    arb: Arbitration
    #: table row -> index into ``arb`` (-1: removed by a lever)
    at: NDArray[np.int64]
    #: table rows by priority (ties by id)
    ranked: NDArray[np.int64]
    #: table rows in the order offered to the contact policy
    order: list[int]

    @property
    def shown_ids(self) -> list[str]:
        return [s.item.id for s in self.shown]


def _clamp_rate(rate: float) -> float:
    return min(max(float(rate), 0.0), 1.0)


class Arbiter:
    """Arbitration, contact policy and exploration; ``propensity`` and ``decision_log``
    are what the decision's write records the outcome in."""

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

    async def choose(self, d: Decision) -> Picked:
        req, table, debug = d.req, d.table, d.debug
        intent = d.intent.intent.name if d.intent.intent is not None else None
        bucket = context_bucket(intent, req.context.channel, d.user.profile.segments)
        catalog = table.catalog
        lever = lever_factors(d.state.levers, catalog, table.positions)
        rows = np.flatnonzero(lever > 0)
        off = len(table) - len(rows)
        debug.removed["lever"] = debug.removed.get("lever", 0) + off
        debug.kept -= off

        props = d.state.propensity
        positions = table.positions[rows]
        propensity = props.multipliers_at(bucket, catalog.ids, catalog.position, positions)
        arb = arbitrate_rows(table, rows, propensity, lever[rows])
        # by priority, ties by id (positions are in id order)
        ranked = rows[np.lexsort((positions, -arb.priority))]
        at = np.full(len(table), -1, np.int64)  # table row -> index into ``arb``
        at[rows] = np.arange(len(rows))
        intents = d.intent
        head = answer_head(
            table,
            ranked,
            intents.clarify_options,
            intents.clarify_probabilities,
            req.limit,
            d.strategy.diversity,
        )
        # the admission script reads at most MAX_CANDIDATES of them
        after = backfill_rows(
            table, ranked, intents.clarify_options, intents.clarify_probabilities, req.limit
        )[: MAX_CANDIDATES + len(head)]
        free = np.ones(len(table), np.bool_)  # the rows not in the head (as arrays: the
        free[head] = False  # backfill is a few hundred rows on a large catalog)
        rest = after[free[after]][: max(0, MAX_CANDIDATES - len(head))]
        order = head + rest.tolist()
        candidates = LazyCandidates(
            catalog.items, [*table.positions[head].tolist(), *table.positions[rest].tolist()]
        )

        rate = _clamp_rate(getattr(d.strategy, "exploration_rate", 0.0))
        pool, go = explore_order(candidates, rate, self.rng)
        admission = await admit(self.enforcer, d, candidates, pool, go)
        for name, n in admission.denied.items():
            key = "contact_policy" if name == "unenforced" else f"contact_{name}"
            debug.removed[key] = debug.removed.get(key, 0) + n
            debug.kept -= n

        probs = shown_probabilities(admission, rate if admission.enforced else 0.0)
        shown: list[Shown] = []
        for pos, (i, p) in enumerate(zip(admission.shown, probs, strict=True)):
            row = order[i]
            j = int(at[row])
            item = Arbitrated(
                scored=table.scored(row), terms=arb.terms(j), priority=float(arb.priority[j])
            )
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
        return Picked(shown, bucket, rate, admission, arb, at, ranked, order)


@dataclass(eq=False)
class ArbitrationSource:
    """Reloads levers and the contact policy on version change, and the propensity
    snapshot every ``propensity.every_s`` seconds (the runtime calls :meth:`refresh`)."""

    _: KW_ONLY
    levers: LeverStore
    policies: PolicyStore
    propensity: PropensityStore | None = None
    _propensity_at: float = field(default=-math.inf, init=False)

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
