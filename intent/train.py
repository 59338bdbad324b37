"""Training with automatic model selection on a held-out split of the training data.

``train`` never looks at any data but the examples it is given:

1. A stratified split holds out ``validation_fraction`` of every intent (and of the
   out-of-scope examples) as the *selection split*.
2. About a fifth of the in-scope intents are additionally set aside as *pseudo out-of-scope*
   intents: the selection models never see them, so their utterances play the part of unseen
   out-of-scope requests.  This works whether or not the data contains ``"oos"`` examples, and it
   mimics what matters in production: requests for things the model was never taught.
3. For every candidate SVM regularisation ``C`` (a small grid for data sets of up to
   ``SEARCH_MAX_EXAMPLES`` examples, ``DEFAULT_C`` above that) a model is fitted on the rest;
   on the selection split the temperature and the background-class parameters are fitted by
   minimising the log loss, and the rejection threshold is chosen to maximise
   ``in-scope accuracy + OOS_WEIGHT * out-of-scope recall``.
   The configuration with the best objective wins; the ambiguity rule is tuned on the same
   predictions.
4. The chosen configuration is refitted on all examples.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

from intent.classifier import (
    AMBIGUOUS,
    IntentClassifier,
    decide,
    scores_to_proba,
)
from intent.data import LabelledText
from intent.taxonomy import OUT_OF_SCOPE

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Weight of out-of-scope recall relative to in-scope accuracy in the selection objective.
OOS_WEIGHT = 0.1
#: Share of out-of-scope traffic assumed when fitting the calibration.
OOS_PRIOR = 0.2
#: Candidate SVM regularisation strengths, searched when the data is small enough ...
C_GRID = (0.25, 0.5, 1.0, 2.0)
#: ... i.e. when it has at most this many examples; larger data sets use DEFAULT_C only, so
#: that training stays within a few minutes on two cores (the choice of C matters less the
#: more data there is, and the selection fit can then run concurrently with the final fit).
SEARCH_MAX_EXAMPLES = 6000
DEFAULT_C = 0.5
#: Share of in-scope intents held out as pseudo out-of-scope during selection.
PSEUDO_OOS_FRACTION = 0.2
AMBIGUITY_MASS_GRID = (0.5, 0.6, 0.7, 0.8, 0.9)
AMBIGUITY_FLOOR_GRID = (0.1, 0.25, 0.5)


@dataclass
class TrainResult:
    model: IntentClassifier
    #: Metrics of the chosen configuration on the selection split.
    validation: dict[str, float]
    #: Chosen hyper-parameters (constructor arguments of the final model).
    params: dict[str, Any]
    #: Objective of every candidate configuration.
    candidates: list[dict[str, float]] = field(default_factory=list)
    n_train: int = 0
    seconds: float = 0.0


@dataclass
class _Candidate:
    params: dict[str, float]
    objective: float
    calibration: tuple[float, float, float]
    threshold: float
    metrics: dict[str, float]
    proba: FloatArray
    target: IntArray  # index of the true class among the model's classes, -1 for out of scope


def stratified_split(
    labels: Sequence[str], fraction: float, rng: np.random.Generator
) -> tuple[IntArray, IntArray]:
    """Indices ``(fit, held_out)``; each label with >= 2 examples gives ``round(fraction * n)``
    (at least one) examples to the held-out part."""
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    fit: list[int] = []
    held: list[int] = []
    for label in sorted(by_label):
        idx = np.array(by_label[label])
        rng.shuffle(idx)
        n_held = 0 if len(idx) < 2 else max(1, round(fraction * len(idx)))
        held.extend(idx[:n_held].tolist())
        fit.extend(idx[n_held:].tolist())
    return np.array(sorted(fit), dtype=np.int64), np.array(sorted(held), dtype=np.int64)


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
        temperature = float(np.exp(theta[0]))
        weight = float(theta[2]) if has_oos_class else 0.0
        proba, p_oos = scores_to_proba(scores, oos_scores, temperature, float(theta[1]), weight)
        p_true = np.where(is_oos, p_oos, proba[rows, safe_target])
        return float(-(weights * np.log(np.clip(p_true, 1e-12, None))).sum() / weights.sum())

    best: Any = None
    for start in ((np.log(5.0), -0.5, 1.0), (np.log(15.0), 0.0, 0.5)):
        result = minimize(loss, np.array(start), method="Nelder-Mead", options={"maxiter": 400})
        if best is None or result.fun < best.fun:
            best = result
    temperature = float(np.exp(best.x[0]))
    weight = float(best.x[2]) if has_oos_class else 0.0
    return temperature, float(best.x[1]), weight


def threshold_grid(top_prob: FloatArray) -> FloatArray:
    """Candidate thresholds: 0 plus the 0.5%, 1%, ..., 99.5% quantiles of the top probability."""
    quantiles = np.quantile(top_prob, np.linspace(0.005, 0.995, 199))
    return np.unique(np.concatenate([[0.0], np.round(quantiles, 6)]))


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


def _evaluate_candidate(
    params: dict[str, float],
    texts: list[str],
    labels: list[str],
    fit_idx: IntArray,
    eval_idx: IntArray,
    pseudo: set[str],
) -> _Candidate:
    model = IntentClassifier(C=params["C"])
    model.fit([texts[i] for i in fit_idx], [labels[i] for i in fit_idx])
    eval_texts = [texts[i] for i in eval_idx]
    eval_labels = [labels[i] for i in eval_idx]
    scores, oos_scores = model.decision_scores(eval_texts)
    index = {str(c): i for i, c in enumerate(model.classes_)}
    target = np.array([index.get(label, -1) for label in eval_labels], dtype=np.int64)
    is_oos = target < 0
    real_oos = np.array([label == OUT_OF_SCOPE for label in eval_labels])
    pseudo_oos = is_oos & ~real_oos
    # Real and pseudo out-of-scope examples each get half of the out-of-scope weight (real
    # ones only if there are enough of them to say anything).
    weights = np.ones(len(target))
    n_in = int((~is_oos).sum())
    groups = [g for g in (real_oos, pseudo_oos) if g.sum() >= 10] or [is_oos]
    oos_total = n_in * OOS_PRIOR / (1.0 - OOS_PRIOR)
    for group in groups:
        weights[group] = oos_total / len(groups) / max(int(group.sum()), 1)
    calibration = fit_calibration(scores, oos_scores, target, weights, model.has_oos_class_)
    proba, _ = scores_to_proba(scores, oos_scores, *calibration)
    top = proba.argmax(axis=1)
    top_prob = proba[np.arange(len(top)), top]
    correct = (top == target) & ~is_oos
    grid = threshold_grid(top_prob)
    accuracy, recall = _rates(top_prob, correct, is_oos, weights, grid)
    objective = accuracy + OOS_WEIGHT * recall
    best = int(np.argmax(objective))
    threshold = float(grid[best])
    accept = top_prob >= threshold
    metrics = {
        "in_scope_accuracy": float(accuracy[best]),
        "in_scope_accuracy_no_rejection": float(correct[~is_oos].mean()),
        "oos_recall": float(recall[best]),
        "objective": float(objective[best]),
    }
    if real_oos.any():
        metrics["oos_recall_real"] = float((~accept[real_oos]).mean())
    if pseudo_oos.any():
        metrics["oos_recall_pseudo"] = float((~accept[pseudo_oos]).mean())
    del pseudo  # (documented for readers: pseudo intents are absent from the fit data)
    return _Candidate(
        params=params,
        objective=float(objective[best]),
        calibration=calibration,
        threshold=threshold,
        metrics=metrics,
        proba=proba,
        target=target,
    )


def choose_ambiguity(
    proba: FloatArray, target: IntArray, threshold: float
) -> tuple[float, float, dict[str, float]]:
    """Ambiguity mass and floor maximising (useful clarifications - useless ones).

    Among utterances the model does not answer, a clarifying question is useful when the true
    intent is among the offered candidates, useless when it is not (or the utterance is out of
    scope).  Ties go to the stricter rule (higher mass), so the rule is conservative.
    """
    best = (-np.inf, 1.0, 0.25, 0, 0)
    rejected = np.flatnonzero(proba.max(axis=1) < threshold)
    for mass in sorted(AMBIGUITY_MASS_GRID, reverse=True):
        for floor in AMBIGUITY_FLOOR_GRID:
            good = bad = 0
            for i in rejected:
                _, kind, candidates = decide(
                    proba[i],
                    threshold=threshold,
                    ambiguity_mass=mass,
                    ambiguity_floor=floor,
                    max_ambiguous=4,
                    top_k=4,
                )
                if kind == AMBIGUOUS:
                    if target[i] >= 0 and target[i] in candidates:
                        good += 1
                    else:
                        bad += 1
            if good - bad > best[0]:
                best = (good - bad, mass, floor, good, bad)
    _, mass, floor, good, bad = best
    n = max(len(target), 1)
    return mass, floor, {"ambiguous_useful_rate": good / n, "ambiguous_useless_rate": bad / n}


def _set_decision_params(model: IntentClassifier, params: dict[str, Any]) -> None:
    """Install selected calibration / decision parameters on an already fitted model."""
    model.set_params(**params)
    model.temperature_ = float(params["temperature"])
    model.oos_bias_ = float(params["oos_bias"])
    model.oos_weight_ = float(params["oos_weight"]) if model.has_oos_class_ else 0.0
    model.threshold_ = float(params["threshold"])
    model.ambiguity_mass_ = float(params["ambiguity_mass"])
    model.ambiguity_floor_ = float(params["ambiguity_floor"])


def train(
    examples: list[LabelledText],
    *,
    seed: int = 0,
    validation_fraction: float = 0.15,
    n_jobs: int = 2,
) -> TrainResult:
    """Select hyper-parameters on a held-out split of ``examples``, then refit on all of them."""
    started = time.perf_counter()
    texts = [e.text for e in examples]
    labels = [e.intent for e in examples]
    intents = sorted({label for label in labels if label != OUT_OF_SCOPE})
    if len(intents) < 2:
        raise ValueError("training data needs at least two in-scope intents")
    rng = np.random.default_rng(seed)
    fit_idx, eval_idx = stratified_split(labels, validation_fraction, rng)

    n_pseudo = 0
    if len(intents) >= 3:
        n_pseudo = min(max(1, round(PSEUDO_OOS_FRACTION * len(intents))), len(intents) - 2)
    pseudo = {str(x) for x in rng.choice(intents, size=n_pseudo, replace=False)}
    # Pseudo-oos intents: none of their examples are fitted; all of them are evaluated.
    sel_fit = np.array([i for i in fit_idx if labels[i] not in pseudo], dtype=np.int64)
    sel_eval = np.array(
        sorted(set(eval_idx.tolist()) | {i for i, lab in enumerate(labels) if lab in pseudo}),
        dtype=np.int64,
    )

    search = len(examples) <= SEARCH_MAX_EXAMPLES
    grid = [{"C": c} for c in (C_GRID if search else (DEFAULT_C,))]
    with ThreadPoolExecutor(max_workers=max(1, n_jobs)) as pool:
        final_fit = None
        if not search:
            # C is fixed: fit the final model while the selection model is evaluated.
            final_fit = pool.submit(IntentClassifier(C=DEFAULT_C).fit, texts, labels)
        candidates = list(
            pool.map(
                lambda p: _evaluate_candidate(p, texts, labels, sel_fit, sel_eval, pseudo), grid
            )
        )
        chosen = max(candidates, key=lambda c: c.objective)
        mass, floor, ambiguity_metrics = choose_ambiguity(
            chosen.proba, chosen.target, chosen.threshold
        )
        temperature, oos_bias, oos_weight = chosen.calibration
        params: dict[str, Any] = {
            "C": chosen.params["C"],
            "temperature": temperature,
            "oos_bias": oos_bias,
            "oos_weight": oos_weight,
            "threshold": chosen.threshold,
            "ambiguity_mass": mass,
            "ambiguity_floor": floor,
        }
        if final_fit is not None:
            model = final_fit.result()
            _set_decision_params(model, params)
        else:
            model = IntentClassifier(**params).fit(texts, labels)
    validation = dict(chosen.metrics)
    validation.update(ambiguity_metrics)
    validation["n_selection"] = float(len(sel_eval))
    validation["n_pseudo_oos_intents"] = float(n_pseudo)
    return TrainResult(
        model=model,
        validation=validation,
        params=params,
        candidates=[{**c.params, **c.metrics} for c in candidates],
        n_train=len(examples),
        seconds=time.perf_counter() - started,
    )
