"""Catalog files: JSON Lines in and out, with the line of the first bad entry named."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError

from domain.actions import Action
from domain.errors import Invalid


def parse_actions_jsonl(lines: Iterable[str], source: str = "input") -> list[Action]:
    """Parse JSON Lines into actions, naming the line of the first bad entry."""
    actions: list[Action] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            actions.append(Action.model_validate_json(line))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "line"
            raise Invalid(f"{source}:{n}: {where}: {first['msg']}") from None
    return actions


def load_actions_file(path: Path) -> list[Action]:
    with path.open(encoding="utf-8") as fh:
        return parse_actions_jsonl(fh, source=str(path))


def dump_jsonl(actions: Iterable[Action]) -> str:
    return "".join(
        json.dumps(a.model_dump(mode="json", exclude_defaults=True)) + "\n" for a in actions
    )
