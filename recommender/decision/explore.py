"""Safe exploration: sometimes try an action that would not have made the list.

With probability ``Strategy.exploration_rate`` (set per experiment variant) the last
slot of an answer is given to an action drawn uniformly from the **eligible pool**:
actions that passed every filter (intent, channel, language, region, validity, owned,
excluded, eligibility rules, a lever of 0) **and** the contact policy, whose catalog
entry does not say ``explore: false`` (regulated offers), and that are not already in
the answer. The draw happens inside the contact policy's atomic admission script
(:mod:`recommender.controls.policy`): Python hands it a uniformly random permutation of the
candidates that may be explored, and the script takes the first one that passes the
policy -- which is a uniform pick among the eligible ones.

The answer says so: the action has ``explored: true``, its ``probability`` and a reason
that tells the customer it is being tried. Every shown action's probability under the
policy is logged (:mod:`recommender.decision.log`), for off-policy evaluation:

* slots before the last: 1 (the ranking is deterministic given the context);
* the last slot, not explored: ``1 - rate`` when the pool was not empty, else 1;
* the last slot, explored: ``rate / eligible``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from recommender.controls.policy import Admission, Candidate

__all__ = ["EXPLORE_REASON", "explore_order", "shown_probabilities"]

EXPLORE_REASON = "we are trying this suggestion to learn what you like"


def explore_order(
    candidates: Sequence[Candidate], rate: float, rng: random.Random
) -> tuple[list[int] | None, bool]:
    """``(pool in random order, explore this time?)``; ``(None, False)`` when rate is 0."""
    if rate <= 0:
        return None, False
    pool = [i for i, c in enumerate(candidates) if c.explorable and c.action.explore]
    rng.shuffle(pool)
    return pool, rng.random() < rate


def shown_probabilities(admission: Admission, rate: float) -> list[float]:
    """Probability of each shown action (in display order) under the policy."""
    n = len(admission.shown)
    probs = [1.0] * n
    if n == 0 or rate <= 0 or not admission.enforced:
        return probs
    if admission.explored is not None:
        probs[-1] = rate / max(admission.eligible, 1)
    elif admission.eligible > 0:
        probs[-1] = 1.0 - rate
    return probs
