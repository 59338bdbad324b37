"""Runs the probe suite against the real app, in process, on a real Redis server.

For every probe the same query is asked

1. for a fresh user (no history),
2. for a copy of a demo customer with history (profile and events copied under a new
   user id, so no probe sees another probe's impressions),

then a burst of other traffic (``burst`` decisions of other users, no feedback) runs, and
every fresh user asks again: the top 3 before and after give the stability figure.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from demo.seed import data_dir, demo_taxonomy
from evaluation.probes import (
    TARGETS,
    Outcome,
    Probe,
    false_claims,
    load_probes,
    metrics,
    misses,
    stability,
)
from intent.taxonomy import Taxonomy
from recommender.catalog import load_actions_file
from recommender.text import action_tokens

#: answers per request: the context-violation figure looks at the top 10
TOP_K = 10
#: requests in flight at once (the app and Redis interleave them)
CONCURRENCY = 8


@dataclass(frozen=True)
class World:
    """What the checks need to know about the demo world the app serves."""

    taxonomy: Taxonomy
    item_tokens: dict[str, frozenset[str]]
    customers: list[dict[str, Any]]

    @classmethod
    def demo(cls) -> World:
        directory = data_dir()
        actions = load_actions_file(directory / "catalog.jsonl")
        customers = [
            json.loads(line)
            for line in (directory / "customers.jsonl").read_text("utf-8").splitlines()
            if line.strip()
        ]
        return cls(
            taxonomy=demo_taxonomy(),
            item_tokens={a.id: action_tokens(a) for a in actions},
            customers=customers,
        )


def _body(probe: Probe, user_id: str, voice: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "user_id": user_id,
        "query": probe.query,
        "context": {"channel": "web", "language": probe.language},
        "limit": TOP_K,
    }
    if voice != "customer":  # the default: left out, so older servers answer too
        body["voice"] = voice
    return body


async def _ask(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post("/v1/recommend", json=body)
    if r.status_code != 200:
        raise RuntimeError(f"/v1/recommend answered {r.status_code}: {r.text[:300]}")
    answer: dict[str, Any] = r.json()
    return answer


async def _gather(jobs: Sequence[Any]) -> list[Any]:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(job: Any) -> Any:
        async with gate:
            return await job

    return list(await asyncio.gather(*(one(j) for j in jobs)))


async def _copy_customer(
    client: httpx.AsyncClient, customer: dict[str, Any], user_id: str, tag: str
) -> None:
    r = await client.put(f"/v1/users/{user_id}/profile", json=customer["profile"])
    r.raise_for_status()
    events = [
        {**e, "event_id": f"{tag}-{user_id}-{n}", "user_id": user_id}
        for n, e in enumerate(customer["events"])
    ]
    r = await client.post("/v1/events", json={"events": events})
    r.raise_for_status()


async def run_suite(
    client: httpx.AsyncClient,
    probes: Sequence[Probe],
    *,
    world: World | None = None,
    burst: int = 800,
    seed: int = 0,
    voice: str = "customer",
    details: str | None = None,
) -> dict[str, Any]:
    """Ask every probe (fresh and history users), run the burst, re-ask; the report.
    ``details``: a split whose missed probes (fresh users) the report lists."""
    world = world or World.demo()
    tag = uuid.uuid4().hex[:8]
    started = time.perf_counter()

    def judge(probe: Probe, answer: dict[str, Any]) -> Outcome:
        bad = false_claims(answer, probe, world.taxonomy, world.item_tokens)
        return Outcome(probe=probe, answer=answer, false=bad)

    fresh_ids = [f"pf-{tag}-{i}" for i in range(len(probes))]
    fresh = await _gather(
        [_ask(client, _body(p, u, voice)) for p, u in zip(probes, fresh_ids, strict=True)]
    )
    history_ids = [f"ph-{tag}-{i}" for i in range(len(probes))]
    customers = [world.customers[i % len(world.customers)] for i in range(len(probes))]
    await _gather(
        [_copy_customer(client, c, u, tag) for c, u in zip(customers, history_ids, strict=True)]
    )
    history = await _gather(
        [_ask(client, _body(p, u, voice)) for p, u in zip(probes, history_ids, strict=True)]
    )
    rng = random.Random(seed)
    others = max(1, burst // 4)
    await _gather(
        [
            _ask(client, _body(rng.choice(probes), f"pb-{tag}-{rng.randrange(others)}", voice))
            for _ in range(burst)
        ]
    )
    again = await _gather(
        [_ask(client, _body(p, u, voice)) for p, u in zip(probes, fresh_ids, strict=True)]
    )
    fresh_out = [judge(p, a) for p, a in zip(probes, fresh, strict=True)]
    history_out = [judge(p, a) for p, a in zip(probes, history, strict=True)]
    again_out = [judge(p, a) for p, a in zip(probes, again, strict=True)]
    splits = sorted({p.split for p in probes})
    by_split = {
        name: {
            "fresh": {
                **metrics([o for o in fresh_out if o.probe.split == name], TOP_K),
                **stability(
                    [o for o in fresh_out if o.probe.split == name],
                    [o for o in again_out if o.probe.split == name],
                ),
            },
            "history": metrics([o for o in history_out if o.probe.split == name], TOP_K),
        }
        for name in splits
    }
    return {
        "probes": len(probes),
        "splits": splits,
        "voice": voice,
        "burst": burst,
        "requests": 3 * len(probes) + burst,
        "seconds": round(time.perf_counter() - started, 1),
        "fresh": {**metrics(fresh_out, TOP_K), **stability(fresh_out, again_out)},
        "history": metrics(history_out, TOP_K),
        "by_split": by_split if len(splits) > 1 else {},
        "targets": TARGETS,
        **(
            {"misses": misses([o for o in fresh_out if o.probe.split == details], TOP_K)}
            if details
            else {}
        ),
    }


@asynccontextmanager
async def demo_app(redis_url: str | None) -> AsyncIterator[httpx.AsyncClient]:
    """The demo app (lifespan run) on ``redis_url``, else on an embedded Redis server,
    with a client signed in with a fresh demo key."""
    from app.inprocess import serve_in_process
    from demo.app import create_app
    from service.redis_server import EmbeddedRedis
    from service.settings import Settings

    key = secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory(prefix="waypoint-probes-") as tmp:
        server = None if redis_url else EmbeddedRedis.start(Path(tmp))
        try:
            url = redis_url or (server.url if server else "")
            settings = Settings(redis_url=url, demo=True, demo_key=key)
            app = create_app(settings)
            async with serve_in_process(
                app, key=key, base_url="http://waypoint.probes", timeout_s=60.0
            ) as client:
                yield client
        finally:
            if server is not None:
                server.stop()


async def evaluate(
    *,
    split: str,
    burst: int,
    seed: int,
    voice: str,
    redis_url: str | None,
    details: str | None = None,
) -> dict[str, Any]:
    probes = load_probes(split=split)
    async with demo_app(redis_url) as client:
        return await run_suite(client, probes, burst=burst, seed=seed, voice=voice, details=details)
