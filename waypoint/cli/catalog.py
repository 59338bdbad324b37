"""``waypoint catalog``: catalog upkeep against the configured Redis."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from service.settings import Settings


def _catalog_load(args: argparse.Namespace) -> int:
    from domain.errors import DomainError
    from recommender.catalog import CatalogStore, load_actions_file
    from service.redis_server import connect

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
        from domain.keys import GlobalKeys

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


def register(sub: Any) -> None:
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
