"""Choosing a model configuration's calibration and decision parameters on held-out scores.

:func:`intent.train.train` fits selection models and hands their pooled held-out scores
(:class:`HeldOut`) to :func:`evaluate_candidate`: it fits the temperature and background-class
parameters (:func:`fit_calibration`, minimal log loss), picks the rejection threshold within
the accuracy budget and values the configuration; :func:`choose_ambiguity` then tunes the
ambiguity rule on the winner's predictions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

from intent.classifier import IntentClassifier
from intent.decision import scores_to_proba

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


#: Weight of out-of-scope recall relative to in-scope accuracy when comparing configurations
#: (each at its own threshold) and when valuing decisions.
OOS_WEIGHT = 0.1
#: Share of out-of-scope traffic assumed when fitting the calibration.
OOS_PRIOR = 0.2
#: The rejection threshold may cost at most this much held-out in-scope accuracy when the
#: data has out-of-scope examples (without any, it may cost none) ...
MAX_ACCURACY_LOSS = 0.005
#: ... and never exceeds this (an intent with a probability above it is always answered).
MAX_THRESHOLD = 0.5
#: Temperatures are kept within [0.5, 50] (perfectly separable data would push them up).
LOG_TEMPERATURE_RANGE = (float(np.log(0.5)), float(np.log(50.0)))

#: Value of a clarifying question that offers the true intent, relative to a direct answer.
CLARIFY_VALUE = 0.6
AMBIGUITY_MASS_GRID = (0.6, 0.7, 0.8, 0.9)
AMBIGUITY_FLOOR_GRID = (0.3, 0.5, 0.7)
#: A floor above 1 leaves no candidates: the "never ambiguous" rule.
NEVER_AMBIGUOUS_FLOOR = 1.01


@dataclass
class CandidateFit:
    params: dict[str, float]
    objective: float
    calibration: tuple[float, float, float]
    threshold: float
    metrics: dict[str, float]
    proba: FloatArray
    target: IntArray  # index of the true class among the model's classes, -1 for out of scope
    weights: FloatArray  # example weights (out-of-scope groups balanced)


def fit_calibration(
    scores: FloatArray,
    oos_scores: FloatArray,
    target: IntArray,
    weights: FloatArray,
    has_oos_class: bool,
) -> tuple[float, float, float]:
    """Temperature, background bias and oos-score weight minimising the weighted log loss."""
    rows = np.arange(len(target))
    is_oos = target < 0
    safe_target = np.where(is_oos, 0, target)

    def loss(theta: FloatArray) -> float:
        temperature = float(np.exp(np.clip(theta[0], *LOG_TEMPERATURE_RANGE)))
        weight = float(theta[2]) if has_oos_class else 0.0
        proba, p_oos = scores_to_proba(scores, oos_scores, temperature, float(theta[1]), weight)
        p_true = np.where(is_oos, p_oos, proba[rows, safe_target])
        return float(-(weights * np.log(np.clip(p_true, 1e-12, None))).sum() / weights.sum())

    best: Any = None
    for start in ((np.log(5.0), -0.5, 1.0), (np.log(15.0), 0.0, 0.5)):
        result = minimize(loss, np.array(start), method="Nelder-Mead", options={"maxiter": 400})
        if best is None or result.fun < best.fun:
            best = result
    temperature = float(np.exp(np.clip(best.x[0], *LOG_TEMPERATURE_RANGE)))
    weight = float(best.x[2]) if has_oos_class else 0.0
    return temperature, float(best.x[1]), weight


def threshold_grid(top_prob: FloatArray) -> FloatArray:
    """Candidate thresholds: the 0.1%, 0.2%, ..., 99.9% quantiles of the top probability and
    0, 0.01, ..., MAX_THRESHOLD."""
    quantiles = np.quantile(top_prob, np.linspace(0.001, 0.999, 999))
    fixed = np.linspace(0.0, MAX_THRESHOLD, round(MAX_THRESHOLD * 100) + 1)
    return np.unique(np.concatenate([fixed, np.round(quantiles, 6)]))


def _rates(
    top_prob: FloatArray,
    correct: NDArray[np.bool_],
    is_oos: NDArray[np.bool_],
    w_oos: FloatArray,
    grid: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """In-scope accuracy and weighted oos recall for every threshold of ``grid``."""
    accept = top_prob[None, :] >= grid[:, None]
    in_scope = ~is_oos
    accuracy = (accept & correct)[:, in_scope].mean(axis=1)
    recall = ((~accept)[:, is_oos] * w_oos[is_oos]).sum(axis=1) / w_oos[is_oos].sum()
    return accuracy, recall


@dataclass
class HeldOut:
    """Held-out scores of one selection model (fitted without its pseudo-oos intents)."""

    scores: FloatArray
    oos_scores: FloatArray
    target: IntArray
    real_oos: NDArray[np.bool_]
    has_oos_class: bool


def _pool(folds: list[HeldOut]) -> HeldOut:
    """Stack the folds' held-out scores (score columns padded to the widest fold)."""
    width = max(f.scores.shape[1] for f in folds)
    padded = [
        np.hstack([f.scores, np.full((f.scores.shape[0], width - f.scores.shape[1]), -1e3)])
        for f in folds
    ]
    return HeldOut(
        scores=np.vstack(padded),
        oos_scores=np.concatenate([f.oos_scores for f in folds]),
        target=np.concatenate([f.target for f in folds]),
        real_oos=np.concatenate([f.real_oos for f in folds]),
        has_oos_class=all(f.has_oos_class for f in folds),
    )


def evaluate_candidate(params: dict[str, float], folds: list[HeldOut]) -> CandidateFit:
    pooled = _pool(folds)
    scores, oos_scores, target = pooled.scores, pooled.oos_scores, pooled.target
    is_oos = target < 0
    real_oos = pooled.real_oos
    pseudo_oos = is_oos & ~real_oos
    # Real and pseudo out-of-scope examples each get half of the out-of-scope weight (real
    # ones only if there are enough of them to say anything).
    weights = np.ones(len(target))
    n_in = int((~is_oos).sum())
    groups = [g for g in (real_oos, pseudo_oos) if g.sum() >= 10] or [is_oos]
    oos_total = n_in * OOS_PRIOR / (1.0 - OOS_PRIOR)
    for group in groups:
        weights[group] = oos_total / len(groups) / max(int(group.sum()), 1)
    defaults = IntentClassifier()
    if n_in == 0:  # nothing to calibrate on (tiny data): keep the defaults
        calibration = (defaults.temperature, defaults.oos_bias, defaults.oos_weight)
        if not pooled.has_oos_class:
            calibration = (calibration[0], calibration[1], 0.0)
    else:
        calibration = fit_calibration(scores, oos_scores, target, weights, pooled.has_oos_class)
    proba, _ = scores_to_proba(scores, oos_scores, *calibration)
    top = proba.argmax(axis=1)
    top_prob = proba[np.arange(len(top)), top]
    correct = (top == target) & ~is_oos
    metrics: dict[str, float] = {}
    if n_in:
        # Reject as much as the accuracy budget allows: the highest threshold (= the highest
        # out-of-scope recall) that loses at most MAX_ACCURACY_LOSS of held-out in-scope
        # accuracy, and never above MAX_THRESHOLD.
        grid = threshold_grid(top_prob)
        grid = grid[grid <= MAX_THRESHOLD]
        if is_oos.any():
            accuracy, recall = _rates(top_prob, correct, is_oos, weights, grid)
        else:
            accuracy = (top_prob[None, :] >= grid[:, None])[:, correct].sum(axis=1) / n_in
            recall = np.zeros(len(grid))
        base = float(correct[~is_oos].mean())
        # Without a single out-of-scope example in the data nothing says rejection is
        # wanted: then it may catch only what costs no in-scope answer at all.
        budget = MAX_ACCURACY_LOSS if real_oos.any() else 0.0
        feasible = np.flatnonzero(accuracy >= base - budget - 1e-12)
        best = int(feasible[-1]) if len(feasible) else 0
        threshold = float(grid[best])
        objective = accuracy + OOS_WEIGHT * recall
        if is_oos.any():
            metrics["oos_recall"] = float(recall[best])
    else:
        threshold = defaults.threshold
        objective = np.array([0.0])
        best = 0
    accept = top_prob >= threshold
    if n_in:
        metrics["in_scope_accuracy"] = float((correct & accept)[~is_oos].mean())
        metrics["in_scope_accuracy_no_rejection"] = float(correct[~is_oos].mean())
    metrics["objective"] = float(objective[best])
    if real_oos.any():
        metrics["oos_recall_real"] = float((~accept[real_oos]).mean())
    if pseudo_oos.any():
        metrics["oos_recall_pseudo"] = float((~accept[pseudo_oos]).mean())
    return CandidateFit(
        params=params,
        objective=float(objective[best]),
        calibration=calibration,
        threshold=threshold,
        metrics=metrics,
        proba=proba,
        target=target,
        weights=weights,
    )


def choose_ambiguity(
    proba: FloatArray,
    target: IntArray,
    threshold: float,
    oos_weights: FloatArray | None = None,
) -> tuple[float, float, dict[str, float]]:
    """Ambiguity mass and floor (see :mod:`intent.decision`) maximising the expected utility.

    Utility of a decision on an in-scope utterance: right answer +1, clarifying question
    offering the true intent ``+CLARIFY_VALUE``, one not offering it -0.5, wrong answer or
    rejection 0 (as in the in-scope accuracy).  On an out-of-scope utterance a clarifying
    question costs 0.5 and anything else 0: the rule is meant to resolve in-scope doubt, not
    to reject (that is the threshold's job).
    Out-of-scope utterances carry their selection weights (``OOS_PRIOR`` of the traffic).
    "Never ambiguous" is one of the options and wins ties, so the rule only fires where it
    pays off on held-out data.
    """
    n, k = proba.shape
    m = min(4, k)
    order = np.argsort(-proba, axis=1)[:, :m]
    top = np.take_along_axis(proba, order, axis=1)
    p1 = top[:, 0]
    is_oos = target < 0
    rank = np.full(n, -1)
    hit = order == target[:, None]
    rank[hit.any(axis=1)] = hit.argmax(axis=1)[hit.any(axis=1)]
    w = np.ones(n) if oos_weights is None else oos_weights
    w_oos = w[is_oos].sum()

    def value(mass: float, floor: float) -> tuple[float, NDArray[np.bool_]]:
        cand = top >= floor * p1[:, None]
        ambiguous = (cand.sum(axis=1) >= 2) & ((top * cand).sum(axis=1) >= mass)
        answer = ~ambiguous & (p1 >= threshold)
        in_cand = (rank >= 0) & cand[np.arange(n), np.maximum(rank, 0)]
        utility = np.select(
            [
                is_oos & ambiguous,
                is_oos,
                answer & (rank == 0),
                answer,
                ambiguous & in_cand,
                ambiguous,
            ],
            [-0.5, 0.0, 1.0, 0.0, CLARIFY_VALUE, -0.5],
            default=0.0,
        )
        return float((utility * w).sum()), ambiguous

    best_value, best_ambiguous = value(1.0, NEVER_AMBIGUOUS_FLOOR)
    best = (1.0, NEVER_AMBIGUOUS_FLOOR)
    for mass in sorted(AMBIGUITY_MASS_GRID, reverse=True):
        for floor in sorted(AMBIGUITY_FLOOR_GRID, reverse=True):
            v, ambiguous = value(mass, floor)
            if v > best_value + 1e-9:
                best_value, best_ambiguous, best = v, ambiguous, (mass, floor)
    cand = top >= best[1] * p1[:, None]
    in_cand = (rank >= 0) & cand[np.arange(n), np.maximum(rank, 0)]
    useful = best_ambiguous & in_cand
    answered_right = ~best_ambiguous & (p1 >= threshold) & (rank == 0)
    rejected = best_ambiguous | (p1 < threshold)
    metrics = {
        "in_scope_accuracy": float(answered_right[~is_oos].mean()) if (~is_oos).any() else 0.0,
        "ambiguous_rate": float(best_ambiguous.mean()),
        "ambiguous_offering_true_intent": float(useful.sum() / max(best_ambiguous.sum(), 1)),
    }
    if w_oos > 0:
        metrics["oos_recall"] = float((rejected * w)[is_oos].sum() / w_oos)
    return best[0], best[1], metrics
