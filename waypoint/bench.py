"""``waypoint bench``: load benchmark of ``POST /v1/recommend``.

Without ``--url`` it starts ``waypoint serve --demo`` on a free local port (embedded
Redis unless REDIS_URL is set), waits until it is ready, measures, and stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx

QUERIES = [
    None,
    "I want a new crime novel",
    "my dishwasher broke, I need a new one",
    "I want to cancel my contract",
    "looking for a new phone",
    "ich suche einen neuen Laptop",
    "je cherche un roman policier",
    "what's the weather tomorrow",
    "my internet is not working",
]
CHANNELS = ["web", "app", "contact_center"]
LANGUAGES = ["en", "en", "de", "fr"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _body(rng: random.Random, users: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "user_id": f"bench-{rng.randrange(users)}",
        "context": {
            "channel": rng.choice(CHANNELS),
            "language": rng.choice(LANGUAGES),
            "location": {"country": rng.choice(["DE", "FR", "GB", "AT"])},
        },
        "limit": 5,
    }
    query = rng.choice(QUERIES)
    if query:
        body["query"] = query
    return body


async def _run(
    url: str, key: str, requests: int, concurrency: int, users: int, seed: int
) -> dict[str, Any]:
    rng = random.Random(seed)
    bodies = [_body(rng, users) for _ in range(requests)]
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=url, limits=limits, timeout=10.0, headers={"Authorization": f"Bearer {key}"}
    ) as client:
        for b in bodies[: min(50, len(bodies))]:  # warm-up, not measured
            await client.post("/v1/recommend", json=b)

        async def worker() -> None:
            nonlocal errors
            while True:
                try:
                    body = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t0 = time.perf_counter()
                r = await client.post("/v1/recommend", json=body)
                latencies.append((time.perf_counter() - t0) * 1000)
                if r.status_code != 200:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "requests": len(latencies),
        "concurrency": concurrency,
        "errors": errors,
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(q[49], 2),
        "p95_ms": round(q[94], 2),
        "p99_ms": round(q[98], 2),
        "max_ms": round(max(latencies), 2),
    }


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited during start-up")
        try:
            if httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError("the server did not become ready in time")


def run_bench(args: argparse.Namespace) -> int:
    url, proc = args.url, None
    key = args.key or os.environ.get("WAYPOINT_DEMO_KEY", "demo")
    if url is None:
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "waypoint.cli",
                "serve",
                "--demo",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
                "--log-level",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
        )
    try:
        if proc is not None:
            _wait_ready(url, proc)
        result = asyncio.run(_run(url, key, args.requests, args.concurrency, args.users, args.seed))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
    result["target"] = url if args.url else f"embedded demo server, {args.workers} worker(s)"
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>12}: {v}")
    return 0 if result["errors"] == 0 else 1


def register(sub: Any) -> None:
    p = sub.add_parser(
        "bench",
        help="load benchmark of POST /v1/recommend",
        description="Send concurrent /v1/recommend requests and print latency percentiles "
        "and throughput. Without --url, starts a demo server on a free local port.",
    )
    p.add_argument("--url", default=None, help="base URL of a running server")
    p.add_argument("--key", default=None, help="API key (default: $WAYPOINT_DEMO_KEY or 'demo')")
    p.add_argument("--requests", type=int, default=2000, help="measured requests (default 2000)")
    p.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    p.add_argument("--users", type=int, default=500, help="distinct user ids (default 500)")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server workers when starting a demo server (default 1)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed for the request mix")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_bench)
