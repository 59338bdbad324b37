"""``waypoint models``: the intent model registry in the configured Redis."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from domain.errors import DomainError
from service.container import Services, build_services
from waypoint.cli.common import command_group, run_on_redis, service_settings


def _with_services(fn: Callable[[Services, argparse.Namespace], Awaitable[int]]) -> Any:
    def run(args: argparse.Namespace) -> int:
        settings = service_settings("waypoint models")
        if settings is None:
            return 2

        async def go(redis: Any) -> int:
            try:
                return await fn(build_services(settings, redis), args)
            except DomainError as exc:
                print(f"waypoint models: {exc.detail}", file=sys.stderr)
                return 2

        url = settings.redis_url or ""
        return run_on_redis(url, go, cluster=settings.redis_cluster, timeout_s=10.0)

    return run


async def _push(services: Services, args: argparse.Namespace) -> int:
    from intent.lifecycle import register_dir

    taxonomy, _ = await services.taxonomy.get()
    if taxonomy is None and args.activate:
        print("waypoint models: no taxonomy stored yet (PUT /v1/intents first)", file=sys.stderr)
        return 2
    from intent.taxonomy import Taxonomy

    meta = await register_dir(
        services.models, Path(args.model), taxonomy or Taxonomy(), activate=args.activate
    )
    state = "stored and activated" if args.activate else "stored"
    print(f"{meta.version} {state} ({len(meta.labels)} intents)")
    return 0


async def _list(services: Services, args: argparse.Namespace) -> int:
    active = await services.models.active_version()
    for m in await services.models.list():
        mark = "*" if m.version == active else " "
        print(f"{mark} {m.version}  {m.created_at:%Y-%m-%d %H:%M}  {len(m.labels)} intents")
    return 0


async def _activate(services: Services, args: argparse.Namespace) -> int:
    taxonomy, _ = await services.taxonomy.get()
    from intent.taxonomy import Taxonomy

    meta = await services.models.activate(args.version, taxonomy or Taxonomy())
    print(f"{meta.version} is active; every worker switches within the reload interval")
    return 0


async def _learned(services: Services, args: argparse.Namespace) -> int:
    lines = [line async for line in services.learned.iter_jsonl()]
    text = "".join(f"{line}\n" for line in lines)
    await asyncio.to_thread(Path(args.out).write_text, text, encoding="utf-8")
    print(f"wrote {len(lines)} labelled examples to {args.out}")
    return 0


def register(sub: Any) -> None:
    commands = command_group(
        sub,
        "models",
        help="intent models stored in Redis: push, list, activate, export learned examples",
        description="Manage the intent models in the Redis at WAYPOINT_REDIS_URL/REDIS_URL.",
    )
    push = commands.add_parser("push", help="store a model directory written by 'intent train'")
    push.add_argument("--model", required=True, metavar="DIR", help="model directory")
    push.add_argument("--activate", action="store_true", help="also make it the active model")
    push.set_defaults(func=_with_services(_push))
    lst = commands.add_parser("list", help="list stored models (* = active)")
    lst.set_defaults(func=_with_services(_list))
    act = commands.add_parser("activate", help="switch every worker to VERSION (or roll back)")
    act.add_argument("version", help="a version from 'models list'")
    act.set_defaults(func=_with_services(_activate))
    learned = commands.add_parser(
        "learned", help="export examples learned from clarify answers as JSON Lines"
    )
    learned.add_argument("--out", required=True, metavar="FILE", help="output JSON Lines file")
    learned.set_defaults(func=_with_services(_learned))
