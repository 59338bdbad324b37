"""Write: everything one decision records, assembled here and sent in one round trip.

On the user's slot, as one script (:meth:`context.store.UserStore.write`): the journey
and fatigue (:meth:`context.events.EventPlanner.decision_ops`), the attribution records
of the shown actions (:meth:`recommender.learning.propensity_store.PropensityStore.attribution_ops`)
and a new pseudonym. In the same round trip (:func:`context.bulk.call`), global keys:
the propensity impression counters and the decision log entry
(:mod:`recommender.decision.log`). A clarifying option picked by the customer then labels
the query it answered.

A store error loses the write, never the answer: the answer says it is degraded.
"""

from __future__ import annotations

import logging
from dataclasses import KW_ONLY, dataclass
from typing import Any

import numpy as np

from context.bulk import Command, Script
from context.events import EventPlanner, Op
from context.store import STORE_ERRORS, UserStore
from intent.learned import LearnedExample, LearnedExamples
from recommender.decision.arbiter import Picked
from recommender.decision.case import Decision
from recommender.decision.log import LOG_CANDIDATES, DecisionLog
from recommender.learning.propensity_store import PropensityStore
from recommender.ranking.terms import TERMS as SCORE_TERMS

log = logging.getLogger("waypoint.recommender")

NOT_RECORDED = "journey and impressions not recorded"
_VALUE = SCORE_TERMS.index("value")


@dataclass(eq=False)
class DecisionWriter:
    store: UserStore
    planner: EventPlanner
    _: KW_ONLY
    propensity: PropensityStore | None = None
    decision_log: DecisionLog | None = None
    learned: LearnedExamples | None = None

    async def write(self, d: Decision, picked: Picked | None, shown: list[str]) -> None:
        """Record the decision that shows ``shown`` (ids, in display order)."""
        req = d.req
        try:
            await self.store.write(
                req.user_id, self.user_ops(d, picked, shown), also=self.global_ops(d, picked)
            )
            await self._learn_from_clarify(d)
        except STORE_ERRORS as exc:
            log.warning("decision write failed: %r", exc)
            d.degraded.append(NOT_RECORDED)

    def user_ops(self, d: Decision, picked: Picked | None, shown: list[str]) -> list[Op]:
        """The operations on the user's slot."""
        req, intent = d.req, d.intent
        resolved = intent.intent
        ops = self.planner.decision_ops(
            ts=d.now,
            context=req.context,
            session_id=req.session_id,
            query=req.query,
            intent=(
                (resolved.name, intent.confidence, intent.source or "model")
                if resolved is not None
                else None
            ),
            shown=shown,
            clarify_options=[i.name for i in intent.clarify_options],
        )
        if picked is not None and self.propensity is not None:
            ops.extend(self.propensity.attribution_ops(d.request_id, picked.bucket, shown, d.now))
        ops.extend(d.user.pseudonym_ops())
        return ops

    def global_ops(self, d: Decision, picked: Picked | None) -> list[tuple[Command, Script | None]]:
        """The commands the write sends on global keys: the impression counters and the
        decision log entry (none without arbitration)."""
        if picked is None:
            return []
        out: list[tuple[Command, Script | None]] = []
        if self.propensity is not None and picked.shown:
            out.append(self.propensity.count_impressions(picked.bucket, picked.shown_ids))
        if self.decision_log is not None:
            out.append((self.decision_log.append(log_record(d, picked)), None))
        return out

    async def _learn_from_clarify(self, d: Decision) -> None:
        """An explicit intent picked from our clarifying options labels the asked query."""
        req, journey = d.req, d.user.journey
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


def log_record(d: Decision, picked: Picked) -> dict[str, Any]:
    """The decision log entry (:mod:`recommender.decision.log` documents the fields)."""
    req, state, strategy, intent = d.req, d.state, d.strategy, d.intent
    admission = picked.admission
    weights = getattr(strategy, "weights", None)
    segments = d.user.profile.segments
    experiment = d.treatment.experiment
    return {
        "type": "decision",
        "request_id": d.request_id,
        "ts": d.now,
        "user": d.user.pseudonym,
        "context": {
            "channel": req.context.channel,
            "language": req.context.language,
            "country": req.context.country,
            "device": req.context.device,
            "intent": intent.intent.name if intent.intent is not None else None,
            "intent_confidence": round(intent.confidence, 4),
            "segment": segments[0] if segments else None,
            "bucket": picked.bucket,
            "has_query": req.query is not None,
        },
        "limit": req.limit,
        "experiment": experiment.model_dump() if experiment is not None else None,
        "strategy": {
            "exploration_rate": picked.rate,
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
        "candidates": logged_candidates(d, picked),
        "shown": [
            {
                "id": s.item.id,
                "position": s.position,
                "probability": s.probability,
                "explored": s.explored,
            }
            for s in picked.shown
        ],
    }


def logged_candidates(d: Decision, picked: Picked) -> list[dict[str, Any]]:
    """The top :data:`LOG_CANDIDATES` by priority plus every shown one, in rank order,
    read from the arrays."""
    table, arb, ranked, order = d.table, picked.arb, picked.ranked, picked.order
    admission = picked.admission
    rank_of = np.empty(len(table), np.int64)
    rank_of[ranked] = np.arange(len(ranked))
    logged = set(range(min(LOG_CANDIDATES, len(ranked))))
    logged.update(int(rank_of[order[i]]) for i in admission.shown)
    refused = {order[i] for i in admission.refused}
    ranks = sorted(logged)
    rows = ranked[ranks]
    j = picked.at[rows]
    # np.round(x, 6) spelled out (the same numbers, without its dispatch overhead)
    terms = (np.rint(table.terms[rows] * 1e6) / 1e6).tolist()
    score = table.score[rows].tolist()
    value_contribution = table.contributions[rows, _VALUE].tolist()
    propensity = arb.propensity[j].tolist()
    lever = arb.lever[j].tolist()
    priority = arb.priority[j].tolist()
    catalog_items = table.catalog.items
    items = [catalog_items[p] for p in table.positions[rows].tolist()]
    # the posterior success rates (propensity is a lift)
    rates = d.state.propensity.means(picked.bucket, [item.id for item in items])
    refused_flags = [row in refused for row in rows.tolist()]
    # one pass over the columns (no per-column indexing per candidate)
    return [
        {
            "id": item.id,
            "kind": item.kind,
            "category": item.category,
            "value": item.value,
            "rank": rank,
            "terms": dict(zip(SCORE_TERMS, t)),  # noqa: B905 (a row per term, by shape)
            "score": sc,
            "value_contribution": vc,
            "propensity": pr,
            "lever": lv,
            "priority": pi,
            "explore": item.explore,
            "refused": ref,
            "rate": rate,
        }
        for item, rank, t, sc, vc, pr, lv, pi, ref, rate in zip(
            items,
            ranks,
            terms,
            score,
            value_contribution,
            propensity,
            lever,
            priority,
            refused_flags,
            rates,
            strict=True,
        )
    ]
