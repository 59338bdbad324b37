"""orjson on the hot paths: valid JSON always, never NaN."""

from __future__ import annotations

import json
import math

import numpy as np

from app.jsonresp import OrjsonResponse
from recommender.decision.log import encode


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


def test_request_bodies_parse_as_the_standard_parser_parses_them() -> None:
    """app.body.parse_json reads with orjson where it can: the value, or the error, is the
    standard parser's either way."""
    import pytest
    from fastapi.exceptions import RequestValidationError

    from app.body import parse_json

    bodies = [
        b'{"events": [{"event_id": "e1", "value": 12.5, "n": -0, "x": 1e-7}]}',
        b'{"a": 1, "a": 2}',
        b'{"big": 123456789012345678901234567890, "u64": 18446744073709551615}',
        b'{"s": "\\u00e9\\ud83d\\ude00", "lone": "\\ud800"}',
        b"[NaN, Infinity, -Infinity]",
        b'{"x": 1e999}',
        b"\xef\xbb\xbf{}",
        '{"utf16": 1}'.encode("utf-16"),
        b"[" * 1200 + b"]" * 1200,
        b'{"a": [1, 2',
        b"\xff",
        b"  {}  ",
    ]
    for body in bodies:
        try:
            want: object = json.loads(body)
        except (ValueError, RecursionError):
            with pytest.raises(RequestValidationError):
                parse_json(body)
            continue
        got = parse_json(body)
        assert repr(got) == repr(want), body[:40]  # repr: NaN, and int vs float, compare
