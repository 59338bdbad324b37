"""CPU per ``POST /v1/recommend`` through the whole app, in-process (framework included).

Usage (from the repository root)::

    PYTHONPATH=. .venv/bin/python benchmarks/recommend_asgi.py --size 100000

Starts the demo app in this process on an embedded Redis and calls it as an ASGI app
directly (no socket, no HTTP client: the scope, the body and the send callable are built
here once per request), so the CPU measured is the server's own per request: middleware,
routing, the route guard, authentication, request validation, the decision and the
response. The requests are the bench's mix (:func:`benchmarks.decision_scale.request_mix`).
With ``--size N`` a grown catalog of N actions (:mod:`waypoint.bench.synth`) is swapped in
as the live state's catalog every other ``--chunk`` requests, so both catalogs are timed
alike on a busy machine. It runs on uvloop when installed, as uvicorn does. The clock is
the process's CPU time. Prints the mean and the
percentiles in microseconds per catalog (``demo`` and, with ``--size``, ``grown``).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from decision_scale import request_mix

from app.inprocess import serve_in_process
from demo.app import create_app
from domain.actions import Action
from recommender.catalog import CatalogIndex
from service.redis_server import EmbeddedRedis
from service.settings import Settings
from waypoint.bench.synth import grown_catalog

KEY = "bench"


def bodies(count: int, seed: int) -> list[bytes]:
    return [r.model_dump_json(exclude_unset=True).encode() for r in request_mix(count, seed=seed)]


async def call(app: Any, body: bytes) -> int:
    """One request through the ASGI app; its status."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/recommend",
        "raw_path": b"/v1/recommend",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"waypoint.local"),
            (b"authorization", f"Bearer {KEY}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def _timed(app: Any, reqs: list[bytes]) -> list[float]:
    out = []
    for body in reqs:
        start = time.process_time()
        status = await call(app, body)
        out.append(time.process_time() - start)
        if status != 200:
            raise RuntimeError(f"status {status}")
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    redis = EmbeddedRedis.start(Path(tempfile.mkdtemp()))
    try:
        settings = Settings(
            redis_url=redis.url,
            demo=True,
            demo_key=KEY,
            intent_model_dir=args.model_dir,
            reload_interval_s=3600,
            redis_timeout_s=2.0,
        )
        app = create_app(settings)
        async with serve_in_process(app, key=KEY):
            runtime = app.state.services.runtime
            demo = runtime.state
            states = {"demo": demo}
            if args.size:
                actions = [Action.model_validate(a) for a in grown_catalog(args.size)]
                grown = CatalogIndex.build(actions, demo.catalog.version + 1)
                states["grown"] = dataclasses.replace(demo, catalog=grown)
            gc.collect()
            gc.freeze()  # as the service does with a new catalog
            reqs = bodies(args.requests, seed=1)
            warm = bodies(50, seed=7)
            times: dict[str, list[float]] = {k: [] for k in states}
            for lo in range(0, len(reqs), args.chunk):
                for name, state in states.items():
                    runtime.state = state
                    await _timed(app, warm)  # a catalog's first calls
                    times[name] += await _timed(app, reqs[lo : lo + args.chunk])
    finally:
        redis.stop()
    out: dict[str, Any] = {"requests": args.requests, "size": args.size}
    for name, seconds in times.items():
        us = np.asarray(seconds) * 1e6
        out[name] = {
            "mean_us": round(float(us.mean())),
            **{f"p{q}_us": round(float(np.percentile(us, q))) for q in (50, 99)},
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=0, help="grown catalog's actions (0: none)")
    parser.add_argument("--requests", type=int, default=2000, help="timed requests per catalog")
    parser.add_argument("--chunk", type=int, default=200, help="requests before switching")
    parser.add_argument(
        "--model-dir", type=Path, default=None, help="a saved intent model (else trained)"
    )
    args = parser.parse_args()
    try:  # the event loop uvicorn serves with, when installed
        import uvloop

        print(json.dumps(uvloop.run(run(args))))
    except ImportError:
        print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
