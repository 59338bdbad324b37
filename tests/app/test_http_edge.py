"""The HTTP edge: the key before the body, body caps, strict JSON, honest statuses."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from app.body import MIB


def _event(i: int, **extra: Any) -> dict[str, Any]:
    return {"event_id": f"e-{i}", "user_id": "u1", "type": "view", "item_id": "x", **extra}


class _Counting(httpx.AsyncByteStream):
    """A chunked body that counts how much of it the server pulled."""

    def __init__(self, chunk: bytes, chunks: int) -> None:
        self.chunk, self.chunks, self.sent = chunk, chunks, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            self.sent += len(self.chunk)
            yield self.chunk


async def test_a_body_without_a_key_is_never_read(client: httpx.AsyncClient) -> None:
    stream = _Counting(b"x" * MIB, 200)  # 200 MiB, chunked, no key
    r = await client.post(
        "/v1/events",
        content=stream,
        headers={"Authorization": "", "Content-Type": "application/json"},
    )
    assert r.status_code == 401
    assert stream.sent <= MIB  # at most the first chunk the transport pulled eagerly
    r = await client.post(
        "/v1/events",
        content=b"{}",
        headers={"Authorization": "Bearer wrong", "Content-Type": "application/json"},
    )
    assert r.status_code == 401 and r.json()["detail"] == "unknown API key"


async def test_an_oversized_body_is_refused_before_it_is_read(client: httpx.AsyncClient) -> None:
    # announced by Content-Length: refused without reading
    big = b'{"user_id": "' + b"u" * (2 * MIB) + b'"}'
    r = await client.post(
        "/v1/recommend", content=big, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert r.json()["error"] == "PayloadTooLarge" and "1,048,576 bytes" in r.json()["detail"]
    # chunked: counted while streaming, refused as soon as the cap is passed
    stream = _Counting(b" " * (256 * 1024), 400)  # 100 MiB
    r = await client.post(
        "/v1/recommend", content=stream, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert stream.sent <= 2 * MIB


async def test_too_many_events_are_refused_before_any_is_validated(
    client: httpx.AsyncClient,
) -> None:
    # 1,001 events, each invalid: the count is what gets reported, not 1,001 field errors
    events = [{"event_id": f"e{i}", "type": "bogus"} for i in range(1001)]
    r = await client.post("/v1/events", json={"events": events})
    assert r.status_code == 413
    assert r.json()["detail"] == "a batch holds at most 1000 events (got 1001)"


async def test_non_finite_numbers_are_refused_naming_the_field(
    client: httpx.AsyncClient,
) -> None:
    item = {"id": "inf-item", "kind": "offer", "title": {"en": "x"}, "category": "a"}
    for raw in ("Infinity", "-Infinity", "NaN", "1e999"):
        body = json.dumps({"items": [item]})[:-3] + f', "value": {raw}}}]}}'
        r = await client.put(
            "/v1/catalog/items", content=body, headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 422, (raw, r.text)
        (problem,) = r.json()["detail"]
        assert problem["field"] == "items.0.value" and "finite" in problem["msg"]
    # nothing was stored, and the catalog still takes writes
    assert (await client.get("/v1/catalog/items/inf-item")).status_code == 404
    r = await client.put("/v1/catalog/items", json={"items": [{**item, "value": 5}]})
    assert r.status_code == 200
    body = '{"events": [' + json.dumps(_event(1))[:-1] + ', "value": Infinity}]}'
    r = await client.post("/v1/events", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "events.0.value"
    body = '{"attributes": {"score": NaN}}'
    r = await client.put(
        "/v1/users/u1/profile", content=body, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "attributes.score"


async def test_money_is_bounded_so_sums_cannot_overflow(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/events", json={"events": [_event(2, value=1e308)]})
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "events.0.value"
    r = await client.post("/v1/events", json={"events": [_event(3, value=1e12)]})
    assert r.status_code == 200


async def test_json_is_strict(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/recommend", content=b'{"user_id": ', headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422
    (problem,) = r.json()["detail"]
    assert problem["loc"] == ["body"] and problem["field"] == "body"
    r = await client.post(
        "/v1/recommend", content=b"user_id=u1", headers={"Content-Type": "text/plain"}
    )
    assert r.status_code == 415 and r.json()["error"] == "UnsupportedMediaType"
    r = await client.post("/v1/recommend", content=b'{"user_id": "u1"}', headers={})
    assert r.status_code == 415
    r = await client.post("/v1/recommend", json={"user_id": "u1", "limit": True})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "limit"


async def test_event_times_are_bounded(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/events", json={"events": [_event(4, ts="1970-01-01T00:00:00Z")]})
    assert r.status_code == 422 and "after 2000-01-01" in r.text


async def test_full_64_bit_seed_is_accepted(client: httpx.AsyncClient) -> None:
    spec = {
        "id": "seeded",
        "primary_metric": "click",
        "seed": 2**64 - 1,
        "variants": [{"id": "a", "weight": 0.5}, {"id": "b", "weight": 0.5}],
    }
    r = await client.post("/v1/experiments", json=spec)
    assert r.status_code == 201 and r.json()["seed"] == 2**64 - 1
    r = await client.post("/v1/experiments", json={**spec, "id": "too-big", "seed": 2**64})
    assert r.status_code == 422


async def test_405_lists_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    r = await client.patch("/v1/catalog/items/x")
    assert r.status_code == 405 and r.headers["allow"] == "DELETE, GET"
    r = await client.post("/v1/experiments/x/results")
    assert r.status_code == 405 and r.headers["allow"] == "GET"


async def test_the_document_declares_errors_and_metrics_as_text(
    client: httpx.AsyncClient,
) -> None:
    doc = (await client.get("/openapi.json")).json()
    events = doc["paths"]["/v1/events"]["post"]["responses"]
    assert {"401", "403", "413", "415", "422", "503"} <= set(events)
    assert events["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
    metrics = doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(metrics) == ["text/plain"]
