"""Evaluation of an intent model on labelled utterances.

Conventions: an utterance counts as *rejected* when the model returns no intent (its top
probability is below the threshold).  In-scope accuracy counts a rejection of an in-scope
utterance as wrong.  For ``oos_recall`` / ``oos_precision`` / ``macro_f1`` a rejection is the
prediction ``"oos"``.  These measure the classifier, as the published benchmarks do; the service
additionally asks a clarifying question on *ambiguous* predictions, which
``ambiguous_rate``, ``clarify_offers_true_intent`` and ``in_scope_accuracy_clarify_as_miss``
(in-scope accuracy if every ambiguous in-scope utterance counted as wrong) describe.
``ece`` compares ``Prediction.confidence`` (the probability of the top in-scope intent) with
whether that top intent is the true label (never true for out-of-scope utterances).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from intent.data import LabelledText
from intent.decision import Prediction
from intent.taxonomy import OUT_OF_SCOPE

ECE_BINS = 15


class IntentModel(Protocol):
    def predict(self, texts: Sequence[str]) -> list[Prediction]: ...

    def predict_one(self, text: str) -> Prediction: ...


def expected_calibration_error(
    confidence: Sequence[float] | NDArray[np.float64],
    correct: Sequence[bool] | NDArray[np.bool_],
    n_bins: int = ECE_BINS,
) -> float:
    """Expected calibration error with ``n_bins`` equal-width bins over [0, 1].

    ``sum_b |B_b|/n * |accuracy(B_b) - mean confidence(B_b)|``; a confidence of exactly 0 falls
    in the first bin, 1 in the last.
    """
    conf = np.asarray(confidence, dtype=np.float64)
    hit = np.asarray(correct, dtype=np.float64)
    if conf.shape != hit.shape:
        raise ValueError("confidence and correct must have the same length")
    if conf.size == 0:
        return 0.0
    bins = np.clip(np.ceil(conf * n_bins).astype(int) - 1, 0, n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            total += mask.sum() / conf.size * abs(hit[mask].mean() - conf[mask].mean())
    return float(total)


def oos_precision_recall(
    true_labels: Sequence[str], predicted_labels: Sequence[str]
) -> tuple[float, float]:
    """Precision and recall of the out-of-scope class (0 when undefined)."""
    true_oos = np.array([t == OUT_OF_SCOPE for t in true_labels])
    pred_oos = np.array([p == OUT_OF_SCOPE for p in predicted_labels])
    hits = float((true_oos & pred_oos).sum())
    precision = hits / pred_oos.sum() if pred_oos.any() else 0.0
    recall = hits / true_oos.sum() if true_oos.any() else 0.0
    return float(precision), float(recall)


def macro_f1(true_labels: Sequence[str], predicted_labels: Sequence[str]) -> float:
    """Unweighted mean F1 over the classes present in ``true_labels`` (oos is one class)."""
    classes = sorted(set(true_labels))
    if not classes:
        return 0.0
    t = np.asarray(true_labels, dtype=object)
    p = np.asarray(predicted_labels, dtype=object)
    scores = []
    for c in classes:
        tp = float(((t == c) & (p == c)).sum())
        fp = float(((t != c) & (p == c)).sum())
        fn = float(((t == c) & (p != c)).sum())
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return float(np.mean(scores))


def metrics_from_predictions(
    examples: Sequence[LabelledText], predictions: Sequence[Prediction]
) -> dict[str, float]:
    """Quality metrics (everything but latency) from predictions aligned with ``examples``."""
    if len(examples) != len(predictions):
        raise ValueError("examples and predictions differ in length")
    true = [e.intent for e in examples]
    predicted = [p.intent if p.intent is not None else OUT_OF_SCOPE for p in predictions]
    in_scope = np.array([t != OUT_OF_SCOPE for t in true])
    correct = np.array([p == t for p, t in zip(predicted, true, strict=True)])
    top_correct = np.array(
        [
            bool(p.alternatives) and p.alternatives[0][0] == t
            for p, t in zip(predictions, true, strict=True)
        ]
    )
    precision, recall = oos_precision_recall(true, predicted)
    n_in = int(in_scope.sum())
    ambiguous = np.array([p.ambiguous for p in predictions], dtype=bool)
    offers_true = np.array(
        [p.ambiguous and t in p.candidates for p, t in zip(predictions, true, strict=True)]
    )
    return {
        "in_scope_accuracy": float(correct[in_scope].mean()) if n_in else 0.0,
        "in_scope_accuracy_clarify_as_miss": (
            float((correct & ~ambiguous)[in_scope].mean()) if n_in else 0.0
        ),
        "clarify_offers_true_intent": (
            float(offers_true.sum() / ambiguous.sum()) if ambiguous.any() else 0.0
        ),
        "in_scope_top1_accuracy": float(top_correct[in_scope].mean()) if n_in else 0.0,
        "oos_recall": recall,
        "oos_precision": precision,
        "macro_f1": macro_f1(true, predicted),
        "ece": expected_calibration_error([p.confidence for p in predictions], top_correct),
        "ambiguous_rate": float(ambiguous.mean()),
        "n": float(len(true)),
        "n_in_scope": float(n_in),
        "n_oos": float(len(true) - n_in),
    }


def measure_latency(
    model: IntentModel, texts: Sequence[str], *, max_calls: int = 2000, warmup: int = 50
) -> dict[str, float]:
    """p50 / p99 wall time in milliseconds of ``predict_one`` on single utterances."""
    if not texts:
        return {"p50_predict_ms": 0.0, "p99_predict_ms": 0.0}
    for text in texts[:warmup]:
        model.predict_one(text)
    gc.collect()  # do not bill garbage left by earlier batch work to the timed calls
    timings = []
    for i in range(min(max_calls, max(len(texts), 200))):
        text = texts[i % len(texts)]
        start = time.perf_counter()
        model.predict_one(text)
        timings.append(time.perf_counter() - start)
    ms = np.asarray(timings) * 1000.0
    return {
        "p50_predict_ms": float(np.percentile(ms, 50)),
        "p99_predict_ms": float(np.percentile(ms, 99)),
    }


def evaluate(
    model: IntentModel, examples: Sequence[LabelledText], *, latency_calls: int = 2000
) -> dict[str, float]:
    """All metrics of ``model`` on ``examples`` (see module docstring for conventions)."""
    if not examples:
        raise ValueError("no examples to evaluate")
    texts = [e.text for e in examples]
    predictions = model.predict(texts)
    metrics = metrics_from_predictions(examples, predictions)
    metrics.update(measure_latency(model, texts, max_calls=latency_calls))
    return metrics
