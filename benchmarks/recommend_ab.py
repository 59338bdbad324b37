"""CPU per ``POST /v1/recommend`` of two source trees, side by side, in-process.

Usage (from the repository root)::

    PYTHONPATH=. .venv/bin/python benchmarks/recommend_ab.py /path/to/old /path/to/new

Starts one worker process per tree (this interpreter, ``PYTHONPATH`` set to the tree, the
tree's own ``benchmarks/recommend_asgi.py`` harness: the demo app called as an ASGI app on
an embedded Redis), warms both up, then asks them in turn for ``--requests`` requests of
the bench's mix, ``--rounds`` times, the order swapped every round and both given the same
requests in a round. On a shared machine whose speed drifts from minute to minute, the two
trees are then measured within seconds of each other, so the ratio of their CPU per request
(the process's CPU time, framework included) is steadier than two separate runs' figures.
Prints each round's mean in microseconds per request and the medians (JSON).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any


def worker() -> None:
    """One tree's app; reads ``N SEED`` lines, answers each with the CPU us per request."""
    sys.path.insert(0, str(Path.cwd() / "benchmarks"))
    import recommend_asgi as harness

    from app.inprocess import serve_in_process
    from demo.app import create_app
    from service.redis_server import EmbeddedRedis
    from service.settings import Settings

    async def run() -> None:
        redis = EmbeddedRedis.start(Path(tempfile.mkdtemp()))
        try:
            settings = Settings(
                redis_url=redis.url,
                demo=True,
                demo_key=harness.KEY,
                reload_interval_s=3600,
                redis_timeout_s=2.0,
            )
            app = create_app(settings)
            async with serve_in_process(app, key=harness.KEY):
                gc.collect()
                gc.freeze()  # as the service does
                await harness._timed(app, harness.bodies(100, seed=7))
                print("ready", flush=True)
                loop = asyncio.get_running_loop()
                while line := (await loop.run_in_executor(None, sys.stdin.readline)).strip():
                    count, seed = map(int, line.split())
                    seconds = await harness._timed(app, harness.bodies(count, seed=seed))
                    print(sum(seconds) / count * 1e6, flush=True)
        finally:
            redis.stop()

    try:  # the event loop uvicorn serves with, when installed
        import uvloop

        uvloop.run(run())
    except ImportError:
        asyncio.run(run())


def _start(tree: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--worker"],
        cwd=tree,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    while (line := proc.stdout.readline()) and line.strip() != "ready":
        pass
    if not line:
        raise RuntimeError(f"the worker of {tree} exited during start-up")
    return proc


def _ask(proc: subprocess.Popen[str], count: int, seed: int) -> float:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(f"{count} {seed}\n")
    proc.stdin.flush()
    return float(proc.stdout.readline())


def compare(a: Path, b: Path, rounds: int, count: int) -> dict[str, Any]:
    procs = [_start(a), _start(b)]
    means: list[list[float]] = [[], []]
    try:
        for r in range(rounds):
            for i in (0, 1) if r % 2 == 0 else (1, 0):
                means[i].append(_ask(procs[i], count, 100 + r))
    finally:
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("\n")
            proc.stdin.flush()
            proc.wait(timeout=60)
    ratios = [nb / na for na, nb in zip(means[0], means[1], strict=True)]
    return {
        "a": str(a),
        "b": str(b),
        "requests_per_round": count,
        "a_us": [round(x) for x in means[0]],
        "b_us": [round(x) for x in means[1]],
        "a_median_us": round(statistics.median(means[0])),
        "b_median_us": round(statistics.median(means[1])),
        "b_over_a_median": round(statistics.median(ratios), 3),
    }


def main() -> None:
    if sys.argv[1:] == ["--worker"]:
        worker()
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path, help="the first source tree (e.g. main)")
    parser.add_argument("b", type=Path, help="the second source tree")
    parser.add_argument("--rounds", type=int, default=12, help="turns of each tree")
    parser.add_argument("--requests", type=int, default=300, help="requests per turn")
    args = parser.parse_args()
    result = compare(args.a.resolve(), args.b.resolve(), args.rounds, args.requests)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
