"""CPU per decision on the demo catalog and on a grown one (in-process micro-benchmark).

Usage (from the repository root)::

    PYTHONPATH=. .venv/bin/python benchmarks/decision_scale.py --size 100000

Starts the demo app in this process on an embedded Redis, grows a second catalog the way
``waypoint bench --catalog-size`` does (:mod:`waypoint.bench.synth`), and times
``Recommender.recommend`` (or ``--stage rank``: everything before arbitration) for the
bench's request mix (:data:`waypoint.bench.wrk.QUERIES`, its channels, languages and
countries, 1,000 users, the long-tail word appended per request), alternating the two
catalogs every ``--chunk`` requests (which goes first alternates too) so a busy machine
slows both alike. Each catalog gets its own long-tail words and users (the same queries
otherwise), so neither is served from the intent and text caches the other one filled nor
reads the histories the other one's decisions wrote. The clock is the
process's CPU time, so Redis and other processes do not count. Prints the mean and
percentiles in microseconds per catalog and the ratio demo / grown (1.0: no growth).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from app.inprocess import serve_in_process
from demo.app import create_app
from domain.actions import Action
from recommender.catalog import CatalogIndex
from recommender.schemas import RecommendRequest
from service.redis_server import EmbeddedRedis
from service.settings import Settings
from waypoint.bench.synth import grown_catalog
from waypoint.bench.wrk import CHANNELS, COUNTRIES, LANGUAGES, QUERIES, SYLLABLES, salt_word

_SYLLABLES = SYLLABLES


def tail_word(n: int, salt: int = 0) -> str:
    """The made-up word the wrk script with ``salt`` appends to a long-tail query (thread 1)."""
    word = salt_word(salt) + _SYLLABLES[1]
    while True:
        word += _SYLLABLES[n % len(_SYLLABLES)]
        n //= len(_SYLLABLES)
        if n == 0:
            return word


def request_mix(count: int, seed: int, salt: int = 0) -> list[RecommendRequest]:
    """``count`` requests of the bench's mix; the long-tail words and the users' ids depend
    on ``salt``, nothing else does."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        query, long_tail = rng.choice(QUERIES)
        body: dict[str, Any] = {
            "user_id": f"bench-{salt_word(salt)}-{rng.randrange(1000)}",
            "context": {
                "channel": rng.choice(CHANNELS),
                "language": rng.choice(LANGUAGES),
                "location": {"country": rng.choice(COUNTRIES)},
            },
            "limit": 5,
        }
        if query is not None:
            body["query"] = f"{query} {tail_word(n, salt)}" if long_tail else query
        out.append(RecommendRequest.model_validate(body))
    return out


async def _timed(rec: Any, state: Any, reqs: list[RecommendRequest], stage: str) -> list[float]:
    out = []
    for req in reqs:
        start = time.process_time()
        if stage == "rank":
            await rec.rank(req, state)
        else:
            await rec.recommend(req, state)
        out.append(time.process_time() - start)
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    redis = EmbeddedRedis.start(Path(tempfile.mkdtemp()))
    try:
        settings = Settings(
            redis_url=redis.url,
            demo=True,
            demo_key="bench",
            intent_model_dir=args.model_dir,
            reload_interval_s=3600,
            redis_timeout_s=2.0,
        )
        app = create_app(settings)
        async with serve_in_process(app, key="bench"):
            services = app.state.services
            rec = services.recommender
            demo = services.runtime.state
            actions = [Action.model_validate(a) for a in grown_catalog(args.size)]
            grown = CatalogIndex.build(actions, demo.catalog.version + 1)
            states = {"demo": demo, "grown": dataclasses.replace(demo, catalog=grown)}
            gc.collect()
            gc.freeze()  # as the service does with a new catalog
            # the same requests, but long-tail words of each catalog's own (salts 1 and 2)
            reqs = {k: request_mix(args.requests, seed=1, salt=i + 1) for i, k in enumerate(states)}
            warm = request_mix(50, seed=7)
            times: dict[str, list[float]] = {k: [] for k in states}
            names = list(states)
            for step, lo in enumerate(range(0, args.requests, args.chunk)):
                for name in names if step % 2 == 0 else names[::-1]:
                    state = states[name]
                    await _timed(rec, state, warm, args.stage)  # a catalog's first calls
                    chunk = reqs[name][lo : lo + args.chunk]
                    times[name] += await _timed(rec, state, chunk, args.stage)
    finally:
        redis.stop()
    out: dict[str, Any] = {"stage": args.stage, "requests": args.requests, "size": len(grown)}
    for name, seconds in times.items():
        us = np.asarray(seconds) * 1e6
        out[name] = {
            "mean_us": round(float(us.mean())),
            **{f"p{q}_us": round(float(np.percentile(us, q))) for q in (50, 99)},
        }
    out["ratio"] = round(out["demo"]["mean_us"] / out["grown"]["mean_us"], 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="grown catalog's actions")
    parser.add_argument("--requests", type=int, default=2000, help="timed requests per catalog")
    parser.add_argument("--chunk", type=int, default=200, help="requests before switching")
    parser.add_argument("--stage", choices=["recommend", "rank"], default="recommend")
    parser.add_argument(
        "--model-dir", type=Path, default=None, help="a saved intent model (else trained)"
    )
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
