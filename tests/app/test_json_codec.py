"""orjson on the hot paths: valid JSON always, never NaN."""

from __future__ import annotations

import json
import math

import numpy as np

from app.jsonresp import OrjsonResponse
from recommender.decision_log import encode


def _strict(raw: bytes) -> object:
    def refuse(token: str) -> float:
        raise AssertionError(f"non-standard JSON constant {token}")

    return json.loads(raw, parse_constant=refuse)


def test_decision_records_with_numpy_and_non_finite_numbers_stay_valid_json() -> None:
    record = {
        "score": np.float64(0.25),
        "rank": np.int64(3),
        "terms": {"a": float("nan"), "b": math.inf, "c": np.float32(0.5)},
        "title": "Krimi für Ängstliche",
    }
    assert _strict(encode(record)) == {
        "score": 0.25,
        "rank": 3,
        "terms": {"a": None, "b": None, "c": 0.5},
        "title": "Krimi für Ängstliche",
    }


def test_error_responses_never_emit_nan() -> None:
    body = OrjsonResponse({"error": "X", "detail": [{"value": float("nan"), 1: "k"}]}).body
    assert _strict(body) == {"error": "X", "detail": [{"value": None, "1": "k"}]}
