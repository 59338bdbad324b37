"""Throughput of ``POST /v1/events`` with large batches, against a running server.

The batches come from the synthetic demo interaction log (``waypoint demo events``:
view/click/add_to_cart/purchase/decline/dismiss sessions of many users, in time order,
so one batch holds events of many users), with one event in twenty turned into a
``search`` with a query drawn from the demo utterances (1,627 texts, so queries repeat
as they do in real traffic: the intent prediction cache sees hits and misses). Every run
prefixes the event ids with a fresh run id, so every event is new; ``--duplicates``
re-sends that share of each batch's events (within the batch) to exercise the
idempotency check.

    python benchmarks/events_throughput.py --url http://127.0.0.1:8000 --key demo

prints events/s, batches/s and batch latency percentiles; ``--json`` prints one object.
The numbers depend on the machine and on what else runs on it: compare runs made in one
session, alternating the versions being compared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
import uuid
from typing import Any

import httpx


def make_batches(
    n_batches: int, size: int, *, users: int, seed: int, duplicates: float
) -> list[list[dict[str, Any]]]:
    from demo.events import generate_events
    from demo.seed import data_dir
    from recommender.catalog import load_actions_file

    rng = random.Random(seed)
    with (data_dir() / "utterances.jsonl").open(encoding="utf-8") as fh:
        queries = [json.loads(line)["text"] for line in fh if line.strip()]
    log = generate_events(load_actions_file(data_dir() / "catalog.jsonl"), users, seed=seed)
    run = uuid.uuid4().hex[:8]
    need = n_batches * size
    if len(log) < need:
        raise SystemExit(f"{len(log)} synthetic events < {need} needed: raise --users")
    batches: list[list[dict[str, Any]]] = []
    for b in range(n_batches):
        batch = []
        for event in log[b * size : (b + 1) * size]:
            e = dict(event, event_id=f"{run}-{event['event_id']}")
            if rng.random() < 0.05:
                e.pop("item_id")
                e["type"] = "search"
                e["query"] = rng.choice(queries)
            batch.append(e)
        n_dup = int(len(batch) * duplicates)
        if n_dup:  # same ids again, in place of fresh events: the batch size is kept
            batch[-n_dup:] = rng.sample(batch[:-n_dup], n_dup)
        batches.append(batch)
    return batches


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time used so far by process ``pid`` (Linux), 0 without one."""
    if pid is None:
        return 0.0
    import os

    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run(
    url: str,
    key: str,
    batches: list[list[dict[str, Any]]],
    concurrency: int,
    warmup: int,
    server_pid: int | None = None,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    bodies = [json.dumps({"events": b}).encode() for b in batches]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    stored = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=url, limits=limits, timeout=60.0, headers=headers
    ) as client:
        for body in bodies[:warmup]:  # not measured
            r = await client.post("/v1/events", content=body)
            r.raise_for_status()
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        for body in bodies[warmup:]:
            queue.put_nowait(body)

        async def worker() -> None:
            nonlocal stored
            while not queue.empty():
                body = queue.get_nowait()
                t0 = time.perf_counter()
                r = await client.post("/v1/events", content=body)
                latencies.append((time.perf_counter() - t0) * 1000)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                if r.status_code == 200:
                    data = r.json()
                    stored += data["accepted"] + data["duplicates"]

        started, cpu = time.perf_counter(), cpu_seconds(server_pid)
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed, cpu = time.perf_counter() - started, cpu_seconds(server_pid) - cpu
    measured = batches[warmup:]
    events = sum(len(b) for b in measured)
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    result: dict[str, Any] = {
        "batches": len(measured),
        "batch_size": len(measured[0]),
        "concurrency": concurrency,
        "statuses": statuses,
        "events_answered_stored": stored,
        "events_per_s": round(events / elapsed, 1),
        "batches_per_s": round(len(measured) / elapsed, 2),
        "p50_ms": round(q[49], 1),
        "p95_ms": round(q[94], 1),
        "max_ms": round(max(latencies), 1),
    }
    if server_pid is not None:
        # what one worker could do with a core to itself: robust on a busy machine
        result["server_cpu_ms_per_batch"] = round(1000 * cpu / len(measured), 1)
        result["events_per_server_cpu_s"] = round(events / cpu, 1) if cpu else None
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="base URL of a running server")
    p.add_argument("--key", default="demo", help="API key with the events scope (demo)")
    p.add_argument("--batches", type=int, default=60, help="measured batches (60)")
    p.add_argument("--warmup", type=int, default=5, help="batches sent first, unmeasured (5)")
    p.add_argument("--batch-size", type=int, default=500, help="events per batch (500)")
    p.add_argument("--concurrency", type=int, default=4, help="batches in flight (4)")
    p.add_argument("--users", type=int, default=3000, help="users in the synthetic log (3000)")
    p.add_argument("--duplicates", type=float, default=0.0, help="share re-sent in a batch (0)")
    p.add_argument("--seed", type=int, default=0, help="seed of the event log and mix (0)")
    p.add_argument(
        "--server-pid", type=int, default=None, help="also report this process's CPU time"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    batches = make_batches(
        args.batches + args.warmup,
        args.batch_size,
        users=args.users,
        seed=args.seed,
        duplicates=args.duplicates,
    )
    result = asyncio.run(
        run(args.url, args.key, batches, args.concurrency, args.warmup, args.server_pid)
    )
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>22}: {v}")
    return 0 if set(result["statuses"]) == {200} else 1


if __name__ == "__main__":
    sys.exit(main())
