"""``waypoint evaluate policy``: what a candidate variant would score on Waypoint's own log.

Input: a JSON Lines export of the decision log (``waypoint decisions export``) and a
candidate *variant*: other levers, weights, diversity or exploration rate, e.g.::

    {"levers": {"kinds": {"offer": 2.0}}, "exploration_rate": 0.1,
     "weights": {"popularity": 0.6}}

For every logged decision the candidate re-ranks the logged candidates (those the
contact policy did not refuse) exactly as the service would -- relevance from the
logged score terms under the candidate's weights, the logged propensity, the candidate's
levers, the leaf-diversity rule -- and gets, per position ``j``, its probability
``pi(a | x, j)`` of showing each action there: 1 for the deterministic slots, and on the
last slot ``1 - rate`` for the ranked action and ``rate / |pool|`` for each action of
the exploration pool (logged candidates with ``explore`` not already in the list).

The logged answer showed action ``a_j`` at position ``j`` with probability ``p_j``
(logged); the reward ``r_j`` is 1 when a click/accept/purchase was attributed to that
impression (``outcome`` records). With ``w_j = pi(a_j | x, j) / p_j`` the value, in
successes per decision, is estimated per position and summed over positions (an
item-position model: an action's reward depends on the context and its position, not on
the rest of the list):

* IPW and SNIPW (:func:`evaluation.estimators.ipw` / :func:`~evaluation.estimators.snipw`)
  per position;
* DR (:func:`evaluation.estimators.dr_terms`) per position, with the logged propensity
  posterior mean of each candidate as the reward model ``q(x, a)``;
* 95% percentile bootstrap intervals over decisions.

Caveats, printed with the result: only actions the logging policy could show have
support -- a candidate that moves an action into a slot the log never gave it any
probability for cannot be credited there (``support`` reports the share of the
candidate's probability mass, over slots, that falls on actions the logging policy could
show in that slot; IPW is only trustworthy when it is close to 1). The log keeps the top
50 candidates per decision, so the candidate's exploration pool is truncated to them. A different
propensity model version is not re-scored: the logged propensities are reused.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from domain.actions import Action
from evaluation.estimators import bootstrap_ci, dr_terms, ipw, snipw
from recommender.levers import Levers
from recommender.ranking.arbitrate import diversify_rows
from recommender.scoring import Weights

__all__ = ["Variant", "evaluate_log", "read_log"]


@dataclass(frozen=True)
class Variant:
    levers: Levers | None = None
    weights: Mapping[str, float] | None = None
    diversity: float | None = None
    exploration_rate: float | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Variant:
        unknown = set(raw) - {"levers", "weights", "diversity", "exploration_rate"}
        if unknown:
            raise ValueError(f"unknown variant fields: {', '.join(sorted(unknown))}")
        rate = raw.get("exploration_rate")
        if rate is not None and not 0 <= float(rate) <= 1:
            raise ValueError("exploration_rate must lie in [0, 1]")
        return cls(
            levers=Levers.model_validate(raw["levers"]) if "levers" in raw else None,
            weights=dict(raw["weights"]) if "weights" in raw else None,
            diversity=float(raw["diversity"]) if "diversity" in raw else None,
            exploration_rate=float(rate) if rate is not None else None,
        )


def read_log(lines: Iterable[str]) -> tuple[list[dict[str, Any]], set[tuple[str, str]]]:
    """Decisions, and the ``(request_id, action)`` pairs that earned a success."""
    decisions: list[dict[str, Any]] = []
    successes: set[tuple[str, str]] = set()
    for line in lines:
        if not line.strip():
            continue
        record = json.loads(line)
        if record.get("type") == "decision":
            decisions.append(record)
        elif record.get("type") == "outcome" and record.get("request_id"):
            successes.add((str(record["request_id"]), str(record["action"])))
    return decisions, successes


def _policy(decision: Mapping[str, Any], variant: Variant) -> list[dict[str, float]]:
    """``pi(a | x, j)`` per position ``j`` of the logged answer under the variant."""
    logged = decision["strategy"]
    weights = Weights().replace(
        {k: v for k, v in (logged.get("weights") or {}).items() if k in Weights().__dict__}
    )
    if variant.weights:
        weights = weights.replace(variant.weights)
    diversity = variant.diversity if variant.diversity is not None else logged["diversity"]
    rate = (
        variant.exploration_rate
        if variant.exploration_rate is not None
        else logged["exploration_rate"]
    )
    items: list[tuple[float, str, str, bool]] = []
    for c in decision["candidates"]:
        if c.get("refused"):
            continue
        action = Action.model_construct(
            id=c["id"], kind=c["kind"], category=c["category"], value=c["value"], title={}
        )
        score = sum(getattr(weights, k, 0.0) * t for k, t in c["terms"].items())
        lever = variant.levers.of(action) if variant.levers is not None else c["lever"]
        if lever <= 0:
            continue
        priority = c["propensity"] * math.exp(max(-50.0, min(50.0, score))) * lever
        items.append((priority, c["id"], c["category"], bool(c.get("explore", True))))
    items.sort(key=lambda t: (-t[0], t[1]))
    limit = len(decision["shown"])
    leaves: dict[str, int] = {}
    leaf = np.array([leaves.setdefault(t[2], len(leaves)) for t in items], dtype=np.int32)
    top = [items[row][1] for row in diversify_rows(np.arange(len(items)), leaf, limit, diversity)]
    probs: list[dict[str, float]] = [{a: 1.0} for a in top]
    if top and rate > 0:
        pool = [i for _, i, _, explore in items if explore and i not in set(top)]
        if pool:
            last = probs[-1]
            last[top[-1]] = 1.0 - rate
            for a in pool:
                last[a] = last.get(a, 0.0) + rate / len(pool)
    return probs


def evaluate_log(
    decisions: Sequence[Mapping[str, Any]],
    successes: set[tuple[str, str]],
    variant: Variant,
    *,
    n_boot: int = 500,
    seed: int = 0,
) -> dict[str, Any]:
    if not decisions:
        raise ValueError("the log holds no decisions")
    n = len(decisions)
    width = max(len(d["shown"]) for d in decisions)
    r = np.zeros((n, width))
    p = np.ones((n, width))
    pi = np.zeros((n, width))
    q_logged = np.zeros((n, width))
    direct = np.zeros((n, width))
    support = []
    vocab: dict[str, int] = {}
    for d in decisions:
        for c in d["candidates"]:
            vocab.setdefault(c["id"], len(vocab))
    a_idx = np.zeros((n, width), dtype=np.int64)
    q_full = np.zeros((n, len(vocab)))
    pi_full = np.zeros((width, n, len(vocab)))
    for i, d in enumerate(decisions):
        # the success rate (older logs: the propensity term was that rate)
        q = {c["id"]: float(c.get("rate", c["propensity"])) for c in d["candidates"]}
        for a, v in q.items():
            q_full[i, vocab[a]] = v
        policy = _policy(d, variant)
        # the logging policy's own distribution, rebuilt the same way from the log
        behaviour = _policy(d, Variant())
        covered = 0.0
        for j, dist in enumerate(policy):
            logged_j = behaviour[j] if j < len(behaviour) else {}
            covered += sum(prob for a, prob in dist.items() if logged_j.get(a, 0.0) > 0)
        for s in d["shown"]:
            j = int(s["position"])
            a = s["id"]
            r[i, j] = 1.0 if (d["request_id"], a) in successes else 0.0
            p[i, j] = float(s["probability"])
            pi[i, j] = policy[j].get(a, 0.0) if j < len(policy) else 0.0
            q_logged[i, j] = q.get(a, 0.0)
            a_idx[i, j] = vocab[a]
        for j, dist in enumerate(policy):
            direct[i, j] = sum(prob * q.get(a, 0.0) for a, prob in dist.items())
            for a, prob in dist.items():
                if a in vocab and j < width:
                    pi_full[j, i, vocab[a]] = prob
        support.append(covered / max(len(policy), 1))

    def ipw_total(rr: Any, pp: Any, pipi: Any) -> Any:
        return np.sum(
            ipw(np.swapaxes(rr, -1, -2), np.swapaxes(pp, -1, -2), np.swapaxes(pipi, -1, -2)),
            axis=-1,
        )

    def snipw_total(rr: Any, pp: Any, pipi: Any) -> Any:
        values = snipw(np.swapaxes(rr, -1, -2), np.swapaxes(pp, -1, -2), np.swapaxes(pipi, -1, -2))
        return np.nansum(values, axis=-1)

    # DR per position, on the decisions that filled the position
    dr_per_decision = np.zeros(n)
    for j in range(width):
        rows = np.array([j < len(d["shown"]) for d in decisions])
        if not rows.any():
            continue
        terms = dr_terms(r[rows, j], p[rows, j], a_idx[rows, j], q_full[rows], pi_full[j][rows])
        dr_per_decision[rows] += terms
    # positions the candidate fills but the logged answer did not: direct method only
    for i, d in enumerate(decisions):
        for j in range(len(d["shown"]), width):
            dr_per_decision[i] += direct[i, j]

    def mean(x: Any) -> Any:
        return np.mean(x, axis=-1)

    rng = np.random.default_rng(seed)
    logged_value = float(np.mean(np.sum(r, axis=1)))
    result = {
        "decisions": n,
        "positions": width,
        "successes": int(r.sum()),
        "logged_value": logged_value,
        "support": float(np.mean(support)),
        "ipw": {
            "value": float(ipw_total(r, p, pi)),
            "ci95": list(bootstrap_ci(ipw_total, r, p, pi, n_boot=n_boot, seed=rng)),
        },
        "snipw": {
            "value": float(snipw_total(r, p, pi)),
            "ci95": list(bootstrap_ci(snipw_total, r, p, pi, n_boot=n_boot, seed=rng)),
        },
        "dr": {
            "value": float(np.mean(dr_per_decision)),
            "ci95": list(bootstrap_ci(mean, dr_per_decision, n_boot=n_boot, seed=rng)),
        },
        "unit": "successes (click/accept/purchase) per decision",
    }
    return result
