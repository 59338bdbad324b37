"""``waypoint decisions export``: the decision log as JSON Lines."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from recommender.decision_log import DecisionLog
from waypoint.cli.common import command_group, run_on_redis


# -- CLI ----------------------------------------------------------------------------------
def _since(text: str) -> int:
    """``--since``: epoch seconds, or an ISO 8601 time with a zone."""
    from datetime import datetime

    try:
        return int(float(text) * 1000)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            "expected epoch seconds or an ISO time such as 2026-11-25T10:00:00Z"
        ) from exc
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("the time needs a zone, e.g. 2026-11-25T10:00:00Z")
    return int(moment.timestamp() * 1000)


def _export(args: argparse.Namespace) -> int:
    from domain.keys import GlobalKeys
    from service.settings import Settings

    settings = Settings()
    url = args.redis_url or settings.redis_url
    if url is None:
        print(
            "waypoint decisions export: set WAYPOINT_REDIS_URL (or pass --redis-url)",
            file=sys.stderr,
        )
        return 2

    def export(out: Any) -> int:
        async def write(redis: Any) -> int:
            log = DecisionLog(redis, key=GlobalKeys(settings.key_prefix).decisions)
            return await log.export(out, since_ms=args.since)

        return run_on_redis(url, write, cluster=settings.redis_cluster, timeout_s=10.0)

    if args.out == "-":
        n = export(sys.stdout)
    else:
        with Path(args.out).open("w", encoding="utf-8") as fh:
            n = export(fh)
    print(f"exported {n} records to {args.out}", file=sys.stderr)
    return 0


def register(subparsers: Any) -> None:
    """Add ``decisions export`` to the ``waypoint`` command's ``subparsers``."""
    export = command_group(subparsers, "decisions", help="the decision log").add_parser(
        "export",
        help="write the decision log (decisions and attributed outcomes) as JSON Lines",
        description="Write every record of the decision log stream, oldest first, as JSON "
        "Lines (one object per line, with its stream id as 'log_id').",
    )
    export.add_argument("--out", required=True, metavar="FILE", help="output file ('-': stdout)")
    export.add_argument(
        "--since",
        type=_since,
        default=None,
        metavar="TIME",
        help="only records from this time on (epoch seconds or ISO 8601 with a zone)",
    )
    export.add_argument(
        "--redis-url", default=None, help="Redis to read (default: WAYPOINT_REDIS_URL)"
    )
    export.set_defaults(func=_export)
