"""Training with automatic model selection on a held-out split of the training data.

``train`` never looks at any data but the examples it is given, and uses the same settings
for every data set:

1. A stratified split holds out ``validation_fraction`` of every intent (and of the
   out-of-scope examples) as the *selection split*.
2. ``PSEUDO_OOS_GROUPS`` disjoint groups of about ``PSEUDO_OOS_FRACTION`` of the in-scope
   intents are set aside as *pseudo out-of-scope* intents: the selection model of a group
   never sees them, so their utterances play the part of unseen out-of-scope requests.  This
   works whether or not the data contains ``"oos"`` examples, and it mimics what matters in
   production: requests for things the model was never taught.
3. For every candidate SVM regularisation ``C`` (a small grid for data sets of up to
   ``SEARCH_MAX_EXAMPLES`` examples, ``DEFAULT_C`` above that) the selection models are fitted;
   on their pooled held-out scores the temperature and the background-class parameters are
   fitted by minimising the log loss, and the rejection threshold is the highest one (= the
   highest out-of-scope recall) that gives up at most ``MAX_ACCURACY_LOSS`` of held-out in-scope
   accuracy -- or none at all when the data has no out-of-scope example.  The configuration
   with the best ``in-scope accuracy + OOS_WEIGHT * out-of-scope recall`` wins; the
   ambiguity rule is then tuned on the same predictions (:func:`choose_ambiguity`).
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

from intent.classifier import IntentClassifier
from intent.data import LabelledText
from intent.decision import scores_to_proba
from intent.embeddings import DEFAULT_EMBEDDING, embedding_available
from intent.taxonomy import OUT_OF_SCOPE

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
#: Candidate SVM regularisation strengths, searched when the data is small enough ...
C_GRID = (0.25, 0.5, 1.0, 2.0)
#: ... i.e. when it has at most this many examples; larger data sets use DEFAULT_C only, so
#: that training stays within a few minutes on two cores (the choice of C matters less the
#: more data there is, and the selection fit can then run concurrently with the final fit).
SEARCH_MAX_EXAMPLES = 6000
DEFAULT_C = 0.5
#: Share of in-scope intents held out as pseudo out-of-scope during selection ...
PSEUDO_OOS_FRACTION = 0.2
#: ... in this many disjoint groups, one selection model each (pooled: a steadier choice).
PSEUDO_OOS_GROUPS = 2
#: Value of a clarifying question that offers the true intent, relative to a direct answer.
CLARIFY_VALUE = 0.6
AMBIGUITY_MASS_GRID = (0.6, 0.7, 0.8, 0.9)
AMBIGUITY_FLOOR_GRID = (0.3, 0.5, 0.7)
#: A floor above 1 leaves no candidates: the "never ambiguous" rule.
NEVER_AMBIGUOUS_FLOOR = 1.01


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
    weights: FloatArray  # example weights (out-of-scope groups balanced)


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
class _Fold:
    """Held-out scores of one selection model (fitted without its pseudo-oos intents)."""

    scores: FloatArray
    oos_scores: FloatArray
    target: IntArray
    real_oos: NDArray[np.bool_]
    has_oos_class: bool


def _score_fold(
    C: float,
    embedding: str | None,
    texts: list[str],
    labels: list[str],
    fit_idx: IntArray,
    eval_idx: IntArray,
) -> _Fold:
    model = IntentClassifier(C=C, embedding=embedding)
    model.fit([texts[i] for i in fit_idx], [labels[i] for i in fit_idx])
    eval_labels = [labels[i] for i in eval_idx]
    scores, oos_scores = model.decision_scores([texts[i] for i in eval_idx])
    index = {str(c): i for i, c in enumerate(model.classes_)}
    return _Fold(
        scores=scores,
        oos_scores=oos_scores,
        target=np.array([index.get(label, -1) for label in eval_labels], dtype=np.int64),
        real_oos=np.array([label == OUT_OF_SCOPE for label in eval_labels], dtype=bool),
        has_oos_class=model.has_oos_class_,
    )


def _pool(folds: list[_Fold]) -> _Fold:
    """Stack the folds' held-out scores (score columns padded to the widest fold)."""
    width = max(f.scores.shape[1] for f in folds)
    padded = [
        np.hstack([f.scores, np.full((f.scores.shape[0], width - f.scores.shape[1]), -1e3)])
        for f in folds
    ]
    return _Fold(
        scores=np.vstack(padded),
        oos_scores=np.concatenate([f.oos_scores for f in folds]),
        target=np.concatenate([f.target for f in folds]),
        real_oos=np.concatenate([f.real_oos for f in folds]),
        has_oos_class=all(f.has_oos_class for f in folds),
    )


def _evaluate_candidate(params: dict[str, float], folds: list[_Fold]) -> _Candidate:
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
    return _Candidate(
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
    """Ambiguity mass and floor (see :mod:`intent.classifier`) maximising the expected utility.

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
    embedding: str | None = "auto",
) -> TrainResult:
    """Select hyper-parameters on a held-out split of ``examples``, then refit on all of them.

    ``embedding``: the static sentence embedding to add to the n-gram features (see
    :mod:`intent.embeddings`); ``"auto"`` uses the default one when its package is installed,
    ``None`` trains on n-grams only.
    """
    started = time.perf_counter()
    if embedding == "auto":
        embedding = DEFAULT_EMBEDDING if embedding_available() else None
    texts = [e.text for e in examples]
    labels = [e.intent for e in examples]
    intents = sorted({label for label in labels if label != OUT_OF_SCOPE})
    if len(intents) < 2:
        raise ValueError("training data needs at least two in-scope intents")
    rng = np.random.default_rng(seed)
    fit_idx, eval_idx = stratified_split(labels, validation_fraction, rng)

    # Pseudo-oos intents: disjoint groups of about PSEUDO_OOS_FRACTION of the intents; the
    # selection model of a group never sees its intents, and all their examples are scored.
    n_pseudo = 0
    if len(intents) >= 3:
        n_pseudo = min(max(1, round(PSEUDO_OOS_FRACTION * len(intents))), len(intents) - 2)
    shuffled = [str(x) for x in rng.permutation(intents)]
    n_groups = max(1, min(PSEUDO_OOS_GROUPS, len(intents) // max(n_pseudo, 1))) if n_pseudo else 1
    groups = [set(shuffled[g * n_pseudo : (g + 1) * n_pseudo]) for g in range(n_groups)]
    held_out = set(eval_idx.tolist())
    splits = []
    for pseudo in groups:
        sel_fit = np.array([i for i in fit_idx if labels[i] not in pseudo], dtype=np.int64)
        sel_eval = np.array(
            sorted(held_out | {i for i, lab in enumerate(labels) if lab in pseudo}),
            dtype=np.int64,
        )
        splits.append((sel_fit, sel_eval))

    search = len(examples) <= SEARCH_MAX_EXAMPLES
    c_values = C_GRID if search else (DEFAULT_C,)
    jobs = [(c, g) for c in c_values for g in range(len(splits))]
    with ThreadPoolExecutor(max_workers=max(1, n_jobs)) as pool:
        final_fit = None
        if not search:
            # C is fixed: fit the final model while the selection models are evaluated.
            final_fit = pool.submit(
                IntentClassifier(C=DEFAULT_C, embedding=embedding).fit, texts, labels
            )
        scored = list(
            pool.map(
                lambda job: _score_fold(job[0], embedding, texts, labels, *splits[job[1]]), jobs
            )
        )
        candidates = [
            _evaluate_candidate(
                {"C": c}, [fold for (jc, _), fold in zip(jobs, scored, strict=True) if jc == c]
            )
            for c in c_values
        ]
        chosen = max(candidates, key=lambda c: c.objective)
        mass, floor, ambiguity_metrics = choose_ambiguity(
            chosen.proba, chosen.target, chosen.threshold, chosen.weights
        )
        temperature, oos_bias, oos_weight = chosen.calibration
        params: dict[str, Any] = {
            "C": chosen.params["C"],
            "embedding": embedding,
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
    if "in_scope_accuracy" in validation:
        validation["in_scope_accuracy_before_ambiguity"] = validation["in_scope_accuracy"]
    validation.update(ambiguity_metrics)  # final in-scope accuracy / oos recall of the rule
    validation["n_selection"] = float(sum(len(e) for _, e in splits))
    validation["n_pseudo_oos_intents"] = float(n_pseudo)
    validation["n_pseudo_oos_groups"] = float(len(groups) if n_pseudo else 0)
    return TrainResult(
        model=model,
        validation=validation,
        params=params,
        candidates=[{**c.params, **c.metrics} for c in candidates],
        n_train=len(examples),
        seconds=time.perf_counter() - started,
    )
