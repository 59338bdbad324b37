"""Decision log: every decision and attributed outcome on a bounded stream; export; evaluate."""

from __future__ import annotations

import asyncio
import io
import json
import math
from pathlib import Path
from typing import Any

import httpx
import pytest

from evaluation.policy import Variant, evaluate_log, read_log
from recommender.decision_log import DecisionLog
from service.redis_server import connect
from tests.recommender.test_exploration import Explore
from waypoint.cli import main


def services(client: httpx.AsyncClient) -> Any:
    return client.app.state.services  # type: ignore[attr-defined]


async def _serve_and_click(client: httpx.AsyncClient, n: int, rate: float) -> list[dict[str, Any]]:
    rec = services(client).recommender
    saved = rec.policy
    rec.policy = Explore(rate)
    answers = []
    try:
        for i in range(n):
            # queries that resolve one intent: the replay re-ranks one list (a clarifying
            # answer's blocks per option are not replayed)
            query = ("a new crime novel", "repair my broken dishwasher", "a warm winter jacket")[
                i % 3
            ]
            r = await client.post(
                "/v1/recommend", json={"user_id": f"log-{i % 4}", "query": query, "limit": 4}
            )
            assert r.status_code == 200, r.text
            answers.append(r.json())
    finally:
        rec.policy = saved
    events = [
        {
            "event_id": f"c-{i}",
            "user_id": f"log-{i % 4}",
            "type": "click",
            "item_id": a["actions"][i % len(a["actions"])]["id"],
            "request_id": a["request_id"],
        }
        for i, a in enumerate(answers)
        if a["actions"] and i % 2 == 0
    ]
    r = await client.post("/v1/events", json={"events": events})
    assert r.status_code == 200
    return answers


async def _export(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    out = io.StringIO()
    await services(client).decision_log.export(out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


async def test_every_decision_is_logged_with_probabilities(client: httpx.AsyncClient) -> None:
    answers = await _serve_and_click(client, 12, 0.5)
    records = await _export(client)
    decisions = {r["request_id"]: r for r in records if r["type"] == "decision"}
    outcomes = [r for r in records if r["type"] == "outcome"]
    assert set(decisions) >= {a["request_id"] for a in answers}
    for a in answers:
        d = decisions[a["request_id"]]
        assert [s["id"] for s in d["shown"]] == [x["id"] for x in a["actions"]]
        assert [s["probability"] for s in d["shown"]] == [x["probability"] for x in a["actions"]]
        assert [s["position"] for s in d["shown"]] == list(range(len(a["actions"])))
        assert d["strategy"]["exploration_rate"] == 0.5
        assert d["context"]["channel"] == "web" and d["context"]["bucket"].startswith("intent=")
        assert d["versions"]["catalog"] == a["catalog_version"]
        assert d["versions"]["intent_model"] == a["model_version"]
        assert "log-" not in json.dumps(d), "the log holds no raw user id"
        ids = {c["id"] for c in d["candidates"]}
        assert {s["id"] for s in d["shown"]} <= ids
        for c in d["candidates"]:
            assert set(c) >= {"terms", "propensity", "lever", "priority", "rank", "explore"}
    assert len(outcomes) == 6
    assert all(o["request_id"] in decisions and o["event"] == "click" for o in outcomes)


async def test_log_retention_is_bounded(redis: Any) -> None:
    log = DecisionLog(redis, key="wp:test:decisions", maxlen=10)
    for i in range(600):
        await log.outcome({"type": "outcome", "request_id": str(i), "action": "a", "event": "x"})
    n = await redis.xlen("wp:test:decisions")
    assert 10 <= n < 600


async def test_evaluating_the_logged_policy_reproduces_its_value(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    await _serve_and_click(client, 15, 0.5)
    records = await _export(client)
    path = tmp_path / "log.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    decisions, successes = read_log(path.read_text("utf-8").splitlines())
    same = evaluate_log(decisions, successes, Variant(), n_boot=50)
    assert same["decisions"] == 15
    # the logging policy itself: every weight is 1, so IPW is exactly the logged value
    assert same["ipw"]["value"] == pytest.approx(same["logged_value"])
    assert same["support"] == pytest.approx(1.0)
    other = evaluate_log(
        decisions,
        successes,
        Variant.parse({"exploration_rate": 0.0, "levers": {"kinds": {"product": 0.5}}}),
        n_boot=50,
    )
    for name in ("ipw", "snipw", "dr"):
        assert math.isfinite(other[name]["value"])
        lo, hi = other[name]["ci95"]
        assert lo <= hi or math.isnan(lo)


def test_cli_export_and_evaluate_on_a_small_slice(
    redis_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    decision = {
        "type": "decision",
        "request_id": "cli-r1",
        "ts": 1.0,
        "limit": 2,
        "strategy": {"exploration_rate": 0.2, "diversity": 1.0, "weights": {}},
        "candidates": [
            {
                "id": i,
                "kind": "product",
                "category": "books/crime",
                "value": 1.0,
                "rank": n,
                "terms": {"affinity": 0.5 - n / 10},
                "propensity": 0.1,
                "lever": 1.0,
                "priority": 0.1,
                "explore": True,
                "refused": False,
            }
            for n, i in enumerate(["x", "y", "z"])
        ],
        "shown": [
            {"id": "x", "position": 0, "probability": 1.0, "explored": False},
            {"id": "y", "position": 1, "probability": 0.8, "explored": False},
        ],
    }
    outcome = {"type": "outcome", "request_id": "cli-r1", "action": "y", "event": "click"}

    async def seed() -> None:
        redis = connect(redis_url, timeout_s=5.0)
        try:
            await redis.delete("wp:decisions")
            log = DecisionLog(redis, key="wp:decisions")
            await log.outcome(decision)
            await log.outcome(outcome)
        finally:
            await redis.aclose()

    asyncio.run(seed())
    out = tmp_path / "decisions.jsonl"
    assert main(["decisions", "export", "--out", str(out), "--redis-url", redis_url]) == 0
    lines = [json.loads(x) for x in out.read_text("utf-8").splitlines()]
    assert [r["type"] for r in lines] == ["decision", "outcome"]
    assert main(["decisions", "export", "--out", str(out), "--redis-url", redis_url,
                 "--since", "2999-01-01T00:00:00Z"]) == 0  # fmt: skip
    assert out.read_text("utf-8") == ""

    out.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    capsys.readouterr()
    code = main(
        ["evaluate", "policy", "--log", str(out), "--variant", '{"exploration_rate": 0.5}',
         "--json", "--n-boot", "20"]
    )  # fmt: skip
    assert code == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # y was shown at position 1 with p = 0.8; the candidate shows it there with 0.5
    assert report["ipw"]["value"] == pytest.approx(0.5 / 0.8)
    assert report["logged_value"] == 1.0
    with pytest.raises(SystemExit) as bad:
        main(["evaluate", "policy", "--log", str(out), "--variant", '{"bogus": 1}'])
    assert bad.value.code == 2
    assert "unknown variant fields: bogus" in capsys.readouterr().err
