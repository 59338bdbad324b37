"""``waypoint demo events``: write a synthetic interaction log over the demo catalog."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from demo.events import DEFAULT_END, generate_events, write_jsonl
from waypoint.cli.common import (
    add_catalog_option,
    add_seed_option,
    catalog_actions,
    command_group,
)


def _run(args: argparse.Namespace) -> int:
    end = datetime.fromisoformat(args.end.replace("Z", "+00:00")) if args.end else DEFAULT_END
    if end.tzinfo is None:
        print(
            "waypoint demo events: --end needs a timezone, e.g. 2026-11-24T00:00:00Z",
            file=sys.stderr,
        )
        return 2
    events = generate_events(
        catalog_actions(args.catalog), args.users, seed=args.seed, end=end, weeks=args.weeks
    )
    write_jsonl(events, Path(args.out))
    users = len({e["user_id"] for e in events})
    print(f"wrote {len(events)} synthetic events of {users} users to {args.out}")
    return 0


def register(subparsers: Any) -> None:
    """Add ``demo events`` (under a ``demo`` group) to the ``waypoint`` command."""
    events = command_group(subparsers, "demo", help="demo data tools").add_parser(
        "events",
        help="generate a synthetic interaction log over the demo catalog",
        description="Write a synthetic (not observed) event log in the event API's JSON "
        "Lines format: users with category tastes, sessions, view/click/cart/purchase "
        "funnels, companion purchases, declines.",
    )
    events.add_argument("--users", type=int, default=2000, help="number of users (2000)")
    events.add_argument("--out", required=True, help="output JSON Lines file")
    add_seed_option(events, "random seed (0)")
    events.add_argument("--weeks", type=int, default=8, help="weeks of history (8)")
    events.add_argument("--end", default=None, help="last day, ISO 8601 (2026-11-24T00:00Z)")
    add_catalog_option(events, "catalog JSON Lines (demo catalog)")
    events.set_defaults(func=_run)
