"""The intent metrics, computed by hand and by ``evaluate``."""

from __future__ import annotations

import pytest

from intent.classifier import IntentClassifier
from intent.data import LabelledText
from intent.decision import Prediction
from intent.evaluate import (
    evaluate,
    expected_calibration_error,
    macro_f1,
    metrics_from_predictions,
    oos_precision_recall,
)
from tests.intent.intent_data import make_dataset


# ---------------------------------------------------------------------------- metrics
def test_expected_calibration_error_hand_computed() -> None:
    # bins (15): 0.9 -> bin 13, 0.1 -> bin 1, 0.5 -> bin 7
    # bin 13: 2/4 * |0.5 - 0.9| = 0.2; bin 1: 1/4 * |0 - 0.1| = 0.025; bin 7: 1/4 * 0.5 = 0.125
    ece = expected_calibration_error([0.9, 0.9, 0.1, 0.5], [True, False, False, True])
    assert ece == pytest.approx(0.35)
    assert expected_calibration_error([1.0, 0.0], [True, False]) == pytest.approx(0.0)
    assert expected_calibration_error([], []) == 0.0


def test_oos_precision_recall_and_macro_f1_hand_computed() -> None:
    true = ["oos", "oos", "a", "b"]
    pred = ["oos", "a", "oos", "b"]
    assert oos_precision_recall(true, pred) == (pytest.approx(0.5), pytest.approx(0.5))
    # F1: oos = 0.5, a = 0 (tp 0), b = 1  -> mean 0.5
    assert macro_f1(true, pred) == pytest.approx(0.5)
    assert oos_precision_recall(["a"], ["a"]) == (0.0, 0.0)


def test_metrics_from_predictions_counts_rejections_as_wrong() -> None:
    examples = [LabelledText("x", "a"), LabelledText("y", "b"), LabelledText("z", "oos")]

    def pred(intent: str | None, top: str, conf: float) -> Prediction:
        return Prediction(intent, conf, ((top, conf),), False, intent is None)

    predictions = [pred("a", "a", 0.9), pred(None, "b", 0.3), pred(None, "a", 0.2)]
    m = metrics_from_predictions(examples, predictions)
    assert m["in_scope_accuracy"] == pytest.approx(0.5)
    assert m["in_scope_top1_accuracy"] == pytest.approx(1.0)
    assert m["oos_recall"] == 1.0 and m["oos_precision"] == pytest.approx(0.5)
    assert (m["n"], m["n_in_scope"], m["n_oos"]) == (3, 2, 1)


def test_evaluate_reports_all_metrics(trained: IntentClassifier) -> None:
    metrics = evaluate(trained, make_dataset(seed=5, per_intent=10, n_oos=10), latency_calls=200)
    for key in (
        "in_scope_accuracy",
        "oos_recall",
        "oos_precision",
        "macro_f1",
        "ece",
        "p50_predict_ms",
        "p99_predict_ms",
        "n",
        "n_in_scope",
        "n_oos",
    ):
        assert key in metrics
    assert metrics["in_scope_accuracy"] > 0.9
    assert metrics["oos_recall"] > 0.8
    assert metrics["n"] == 50
