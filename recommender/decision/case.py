"""One decision's data: what every stage after the user read works from."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from context.store import UserSnapshot
from domain.keys import UserKeys
from intent.resolve import IntentDecision
from recommender.ranking.arbitrate import answer_head
from recommender.ranking.score import ScoreTable
from recommender.ranking.terms import Scored, ScoringContext, Weights
from recommender.schemas import DebugOut, ExperimentOut, Fallback, RecommendRequest
from recommender.state import LiveState


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
class Decision:
    """One request's decision so far: the request, the user, the intent, and the
    candidates retrieved, filtered and scored (before arbitration)."""

    req: RecommendRequest
    state: LiveState
    now: float
    user: UserSnapshot
    #: the user's keys (one hash slot): the admission and the write run there
    user_keys: UserKeys
    treatment: Treatment
    intent: IntentDecision
    ctx: ScoringContext
    table: ScoreTable
    debug: DebugOut
    #: why the answer is degraded (each stage appends what it could not do)
    degraded: list[str]
    #: the answer is a safe fallback (no intent came of the query): where it comes from
    fallback: Fallback | None = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def strategy(self) -> Strategy:
        return self.treatment.strategy

    def top(self, limit: int, diversity: float) -> list[Scored]:
        """The first ``limit`` by score (ties by id): blocks per clarify option, else
        under the diversity rule."""
        table, d = self.table, self.intent
        order = np.lexsort((table.positions, -table.score))
        rows = answer_head(
            table, order, d.clarify_options, d.clarify_probabilities, limit, diversity
        )
        return [table.scored(r) for r in rows]
