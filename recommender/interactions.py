"""Interaction logs: the ``{"event_id", "user_id", "type", "item_id", "ts", ...}`` JSON Lines
format that offline training and evaluation read.

The reader is lenient on purpose: extra fields are ignored, events without an item are
skipped (searches, clarify answers), ``ts`` may be an ISO 8601 string with a timezone or
epoch seconds. A line that is not a JSON object, or misses ``user_id``, ``type`` or ``ts``,
is an error naming the line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True, order=True)
class Interaction:
    """One event on one item, reduced to what history models use."""

    ts: float
    user_id: str
    item_id: str
    type: str


class LogFormatError(ValueError):
    """A line of an event log cannot be read."""


def parse_ts(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("ts must be a timestamp")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if dt.tzinfo is None:
            raise ValueError(f"ts needs a timezone: {value!r}")
        return dt.timestamp()
    raise ValueError(f"ts must be an ISO 8601 string or epoch seconds, got {value!r}")


def parse_interactions(lines: Iterable[str], source: str = "input") -> Iterator[Interaction]:
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            if not isinstance(raw, dict):
                raise ValueError("not a JSON object")
            item = raw.get("item_id")
            if not item:
                continue
            missing = [k for k in ("user_id", "type", "ts") if raw.get(k) in (None, "")]
            if missing:
                raise ValueError(f"missing {', '.join(missing)}")
            yield Interaction(
                ts=parse_ts(raw["ts"]),
                user_id=str(raw["user_id"]),
                item_id=str(item),
                type=str(raw["type"]),
            )
        except ValueError as exc:  # JSONDecodeError is a ValueError
            raise LogFormatError(f"{source}:{n}: {exc}") from None


def read_interactions(path: str | Path) -> list[Interaction]:
    """All item events of a JSON Lines log, sorted by time (stable for equal times)."""
    p = Path(path)
    with p.open(encoding="utf-8") as fh:
        found = list(parse_interactions(fh, source=str(p)))
    found.sort(key=lambda i: i.ts)
    return found
