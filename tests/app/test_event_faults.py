"""Fault test: a real redis-server is paused, resumed, killed and restarted while events and
recommendations run against the app (in-process). Nothing acknowledged may be lost,
nothing answered as not stored may appear, and /v1/recommend never answers 5xx.

The server runs with ``appendfsync always``, so what it acknowledged survives the kill.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis as sync_redis

from demo.app import create_app
from demo.seed import data_dir
from domain.keys import UserKeys
from service.settings import Settings
from tests.redis_process import RedisProcess, needs_redis_server, running_redis

USERS = [f"fault-{n}" for n in range(12)]
pytestmark = [pytest.mark.slow, needs_redis_server]


@pytest.fixture
def redis_process(tmp_path: Path) -> Iterator[RedisProcess]:
    with running_redis(tmp_path) as server:
        yield server


@dataclass
class Ledger:
    """What the app answered about every event and recommendation."""

    stored: set[str] = field(default_factory=set)
    not_stored: set[str] = field(default_factory=set)
    unknown: set[str] = field(default_factory=set)
    #: (request start, ids) of batches, for the deadline check
    sent: list[tuple[float, list[str]]] = field(default_factory=list)
    event_codes: list[int] = field(default_factory=list)
    recommend_codes: list[int] = field(default_factory=list)
    degraded: int = 0


def _catalog() -> list[dict[str, Any]]:
    with (data_dir() / "catalog.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in itertools.islice(fh, 40)]


async def _send_events(c: httpx.AsyncClient, ledger: Ledger, items: list[str], stop: Any) -> None:
    for n in itertools.count():
        if stop.is_set():
            return
        events = [
            {
                "event_id": f"b{n}-e{i}",
                "user_id": USERS[(n + i) % len(USERS)],
                "type": ("view", "click", "add_to_cart", "purchase")[i % 4],
                "item_id": items[(n * 7 + i) % len(items)],
            }
            for i in range(12)
        ]
        events.append(dict(events[0]))  # a duplicate inside the batch
        ids = [e["event_id"] for e in events]
        started = time.time()
        r = await c.post("/v1/events", json={"events": events})
        ledger.sent.append((started, ids))
        ledger.event_codes.append(r.status_code)
        if r.status_code == 503:
            ledger.not_stored.update(ids)
        else:
            assert r.status_code in (200, 207), r.text
            for result in r.json()["results"]:
                status, event_id = result["status"], result["event_id"]
                if status in ("accepted", "duplicate"):
                    ledger.stored.add(event_id)
                elif status == "not_stored":
                    ledger.not_stored.add(event_id)
                else:
                    ledger.unknown.add(event_id)
        await asyncio.sleep(0.05)


async def _recommend(c: httpx.AsyncClient, ledger: Ledger, stop: Any) -> None:
    for n in itertools.count():
        if stop.is_set():
            return
        r = await c.post("/v1/recommend", json={"user_id": USERS[n % len(USERS)], "limit": 3})
        ledger.recommend_codes.append(r.status_code)
        if r.status_code == 200 and r.json()["degraded"]:
            ledger.degraded += 1
        await asyncio.sleep(0.05)


async def test_pause_kill_restart_loses_nothing_acknowledged(
    redis_process: RedisProcess,
) -> None:
    settings = Settings(
        redis_url=f"redis://127.0.0.1:{redis_process.port}/0",
        auth_disabled=True,
        reload_interval_s=0.5,
        redis_timeout_s=0.25,
        event_write_timeout_s=0.5,
        clock_skew_s=0.05,
    )
    app = create_app(settings)
    ledger = Ledger()
    stop = asyncio.Event()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=30) as c:
            catalog = _catalog()
            assert (await c.put("/v1/catalog/items", json={"items": catalog})).status_code == 200
            items = [a["id"] for a in catalog]
            load = [
                asyncio.create_task(_send_events(c, ledger, items, stop)),
                asyncio.create_task(_recommend(c, ledger, stop)),
                asyncio.create_task(_recommend(c, ledger, stop)),
            ]
            await asyncio.sleep(1.5)
            paused_at = time.time()
            redis_process.signal(signal.SIGSTOP)
            await asyncio.sleep(5)
            resumed_at = time.time()
            redis_process.signal(signal.SIGCONT)
            await asyncio.sleep(1.5)
            redis_process.kill()
            await asyncio.sleep(1.0)
            redis_process.start()
            await asyncio.sleep(2.5)
            # recovery: a batch stored in full again (given up to 15 s more on a busy
            # machine, where reconnecting under load can take longer than the pause above)
            for _ in range(150):
                if ledger.event_codes[-1:] == [200]:
                    break
                await asyncio.sleep(0.1)
            stop.set()
            await asyncio.gather(*load)

    # what Redis holds now, after the faults
    check = sync_redis.Redis(port=redis_process.port, socket_timeout=5)
    seen: set[str] = set()
    histories: list[str] = []
    for user in USERS:
        keys = UserKeys("wp", user)
        seen.update(m.decode() for m in check.zrange(keys.seen_events, 0, -1))
        histories += [json.loads(h)["event_id"] for h in check.lrange(keys.history, 0, -1)]
    check.close()

    assert all(code < 500 for code in ledger.recommend_codes), ledger.recommend_codes
    assert ledger.degraded > 0, "the faults never reached the recommend path"
    assert set(ledger.event_codes) <= {200, 207, 503}
    assert any(code != 200 for code in ledger.event_codes), "the faults never hit a batch"
    assert ledger.event_codes[-1] == 200, f"the service did not recover: {ledger.event_codes[-8:]}"
    # nothing acknowledged is lost; nothing answered as not stored was stored
    assert ledger.stored <= seen, sorted(ledger.stored - seen)[:10]
    assert not (ledger.not_stored & seen), sorted(ledger.not_stored & seen)[:10]
    # the deadline: a batch sent into the paused server whose deadline passed before the
    # server resumed cannot have been applied when it did
    late = {
        event_id
        for started, ids in ledger.sent
        if paused_at + 0.05 < started
        and started + settings.event_write_timeout_s + settings.clock_skew_s < resumed_at
        for event_id in ids
    }
    assert late, "no batch was sent during the pause"
    assert not (late & seen), sorted(late & seen)[:10]
    # exactly once: every stored event is in its user's history once
    assert len(histories) == len(set(histories))
