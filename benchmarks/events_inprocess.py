"""The worker's CPU per ``POST /v1/events`` batch, measured in-process.

The demo app runs inside this process (its lifespan, an embedded redis-server, the demo
intent model trained once into ``--model-dir``); batches shaped like ``waypoint bench
--scenario events`` sends them (500 events of unique ids over 1,000 users, the bench's
event types, demo items, channels and languages) are posted one at a time through an
ASGI client. The figure is this process's CPU time per batch (``time.process_time``):
request parsing and validation, planning, the event script's round trip, popularity and
the observers, the answer, and whatever the worker's background refresh does meanwhile.
Beside it, the embedded redis-server's CPU per batch (read from ``/proc``; on a machine
of two cores the worker and Redis share them, so both count).
Unlike a wall-clock rate it hardly depends on what else runs on the machine, so it
compares two versions of the code run one after the other in one session.

    python benchmarks/events_inprocess.py --batches 40
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

CHANNELS = ["web", "app", "contact_center"]
LANGUAGES = ["en", "en", "de", "fr"]
EVENT_TYPES = ["view", "view", "click", "impression", "impression", "add_to_cart", "purchase"]


def demo_model(directory: Path) -> Path:
    if any(directory.iterdir()):
        return directory
    from demo.seed import data_dir
    from intent.artifact import save_model
    from intent.data import load_jsonl
    from intent.lifecycle import metadata_for
    from intent.train import train

    examples = load_jsonl(data_dir() / "utterances.jsonl")
    result = train(examples, seed=0)
    save_model(result.model, directory, metadata=metadata_for(result, examples))
    return directory


def batch_body(rng: random.Random, run: str, n: int, size: int, items: list[str]) -> bytes:
    events: list[dict[str, Any]] = []
    for i in range(1, size + 1):
        kind = rng.choice(EVENT_TYPES)
        event: dict[str, Any] = {
            "event_id": f"{run}-{n}-{i}",
            "user_id": f"bench-{(n * 7919 + i * 31) % 1000}",
            "type": kind,
            "item_id": rng.choice(items),
            "context": {"channel": rng.choice(CHANNELS), "language": rng.choice(LANGUAGES)},
        }
        if kind == "purchase":
            event["value"] = rng.randint(1, 50)
        events.append(event)
    return json.dumps({"events": events}).encode()


def redis_cpu_s(pid: int | None) -> float:
    """User and system CPU seconds of process ``pid`` so far (0 where /proc is unavailable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError, TypeError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(batches: int, warmup: int, size: int, model_dir: Path) -> dict[str, Any]:
    from app.inprocess import serve_in_process
    from demo.app import create_app
    from service.redis_server import EmbeddedRedis
    from service.settings import Settings
    from waypoint.bench import synth

    items = [a["id"] for a in synth.demo_catalog()]
    rng = random.Random(0)
    run = f"ip{time.time_ns()}"
    bodies = [batch_body(rng, run, n, size, items) for n in range(warmup + batches)]
    redis = EmbeddedRedis.start(Path(tempfile.mkdtemp()))
    try:
        settings = Settings(
            redis_url=redis.url, demo=True, demo_key="bench", intent_model_dir=model_dir
        )
        app = create_app(settings)
        async with serve_in_process(app, key="bench", timeout_s=30.0) as client:
            headers = {"content-type": "application/json"}
            cpu: list[float] = []
            pid = getattr(redis._server, "pid", None)
            redis_start = 0.0
            for n, body in enumerate(bodies):
                if n == warmup:
                    redis_start = redis_cpu_s(pid)
                start = time.process_time()
                r = await client.post("/v1/events", content=body, headers=headers)
                if n >= warmup:
                    cpu.append(time.process_time() - start)
                if r.status_code != 200:
                    raise SystemExit(f"batch {n}: {r.status_code} {r.text[:200]}")
            redis_cpu = redis_cpu_s(pid) - redis_start
            again = (await client.post("/v1/events", content=bodies[0], headers=headers)).json()
    finally:
        redis.stop()
    return {
        "batches": batches,
        "batch_size": size,
        "cpu_ms_per_batch_median": round(1000 * statistics.median(cpu), 1),
        "cpu_ms_per_batch_mean": round(1000 * statistics.fmean(cpu), 1),
        "redis_cpu_ms_per_batch_mean": round(1000 * redis_cpu / batches, 1),
        "resent_duplicates": again["duplicates"],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batches", type=int, default=40, help="measured batches (default 40)")
    p.add_argument("--warmup", type=int, default=5, help="unmeasured batches first (default 5)")
    p.add_argument("--batch-size", type=int, default=500, help="events per batch (default 500)")
    p.add_argument(
        "--model-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "waypoint-bench-model",
        help="the demo intent model, trained there on the first run",
    )
    args = p.parse_args()
    args.model_dir.mkdir(parents=True, exist_ok=True)
    model = demo_model(args.model_dir)
    print(json.dumps(asyncio.run(measure(args.batches, args.warmup, args.batch_size, model))))


if __name__ == "__main__":
    main()
