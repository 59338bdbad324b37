"""Arbitration: the final priority of every candidate, as a product of four terms.

::

    priority = propensity x context_weight x value x lever

* ``propensity`` -- the action's lift in the request's context bucket: how much more
  often than the average action it succeeds, shrunk toward 1 and clamped into
  ``[0.5, 2]`` (:meth:`recommender.learning.propensity_store.Propensities.multiplier`), learned
  online. It is exactly 1 for every action until some success is observed, so traffic
  without feedback never reorders answers, and its range keeps it an adjustment of
  relevance, not an override.
* ``context_weight`` -- how well the action fits this customer and moment:
  ``exp(relevance)``, where ``relevance`` is the weighted score of
  :mod:`recommender.ranking.terms` *without* its value term (affinity, query/page/channel
  context, intent, popularity, open intents, fatigue, ...). ``exp`` maps the score,
  which may be negative, to a positive weight and keeps its order.
* ``value`` -- the business value of a success, normalised: ``exp(w_value * v)`` with
  ``v = log1p(value) / log1p(max value in the catalog)`` in ``[0, 1]`` and ``w_value``
  the strategy's value weight, so the factor lies in ``[1, e^w_value]``.
* ``lever`` -- the business's multiplier (:mod:`recommender.controls.levers`).

Why these two mappings: ``context_weight x value = exp(score)`` exactly, so with flat
propensities (cold start, or no feedback yet) and neutral levers the arbitration ranks
exactly like the relevance score did before it existed, and the value term is not
counted twice. Every term is positive except a lever of 0, which removes the action
before arbitration.

With ``explain: true`` each action reports ``{"terms": {...}, "priority": p}``; ``p`` is
computed as the product of the reported terms in the order of :data:`TERMS`, so the
explained priority equals the product of its terms exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from recommender.ranking.terms import Scored

__all__ = ["TERMS", "Arbitrated", "arbitrate", "priority_of"]

TERMS = ("propensity", "context_weight", "value", "lever")
#: keeps exp() finite whatever weights an experiment sets
_MAX_EXP = 50.0


@dataclass
class Arbitrated:
    scored: Scored
    terms: dict[str, float]
    priority: float

    @property
    def id(self) -> str:
        return self.scored.action.id


def priority_of(terms: dict[str, float]) -> float:
    """The product of the terms, in :data:`TERMS` order (the one the answer reports)."""
    p = 1.0
    for name in TERMS:
        p *= terms[name]
    return p


def _exp(x: float) -> float:
    # max(-_MAX_EXP, min(_MAX_EXP, x)) spelled with comparisons (same result, NaN
    # included), which costs a third of the two builtin calls
    x = x if x < _MAX_EXP else _MAX_EXP
    return math.exp(x if x > -_MAX_EXP else -_MAX_EXP)


def arbitrate(
    scored: list[Scored],
    *,
    propensity: Callable[[str], float],
    lever: Callable[[Scored], float],
) -> list[Arbitrated]:
    """Terms and priority of every candidate, sorted by priority (ties by id)."""
    out: list[Arbitrated] = []
    append = out.append
    for s in scored:
        value_contribution = s.contributions.get("value", 0.0)
        p = propensity(s.action.id)
        weight = _exp(s.score - value_contribution)
        value = _exp(value_contribution)
        factor = lever(s)
        terms = {"propensity": p, "context_weight": weight, "value": value, "lever": factor}
        # the product in TERMS order, exactly as priority_of(terms) computes it
        append(Arbitrated(scored=s, terms=terms, priority=p * weight * value * factor))
    out.sort(key=lambda a: (-a.priority, a.scored.action.id))
    return out
