"""The catalog: an immutable in-memory index per version, and its versioned Redis store."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from recommender.models import Action
from recommender.text import action_tokens
from waypoint.errors import Invalid, NotFound


@dataclass(frozen=True)
class CatalogIndex:
    """A read-only snapshot of the catalog that every worker keeps in memory."""

    version: int
    actions: dict[str, Action]
    by_top: dict[str, tuple[Action, ...]] = field(default_factory=dict)
    tokens: dict[str, frozenset[str]] = field(default_factory=dict)
    max_value: float = 1.0
    #: the ``value`` score term of every action, log1p(value) / log1p(max_value)
    value_terms: dict[str, float] = field(default_factory=dict)

    @classmethod
    def build(cls, actions: Iterable[Action], version: int) -> CatalogIndex:
        by_id = {a.id: a for a in actions}
        groups: dict[str, list[Action]] = defaultdict(list)
        for a in by_id.values():
            groups[a.top_category].append(a)
        max_value = max(max((a.value for a in by_id.values()), default=0.0), 1.0)
        return cls(
            version=version,
            actions=by_id,
            by_top={k: tuple(v) for k, v in groups.items()},
            tokens={a.id: action_tokens(a) for a in by_id.values()},
            max_value=max_value,
            value_terms={a.id: math.log1p(a.value) / math.log1p(max_value) for a in by_id.values()},
        )

    def __len__(self) -> int:
        return len(self.actions)

    def get(self, action_id: str) -> Action | None:
        return self.actions.get(action_id)

    def under(self, prefixes: Sequence[str] | None) -> list[Action]:
        """Actions whose category starts with one of ``prefixes`` (all when None)."""
        if prefixes is None:
            return list(self.actions.values())
        out: list[Action] = []
        seen: set[str] = set()
        for prefix in prefixes:
            for a in self.by_top.get(prefix.split("/", 1)[0], ()):
                if a.id not in seen and (
                    a.category == prefix or a.category.startswith(prefix + "/")
                ):
                    seen.add(a.id)
                    out.append(a)
        return out


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


class CatalogStore:
    """Actions kept in one Redis hash, with a version counter bumped on every change."""

    def __init__(self, redis: Any, *, items_key: str, version_key: str) -> None:
        self.redis = redis
        self.items_key = items_key
        self.version_key = version_key

    async def upsert(self, actions: Sequence[Action]) -> int:
        if not actions:
            return await self.version()
        mapping = {a.id: a.model_dump_json(exclude_defaults=True) for a in actions}
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.items_key, mapping=mapping)
            pipe.incr(self.version_key)
            _, version = await pipe.execute()
        return int(version)

    async def replace_all(self, actions: Sequence[Action]) -> int:
        mapping = {a.id: a.model_dump_json(exclude_defaults=True) for a in actions}
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.items_key)
            if mapping:
                pipe.hset(self.items_key, mapping=mapping)
            pipe.incr(self.version_key)
            *_, version = await pipe.execute()
        return int(version)

    async def get(self, action_id: str) -> Action:
        raw = await self.redis.hget(self.items_key, action_id)
        if raw is None:
            raise NotFound(f"no catalog item with id '{action_id}'")
        return Action.model_validate_json(raw)

    async def delete(self, action_id: str) -> int:
        if not await self.redis.hdel(self.items_key, action_id):
            raise NotFound(f"no catalog item with id '{action_id}'")
        return int(await self.redis.incr(self.version_key))

    async def version(self) -> int:
        raw = await self.redis.get(self.version_key)
        return int(raw) if raw is not None else 0

    async def count(self) -> int:
        return int(await self.redis.hlen(self.items_key))

    async def load(self) -> CatalogIndex:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(self.version_key)
            pipe.hgetall(self.items_key)
            version, items = await pipe.execute()
        actions = [Action.model_validate_json(v) for v in items.values()]
        return CatalogIndex.build(actions, int(version) if version is not None else 0)


def dump_jsonl(actions: Iterable[Action]) -> str:
    return "".join(
        json.dumps(a.model_dump(mode="json", exclude_defaults=True)) + "\n" for a in actions
    )
