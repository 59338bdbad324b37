"""``waypoint catalog``: catalog upkeep against the configured Redis."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from waypoint.cli.common import command_group, run_on_redis, service_settings


def _catalog_load(args: argparse.Namespace) -> int:
    from domain.errors import DomainError
    from domain.keys import GlobalKeys
    from recommender.catalog import CatalogStore, load_actions_file

    settings = service_settings("waypoint catalog load")
    if settings is None:
        return 2
    try:
        actions = load_actions_file(Path(args.file))
    except DomainError as exc:
        print(f"waypoint catalog load: {exc.detail}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"waypoint catalog load: {exc}", file=sys.stderr)
        return 2

    async def load(redis: Any) -> int:
        store = CatalogStore(redis, GlobalKeys(settings.key_prefix))
        if args.replace:
            return await store.replace_all(actions)
        return await store.upsert(actions)

    url = settings.redis_url or ""
    version = run_on_redis(url, load, cluster=settings.redis_cluster, timeout_s=5.0)
    print(f"loaded {len(actions)} actions; catalog version {version}")
    return 0


def register(sub: Any) -> None:
    load = command_group(sub, "catalog", help="catalog upkeep").add_parser(
        "load", help="bulk load actions from a JSON Lines file into the configured Redis"
    )
    load.add_argument("file", help="JSON Lines file, one action per line")
    load.add_argument(
        "--replace", action="store_true", help="replace the whole catalog instead of upserting"
    )
    load.set_defaults(func=_catalog_load)
