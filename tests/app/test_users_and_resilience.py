"""Erasure, batch limits, and answers that degrade instead of failing when Redis is down."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from demo.app import create_app
from domain.keys import UserKeys
from service.redis_server import EmbeddedRedis
from service.settings import Settings
from tests.conftest import app_client


async def test_delete_user_leaves_no_key(client: httpx.AsyncClient, redis: Any) -> None:
    events = [
        {
            "event_id": "d1",
            "user_id": "gone",
            "type": "view",
            "item_id": "bk-0001",
            "context": {"channel": "web", "language": "en"},
        },
        {"event_id": "d2", "user_id": "gone", "type": "purchase", "item_id": "bk-0002"},
        {"event_id": "d3", "user_id": "gone", "type": "search", "query": "crime novel"},
    ]
    assert (await client.post("/v1/events", json={"events": events})).json()["accepted"] == 3
    await client.put("/v1/users/gone/profile", json={"segments": ["student"]})
    await client.post("/v1/recommend", json={"user_id": "gone", "query": "a dishwasher"})
    pattern = UserKeys("wp", "gone").pattern
    assert [k async for k in redis.scan_iter(match=pattern)], "the user had keys"

    r = await client.delete("/v1/users/gone")
    assert r.status_code == 204
    assert [k async for k in redis.scan_iter(match=pattern)] == []
    ctx = (await client.get("/v1/users/gone/context")).json()
    assert ctx["known"] is False


async def test_oversized_batch_is_refused_whole(client: httpx.AsyncClient) -> None:
    events = [
        {"event_id": f"b{i}", "user_id": "big", "type": "view", "item_id": "bk-0001"}
        for i in range(1001)
    ]
    r = await client.post("/v1/events", json={"events": events})
    assert r.status_code == 413
    assert "at most 1000 events" in r.json()["detail"]
    ctx = (await client.get("/v1/users/big/context")).json()
    assert ctx["recent_events"] == []


async def test_event_validation_points_at_the_bad_event(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/events",
        json={
            "events": [
                {"event_id": "ok", "user_id": "v", "type": "view", "item_id": "bk-0001"},
                {"event_id": "bad", "user_id": "v", "type": "purchase"},
            ]
        },
    )
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail[0]["loc"][:3] == ["body", "events", "1"]
    assert "item_id is required for 'purchase' events" in detail[0]["msg"]


async def test_scopes_are_enforced(settings: Settings, redis: Any) -> None:
    from service.settings import ApiKey, hash_key

    keys = [ApiKey(id="web-frontend", sha256=hash_key("web-secret"), scopes=["recommend"])]
    app = create_app(settings.model_copy(update={"api_keys": keys}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", headers={"Authorization": "Bearer web-secret"}
        ) as c:
            assert (await c.post("/v1/recommend", json={"user_id": "u"})).status_code == 200
            r = await c.delete("/v1/users/u")
            assert r.status_code == 403
            assert r.json()["detail"] == (
                "API key 'web-frontend' lacks the 'admin' scope needed here (it has: recommend)"
            )


async def test_store_outage_degrades_answers_and_refuses_events(
    settings: Settings, tmp_path: Path
) -> None:
    server = EmbeddedRedis.start(tmp_path / "redis")
    own_store = settings.model_copy(update={"redis_url": server.url, "redis_timeout_s": 0.2})
    try:
        async with app_client(own_store) as c:
            healthy = (
                await c.post("/v1/recommend", json={"user_id": "anna", "query": "crime novel"})
            ).json()
            assert healthy["degraded"] is False

            server.stop()  # the store goes away while the service runs

            r = await c.post("/v1/recommend", json={"user_id": "anna", "query": "crime novel"})
            assert r.status_code == 200
            data = r.json()
            assert data["degraded"] is True and data["degraded_reasons"]
            assert data["intent"]["name"] == "buy_book"
            assert data["actions"] and all(
                a["category"].startswith("books") for a in data["actions"]
            )

            r = await c.post(
                "/v1/events",
                json={
                    "events": [
                        {
                            "event_id": "x",
                            "user_id": "anna",
                            "type": "view",
                            "item_id": "bk-0001",
                        }
                    ]
                },
            )
            assert r.status_code == 503
            assert "nothing from this batch was stored" in r.json()["detail"]
            assert (await c.get("/readyz")).status_code == 503
            assert (await c.get("/healthz")).status_code == 200
    finally:
        server.stop()


async def test_openapi_and_metrics(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert "/v1/recommend" in spec["paths"] and "/v1/events" in spec["paths"]
    await client.post("/v1/recommend", json={"user_id": "m"})
    metrics = (await client.get("/metrics")).text
    assert 'waypoint_request_seconds_count{method="POST",route="/v1/recommend"' in metrics
