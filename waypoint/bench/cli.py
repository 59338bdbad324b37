"""The ``waypoint bench`` command: start Redis, the server and the floor, measure, report."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from waypoint.bench import phases, report, synth
from waypoint.bench.procs import Workspace, start_floor, start_redis, start_server, wait_ready
from waypoint.bench.wrk import wrk_binary
from waypoint.cli.common import add_seed_option, config_from_args

SCENARIOS = ("recommend", "rebuild", "events", "load")
#: the options the report's "config" repeats under their own names (after duration and warmup)
_REPORTED_OPTIONS = (
    "connections",
    "threads",
    "workers",
    "users",
    "scenario",
    "catalog_size",
    "put_batch",
    "event_batch",
    "event_connections",
    "seed",
)


def _workers(text: str) -> list[int]:
    try:
        counts = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        counts = []
    if not counts or any(c < 1 for c in counts):
        raise argparse.ArgumentTypeError(f"expected worker counts like '1' or '1,2' (got {text!r})")
    return counts


def _scenarios(text: str) -> list[str]:
    if text == "all":
        return list(SCENARIOS)
    names = [x.strip() for x in text.split(",") if x.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"expected 'all' or a comma list of {', '.join(SCENARIOS)} (got {text!r})"
        )
    return [n for n in SCENARIOS if n in names]


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer (got {text!r})")
    return value


def _measure_workers(
    args: argparse.Namespace,
    ws: Workspace,
    load: phases.Load,
    redis_url: str,
    workers: int,
    scenarios: set[str],
    first: bool,
) -> dict[str, Any]:
    server = start_server(ws, redis_url, workers, load.key)
    floor = start_floor(ws, redis_url, workers, load.key)
    run: dict[str, Any] = {"workers": workers}
    try:
        run["server_ready_s"] = round(wait_ready(server), 1)
        wait_ready(floor)
        size = phases.catalog_size(server.url) or len(synth.demo_catalog())
        run["catalogs"] = []
        want = args.catalog_size
        if "recommend" in scenarios and (first or want is None or size < want):
            _say(args, f"{workers} worker(s): recommend, catalog of {size} actions")
            run["catalogs"].append(
                {
                    "size": size,
                    "demo": first and size <= len(synth.demo_catalog()),
                    **phases.recommend_side_by_side(load, floor, server),
                }
            )
        if want is not None and size < want:
            _say(args, f"growing the catalog to {want} actions with PUT /v1/catalog/items")
            growth = phases.grow_catalog(load, server, want, args.put_batch)
            size = growth["reported_size"] or want
            if "recommend" in scenarios:
                _say(args, f"{workers} worker(s): recommend, catalog of {size} actions")
                result = phases.recommend_side_by_side(load, floor, server)
                run["catalogs"].append({"size": size, "demo": False, "growth": growth, **result})
            else:
                run["growth"] = growth
        elif "recommend" in scenarios and not run["catalogs"]:
            run["catalogs"].append(
                {"size": size, "demo": False, **phases.recommend_side_by_side(load, floor, server)}
            )
        if "rebuild" in scenarios:
            _say(args, f"{workers} worker(s): recommend during a catalog upsert stream")
            synthetic = max(0, size - len(synth.demo_catalog()))
            run["rebuild"] = phases.rebuild(load, server, args.put_batch, synthetic)
        if "events" in scenarios:
            _say(args, f"{workers} worker(s): events in batches of {args.event_batch}")
            run["events"] = phases.events(
                load, server, args.event_batch, args.event_connections, uuid.uuid4().hex[:10]
            )
    finally:
        floor.stop()
        server.stop()
    return run


def _say(args: argparse.Namespace, text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def run_bench(args: argparse.Namespace) -> int:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.write_catalog:
        size = args.catalog_size or args.load_size
        count = synth.write_catalog_file(Path(args.write_catalog), size, seed=args.seed)
        print(f"wrote {count} actions to {args.write_catalog}")
        return 0
    wrk = wrk_binary(args.wrk)
    scenarios = set(args.scenario)
    if wrk is None and scenarios != {"load"}:
        print(
            "waypoint bench needs wrk (Debian: apt-get install wrk; or `make bench`)",
            file=sys.stderr,
        )
        return 2
    ws = Workspace()
    load = config_from_args(
        phases.Load, args, wrk=wrk or "wrk", workdir=ws.dir, seconds=args.duration
    )
    external = os.environ.get("WAYPOINT_REDIS_URL") or os.environ.get("REDIS_URL")
    out: dict[str, Any] = {
        "config": {
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            **{name: getattr(args, name) for name in _REPORTED_OPTIONS},
        },
        "machine": {"cpus": os.cpu_count(), "loadavg": [round(x, 2) for x in os.getloadavg()]},
        "runs": [],
    }
    try:
        redis_url = external or start_redis(ws).url
        out["redis"] = redis_url if external else f"{redis_url} (started by the bench)"
        if scenarios - {"load"}:
            for i, workers in enumerate(args.workers):
                run = _measure_workers(args, ws, load, redis_url, workers, scenarios, i == 0)
                out["runs"].append(run)
        if "load" in scenarios:
            _say(args, f"waypoint catalog load of {args.load_size} actions")
            out["catalog_load"] = phases.catalog_load(
                redis_url, args.load_db, args.load_size, ws.dir, args.seed
            )
    finally:
        ws.stop_all()
    out["machine"]["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    out["checks"] = report.checks(out)
    print(json.dumps(out, indent=2) if args.json else report.render(out))
    return 0 if _server_errors(out) == 0 else 1


def _server_errors(out: dict[str, Any]) -> int:
    """Failed requests to the server under test, in every scenario."""
    errors = 0
    for run in out["runs"]:
        for cat in run.get("catalogs", []):
            errors += sum(cat["server"][p]["errors"] for p in ("c1", "saturation"))
        if "rebuild" in run:
            errors += sum(
                run["rebuild"][p]["errors"] + run["rebuild"][p]["upsert_errors"]
                for p in ("c1", "saturation")
            )
        if "events" in run:
            errors += run["events"]["errors"] + (run["events"]["exactly_once"] is False)
    return errors


def register(sub: Any) -> None:
    p = sub.add_parser(
        "bench",
        help="load benchmark of the server against a floor app (needs wrk)",
        description="Start a Redis server (or use WAYPOINT_REDIS_URL/REDIS_URL: the bench then "
        "writes demo data, synthetic actions and events there), `waypoint serve --demo` and the "
        "floor app (FastAPI + pydantic + one Redis read) on free local ports, drive both with wrk "
        "and report req/s, p50/p90/p99 at concurrency 1 and at saturation, RSS per worker and the "
        "server/floor ratio. Exits 1 if any request to the server failed or a resent event "
        "batch was not all duplicates; missed targets are reported, not failed.",
    )
    p.add_argument(
        "--scenario",
        type=_scenarios,
        default=list(SCENARIOS),
        help="all, or a comma list of: recommend (server and floor side by side), rebuild "
        "(recommend while catalog upserts stream in), events (POST /v1/events batches, then "
        "the first batch resent), load (time `waypoint catalog load` of --load-size actions) "
        "(default all)",
    )
    p.add_argument("--duration", type=_positive, default=10, help="seconds per phase (default 10)")
    p.add_argument(
        "--warmup",
        type=int,
        default=2,
        help="seconds of unmeasured load per server before measuring (default 2)",
    )
    p.add_argument(
        "--connections",
        type=_positive,
        default=32,
        help="wrk connections for the saturation phases (default 32)",
    )
    p.add_argument("--threads", type=_positive, default=1, help="wrk threads (default 1)")
    p.add_argument(
        "--workers",
        type=_workers,
        default=[1],
        help="server (and floor) workers; a list like 1,2 runs each in turn and "
        "reports the scaling (default 1)",
    )
    p.add_argument("--users", type=_positive, default=1000, help="distinct user ids (default 1000)")
    p.add_argument(
        "--catalog-size",
        type=_positive,
        default=None,
        help="measure the demo catalog, then grow it to N actions (synthetic copies "
        "via PUT /v1/catalog/items, timed) and measure again",
    )
    p.add_argument(
        "--put-batch",
        type=_positive,
        default=500,
        help="actions per PUT /v1/catalog/items when growing or streaming (default 500)",
    )
    p.add_argument(
        "--event-connections",
        type=_positive,
        default=4,
        help="wrk connections for the events scenario: batches in flight (default 4)",
    )
    p.add_argument(
        "--event-batch",
        type=_positive,
        default=500,
        help="events per POST /v1/events (default 500)",
    )
    p.add_argument(
        "--load-size",
        type=_positive,
        default=100_000,
        help="actions in the file the load scenario times (default 100000)",
    )
    p.add_argument(
        "--load-db",
        type=int,
        default=15,
        help="Redis database the load scenario fills, then empties; it must be empty (default 15)",
    )
    p.add_argument(
        "--write-catalog",
        metavar="FILE",
        default=None,
        help="only write a JSON Lines catalog of --catalog-size (else --load-size) "
        "actions to FILE, for `waypoint catalog load`, and exit",
    )
    p.add_argument(
        "--key",
        default=os.environ.get("WAYPOINT_DEMO_KEY", "demo"),
        help="demo API key the servers use (default $WAYPOINT_DEMO_KEY or 'demo')",
    )
    p.add_argument("--wrk", default="wrk", help="wrk executable (default: wrk on PATH)")
    add_seed_option(p, "seed of the request mix and synthetic catalog")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run_bench)
