"""Helpers of the experiments API tests: a spec, starting an experiment, traffic, read-outs."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from experiments.service import ExperimentService
from tests import conftest

#: an explicit intent narrows the candidates, which keeps thousands of decisions fast
FAST: dict[str, Any] = {"intent": "cancel_contract", "limit": 1}


#: every test module of the experiments API: one event loop per module (the app is per module,
#: conftest ``experiments_app``), and the experiments a test started are stopped after it
MODULE_MARKS = [
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.usefixtures("experiments_stopped"),
]


def spec(exp_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": exp_id,
        "description": "value weight up",
        "hypothesis": "leaning on value lifts clicks",
        "primary_metric": "click",
        "variants": [
            {"id": "a", "weight": 0.5},
            {"id": "b", "weight": 0.5, "params": {"ranking_weights": {"value": 1.5}}},
        ],
    }
    body.update(overrides)
    return body


async def create_running(client: httpx.AsyncClient, exp_id: str, **overrides: Any) -> None:
    r = await client.post("/v1/experiments", json=spec(exp_id, **overrides))
    assert r.status_code == 201, r.text
    r = await client.post(f"/v1/experiments/{exp_id}/start")
    assert r.status_code == 200, r.text
    await settle(client)


async def settle(client: httpx.AsyncClient) -> None:
    """Wait until the worker serves the stored configuration (it reloads every 0.2 s here)."""
    runtime = client.app.state.services.runtime  # type: ignore[attr-defined]
    want = {(e.id, e.version) for e in await service(client).store.active()}
    for _ in range(100):
        if {(e.id, e.version) for e in runtime.state.experiments} == want:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the runtime did not load the experiment configuration")


async def recommend(client: httpx.AsyncClient, user_id: str, **body: Any) -> dict[str, Any]:
    """A decision (``FAST`` unless ``body`` says otherwise) that was not degraded."""
    data = await conftest.recommend(client, user_id=user_id, **(body or FAST))
    assert not data["degraded"], data["degraded_reasons"]
    return data


async def recommend_many(
    client: httpx.AsyncClient, users: list[str], concurrency: int = 32, **body: Any
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(0, len(users), concurrency):
        chunk = users[i : i + concurrency]
        out += await asyncio.gather(*(recommend(client, u, **body) for u in chunk))
    return out


def arm_of(answer: dict[str, Any]) -> str | None:
    exp = answer["experiment"]
    return None if exp is None else str(exp["variant"])


async def results(client: httpx.AsyncClient, exp_id: str, **params: str) -> dict[str, Any]:
    r = await client.get(f"/v1/experiments/{exp_id}/results", params=params)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def by_arm(res: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["arm"]: a for a in res["arms"]}


def same(x: Any, y: Any) -> bool:
    """Equal, up to float rounding (sums are added up in a different order)."""
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(same(x[k], y[k]) for k in x)
    if isinstance(x, list) and isinstance(y, list):
        return len(x) == len(y) and all(same(a, b) for a, b in zip(x, y, strict=True))
    if isinstance(x, float) and isinstance(y, float):
        return x == pytest.approx(y, rel=1e-9, abs=1e-12)
    return bool(x == y)


def service(client: httpx.AsyncClient) -> ExperimentService:
    svc: ExperimentService = client.app.state.services.experiments  # type: ignore[attr-defined]
    return svc


async def stop_experiments(client: httpx.AsyncClient) -> None:
    """Stop every experiment a test left running (tests stay independent)."""
    svc = service(client)
    for exp in await svc.list_experiments():
        if exp.status != "stopped":
            await svc.set_status(exp.id, "stopped", "test-cleanup")
    await settle(client)
