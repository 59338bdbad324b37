"""Intent behaviour in the API: out-of-scope, clarify, open intents, model lifecycle."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from demo.seed import data_dir
from intent.artifact import save_model
from intent.data import LabelledText, load_jsonl
from intent.lifecycle import metadata_for, register_dir
from intent.train import train
from service.settings import Settings, hash_key
from tests.conftest import app_client, recommend


async def test_out_of_scope_query_gets_no_intent_and_says_so(client: httpx.AsyncClient) -> None:
    data = await recommend(client, query="what's the weather like in Paris tomorrow")
    assert data["intent"] is None
    assert data["out_of_scope"] is True
    assert data["clarify"] is None
    assert data["actions"], "falls back to history and context"


async def test_unsure_query_asks_and_the_answer_is_learned(client: httpx.AsyncClient) -> None:
    query = "my phone"
    data = await recommend(client, user_id="unsure", query=query)
    clarify = data["clarify"]
    assert data["intent"] is None and clarify is not None
    assert 2 <= len(clarify["options"]) <= 4
    assert all(o["label"] for o in clarify["options"])
    options = {o["intent"] for o in clarify["options"]}
    # safe actions: only from the candidate intents' categories
    taxonomy = (await client.get("/v1/intents")).json()
    prefixes = [
        p for i in taxonomy["intents"] if i["name"] in options for p in i["allowed_categories"]
    ]
    assert all(
        any(a["category"] == p or a["category"].startswith(p + "/") for p in prefixes)
        for a in data["actions"]
    )

    pick = sorted(options)[0]
    r = await client.post(
        "/v1/events",
        json={
            "events": [
                {
                    "event_id": "clarify-1",
                    "user_id": "unsure",
                    "type": "clarify_answer",
                    "intent": pick,
                    "context": {"channel": "web", "language": "en"},
                }
            ]
        },
    )
    assert r.json()["accepted"] == 1
    after = await recommend(client, user_id="unsure")
    assert after["intent"]["name"] == pick and after["intent"]["source"] == "journey"
    services = client.app.state.services  # type: ignore[attr-defined]
    learned = [json.loads(line) async for line in services.learned.iter_jsonl()]
    assert learned == [{"text": query, "intent": pick, "language": "en"}]


async def test_explicit_pick_after_clarify_is_learned_too(client: httpx.AsyncClient) -> None:
    data = await recommend(client, user_id="unsure2", query="my phone")
    pick = data["clarify"]["options"][1]["intent"]
    again = await recommend(client, user_id="unsure2", intent=pick)
    assert again["intent"]["source"] == "explicit"
    services = client.app.state.services  # type: ignore[attr-defined]
    assert await services.learned.count() == 1


@pytest_asyncio.fixture
async def short_journey_client(settings: Settings, redis: Any) -> Any:
    async with app_client(settings.model_copy(update={"journey_ttl_s": 1})) as c:
        yield c


async def test_open_intent_is_remembered_then_closed(short_journey_client: Any) -> None:
    client = short_journey_client
    first = await recommend(client, user_id="returning", query="I need a new dishwasher")
    assert first["intent"]["name"] == "buy_appliance"
    await asyncio.sleep(1.3)  # the journey expires without a purchase

    later = await recommend(client, user_id="returning", limit=10)
    assert later["intent"] is None  # a new visit: no live intent
    boosted = [a for a in later["actions"] if any("last time" in r for r in a["reasons"])]
    assert boosted and all(
        a["category"].startswith("home_appliances") or a["category"].startswith("services")
        for a in boosted
    )
    ctx = (await client.get("/v1/users/returning/context")).json()
    assert [o["intent"] for o in ctx["open_intents"]] == ["buy_appliance"]

    bought = boosted[0]["id"]
    await client.post(
        "/v1/events",
        json={
            "events": [
                {"event_id": "buy-1", "user_id": "returning", "type": "purchase", "item_id": bought}
            ]
        },
    )
    ctx = (await client.get("/v1/users/returning/context")).json()
    assert ctx["open_intents"] == []
    final = await recommend(client, user_id="returning", limit=10)
    assert not any("last time" in r for a in final["actions"] for r in a["reasons"])


async def test_german_and_french_utterances_are_understood(client: httpx.AsyncClient) -> None:
    de = await recommend(
        client,
        query="Ich suche einen spannenden Krimi",
        context={"channel": "web", "language": "de"},
    )
    fr = await recommend(
        client,
        query="je veux résilier mon abonnement",
        context={"channel": "web", "language": "fr"},
    )
    assert de["intent"]["name"] == "buy_book"
    assert fr["intent"]["name"] == "cancel_contract"


@pytest.fixture(scope="session")
def second_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _train_model(tmp_path_factory.mktemp("second"))


@pytest.fixture(scope="session")
def model_with_unknown_intent(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _train_model(tmp_path_factory.mktemp("extra"), labels_extra=True)


def _train_model(tmp: Path, labels_extra: bool = False) -> Path:
    examples = load_jsonl(data_dir() / "utterances.jsonl")
    if labels_extra:
        examples += [
            LabelledText(text=f"teleport me to mars {i}", intent="teleport") for i in range(30)
        ]
    result = train(examples, seed=1)
    out = tmp / ("extra" if labels_extra else "second")
    save_model(result.model, out, metadata=metadata_for(result, examples))
    return out


async def test_model_lifecycle_activate_rollback_refuse(
    client: httpx.AsyncClient, second_model: Path, model_with_unknown_intent: Path
) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    first = (await client.get("/v1/intents/models/active")).json()["version"]
    second = await register_dir(
        services.models, second_model, services.runtime.state.taxonomy, activate=False
    )
    listed = [m["version"] for m in (await client.get("/v1/intents/models")).json()]
    assert set(listed) == {first, second.version}

    r = await client.post(f"/v1/intents/models/{second.version}/activate")
    assert r.status_code == 200
    data = await recommend(client, query="crime novel")
    assert data["model_version"] == second.version
    r = await client.post(f"/v1/intents/models/{first}/activate")  # rollback
    assert (await recommend(client, query="crime novel"))["model_version"] == first

    bad = await register_dir(
        services.models,
        model_with_unknown_intent,
        services.runtime.state.taxonomy,
        activate=False,
    )
    r = await client.post(f"/v1/intents/models/{bad.version}/activate")
    assert r.status_code == 422
    assert "teleport" in r.json()["detail"]
    r = await client.post("/v1/intents/models/intent-nope/activate")
    assert r.status_code == 404


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def two_workers(redis_url: str) -> Iterator[list[str]]:
    """Two separate server processes sharing one Redis (like two hosts of a deployment)."""
    keys = json.dumps(
        [{"id": "ops", "sha256": hash_key("ops-key"), "scopes": ["recommend", "admin"]}]
    )
    env = {
        **os.environ,
        "WAYPOINT_REDIS_URL": redis_url,
        "WAYPOINT_API_KEYS": keys,
        "WAYPOINT_RELOAD_INTERVAL_S": "0.5",
    }
    env.pop("WAYPOINT_DEMO", None)
    urls, procs = [], []
    for _ in range(2):
        port = _free_port()
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "waypoint.cli",
                    "serve",
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        for url in urls:
            while True:
                try:
                    if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "workers did not start"
                time.sleep(0.2)
        yield urls
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=20)


@pytest.mark.slow
async def test_activation_reaches_every_worker_without_restart(
    client: httpx.AsyncClient, two_workers: list[str], second_model: Path
) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    second = await register_dir(
        services.models, second_model, services.runtime.state.taxonomy, activate=False
    )
    a, b = two_workers
    headers = {"Authorization": "Bearer ops-key"}
    async with httpx.AsyncClient(headers=headers, timeout=30) as http:
        r = await http.post(f"{a}/v1/intents/models/{second.version}/activate")
        assert r.status_code == 200, r.text
        started = time.monotonic()
        while True:
            r = await http.post(f"{b}/v1/recommend", json={"user_id": "w", "query": "tv"})
            if r.json()["model_version"] == second.version:
                break
            # the reload period is 0.5 s; allow for a busy machine loading the model file
            assert time.monotonic() - started < 20, "worker B never switched"
            await asyncio.sleep(0.1)
