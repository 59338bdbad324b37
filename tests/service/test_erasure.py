"""Erasure leaves nothing in Redis that names the user, holds their words, or links a record
back to them: every key and stream is read after ``DELETE /v1/users/{id}``."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx

from context.store import PSEUDONYM_FIELD
from domain.keys import UserKeys
from intent.learned import user_tag

USER = "erase-me-7f3a"
TEXT = "zebra striped umbrella 7731"


async def dump(redis: Any) -> dict[bytes, bytes]:
    """Every key (SCAN) with everything it holds, read by type, as one byte string."""
    out: dict[bytes, bytes] = {}
    async for key in redis.scan_iter(count=1000):
        kind = (await redis.type(key)).decode()
        if kind == "string":
            value: Any = await redis.get(key)
        elif kind == "hash":
            value = await redis.hgetall(key)
        elif kind == "list":
            value = await redis.lrange(key, 0, -1)
        elif kind == "set":
            value = await redis.smembers(key)
        elif kind == "zset":
            value = await redis.zrange(key, 0, -1, withscores=True)
        elif kind == "stream":
            value = await redis.xrange(key, "-", "+")
        else:
            raise AssertionError(f"{key!r} has an unexpected type {kind}")
        out[key] = repr(value).encode()
    return out


def holders(everything: dict[bytes, bytes], needle: str) -> list[bytes]:
    n = needle.encode()
    return [k for k, v in everything.items() if n in k or n in v]


async def test_erasure_leaves_nothing_linkable(client: httpx.AsyncClient, redis: Any) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    spec = {
        "id": "erasure-exp",
        "description": "d",
        "hypothesis": "h",
        "primary_metric": "click",
        "variants": [{"id": "a", "weight": 0.5}, {"id": "b", "weight": 0.5}],
    }
    assert (await client.post("/v1/experiments", json=spec)).status_code == 201
    assert (await client.post("/v1/experiments/erasure-exp/start")).status_code == 200
    await services.runtime.refresh()

    profile = {"segments": ["gold"], "attributes": {"country": "DE"}}
    assert (await client.put(f"/v1/users/{USER}/profile", json=profile)).status_code == 200
    r = await client.post(
        "/v1/recommend", json={"user_id": USER, "query": TEXT, "context": {"channel": "web"}}
    )
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["experiment"] is not None  # exposures go to the experiment log
    request_id = answer["request_id"]
    item = answer["actions"][0]["id"]
    events = [
        {"event_id": "e1", "user_id": USER, "type": "view", "item_id": item},
        {"event_id": "e2", "user_id": USER, "type": "click", "item_id": item,
         "request_id": request_id},
        {"event_id": "e3", "user_id": USER, "type": "purchase", "item_id": item,
         "request_id": request_id, "value": 12.5},
        {"event_id": "e4", "user_id": USER, "type": "clarify_answer", "intent": "buy_books",
         "query": TEXT},
    ]  # fmt: skip
    r = await client.post("/v1/events", json={"events": events})
    assert r.status_code == 200 and r.json()["accepted"] == 4, r.text
    # someone else's clarify answer stays
    other = {"event_id": "o1", "user_id": "stays", "type": "clarify_answer",
             "intent": "buy_books", "query": "crime novels please"}  # fmt: skip
    assert (await client.post("/v1/events", json={"events": [other]})).status_code == 200

    pseudonym = (await redis.hget(UserKeys("wp", USER).experiments, PSEUDONYM_FIELD)).decode()
    legacy = hashlib.blake2s(USER.encode(), digest_size=8, person=b"wp-dlog").hexdigest()
    before = await dump(redis)
    assert holders(before, USER) and holders(before, TEXT) and holders(before, user_tag(USER))
    assert holders(before, pseudonym)

    assert (await client.delete(f"/v1/users/{USER}")).status_code == 204

    after = await dump(redis)
    for needle in (USER, TEXT, legacy, user_tag(USER)):
        assert holders(after, needle) == [], needle
    # the logs keep their records (statistics stay whole) under the pseudonym, which now
    # appears in no key that could map it back: only in the log streams themselves
    streams = {k for k in after if (await redis.type(k)) == b"stream"}
    assert holders(after, pseudonym)
    assert set(holders(after, pseudonym)) <= streams
    decisions = [json.loads(f[b"d"]) for _, f in await redis.xrange("wp:decisions", "-", "+")]
    mine = [d for d in decisions if d.get("request_id") == request_id and d["type"] == "decision"]
    assert mine and mine[0]["user"] == pseudonym
    # the other user's learned text is still there, and the export never shows the tags
    learned = [json.loads(x) async for x in services.learned.iter_jsonl()]
    assert learned == [{"text": "crime novels please", "intent": "buy_books"}]


async def test_erasing_an_unknown_user_is_a_204(client: httpx.AsyncClient) -> None:
    assert (await client.delete("/v1/users/nobody-here")).status_code == 204
