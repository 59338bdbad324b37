"""The catalog in Redis: one hash of actions, a version counter and a change log.

Every change is one Lua script on the catalog's hash slot (all three keys share the hash
tag ``{<prefix>:catalog}``, so this holds on Redis Cluster too): it writes the actions,
bumps the version and appends ``{op, ids}`` to the change log under the stream id
``<version>-1``. A worker that serves version ``v`` reads the entries after ``v`` and
fetches only the actions they name (:mod:`recommender.catalog.sync`); when the log no
longer reaches back that far it reads the whole hash again, in chunks.

A stored entry that no longer validates (written by an older release, or by hand) is
skipped and reported, never fatal: the rest of the catalog keeps serving.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from domain.actions import Action
from domain.errors import NotFound
from domain.keys import GlobalKeys

log = logging.getLogger("waypoint.catalog")

#: actions per script call of a bulk upsert (each call is one version)
CHUNK = 1_000
#: change-log entries kept (approximately); older workers reload in full
CHANGE_LOG_LENGTH = 10_000

_CHANGE_LUA = """
local items, version, changes = KEYS[1], KEYS[2], KEYS[3]
local op = ARGV[2]
local ids = {}
if op == 'upsert' then
  for i = 3, #ARGV, 2 do
    redis.call('HSET', items, ARGV[i], ARGV[i + 1])
    ids[#ids + 1] = ARGV[i]
  end
elseif op == 'delete' then
  for i = 3, #ARGV do
    if redis.call('HDEL', items, ARGV[i]) == 1 then ids[#ids + 1] = ARGV[i] end
  end
  if #ids == 0 then return -1 end
elseif op == 'reset' then
  if redis.call('EXISTS', ARGV[3]) == 1 then
    redis.call('RENAME', ARGV[3], items)
  else
    redis.call('DEL', items)
  end
end
local v = redis.call('INCR', version)
local last = redis.call('XREVRANGE', changes, '+', '-', 'COUNT', 1)
if last[1] and tonumber(string.match(last[1][1], '^(%d+)')) >= v then
  redis.call('DEL', changes)
end
local encoded = '[]'
if #ids > 0 then encoded = cjson.encode(ids) end
redis.call('XADD', changes, 'MAXLEN', '~', ARGV[1], v .. '-1', 'op', op, 'ids', encoded)
return v
"""


@dataclass(frozen=True)
class Change:
    version: int
    op: str
    ids: tuple[str, ...]


#: one stored entry: ``(id, JSON or None when absent)``
Raw = tuple[str, bytes | str | None]


def _decode(raw: str | bytes) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def parse_stored(action_id: str, raw: str | bytes, invalid: list[str]) -> Action | None:
    try:
        return Action.model_validate_json(raw)
    except ValidationError as exc:
        log.warning("catalog entry %r skipped, it does not validate: %s", action_id, exc)
        invalid.append(action_id)
        return None


class CatalogStore:
    def __init__(self, redis: Any, keys: GlobalKeys) -> None:
        self.redis = redis
        self.items_key = keys.catalog_items
        self.version_key = keys.catalog_version
        self.changes_key = keys.catalog_changes
        self.staging_key = f"{keys.catalog_tag}:staging"
        self._change = redis.register_script(_CHANGE_LUA)

    async def _run(self, op: str, args: Sequence[str]) -> int:
        keys = [self.items_key, self.version_key, self.changes_key]
        return int(await self._change(keys=keys, args=[CHANGE_LOG_LENGTH, op, *args]))

    @staticmethod
    def _pairs(actions: Iterable[Action]) -> list[str]:
        out: list[str] = []
        for a in actions:
            out += (a.id, a.model_dump_json(exclude_defaults=True))
        return out

    async def upsert(self, actions: Sequence[Action]) -> int:
        """Insert or replace ``actions``; one version per chunk of :data:`CHUNK`."""
        if not actions:
            return await self.version()
        version = 0
        for start in range(0, len(actions), CHUNK):
            version = await self._run("upsert", self._pairs(actions[start : start + CHUNK]))
        return version

    async def upsert_encoded(self, entries: Sequence[tuple[str, str]]) -> int:
        """:meth:`upsert` of entries already validated and encoded: ``(id, JSON)``."""
        if not entries:
            return await self.version()
        version = 0
        for start in range(0, len(entries), CHUNK):
            pairs = [x for entry in entries[start : start + CHUNK] for x in entry]
            version = await self._run("upsert", pairs)
        return version

    async def replace_all(self, actions: Sequence[Action]) -> int:
        """Replace the whole catalog atomically: the new entries are staged in chunks,
        then swapped in by one script."""
        await self.redis.delete(self.staging_key)
        for start in range(0, len(actions), CHUNK):
            chunk = actions[start : start + CHUNK]
            mapping = {a.id: a.model_dump_json(exclude_defaults=True) for a in chunk}
            await self.redis.hset(self.staging_key, mapping=mapping)
        return await self._run("reset", [self.staging_key])

    async def delete(self, action_id: str) -> int:
        version = await self._run("delete", [action_id])
        if version < 0:
            raise NotFound(f"no catalog item with id '{action_id}'")
        return version

    async def get(self, action_id: str) -> Action:
        raw = await self.redis.hget(self.items_key, action_id)
        if raw is None:
            raise NotFound(f"no catalog item with id '{action_id}'")
        return Action.model_validate_json(raw)

    async def version(self) -> int:
        raw = await self.redis.get(self.version_key)
        return int(raw) if raw is not None else 0

    async def count(self) -> int:
        return int(await self.redis.hlen(self.items_key))

    async def changes_since(self, version: int) -> list[Change] | None:
        """The changes after ``version`` in order, or None when the log does not reach
        back to it (the caller then reads everything)."""
        # read together (one slot: the keys share the catalog's hash tag), so a version
        # written in between cannot look like a gap in the log and force a full read
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xrange(self.changes_key, min=f"{version + 1}-0")
            pipe.get(self.version_key)
            entries, raw_version = await pipe.execute()
        current = int(raw_version) if raw_version is not None else 0
        changes = [
            Change(
                version=int(_decode(entry_id).split("-", 1)[0]),
                op=_decode(fields.get(b"op", fields.get("op", b""))),
                ids=tuple(json.loads(fields.get(b"ids", fields.get("ids", b"[]")))),
            )
            for entry_id, fields in entries
        ]
        expected = version + 1
        for c in changes:
            if c.version != expected or c.op == "reset":
                return None
            expected += 1
        if expected - 1 < current:
            return None  # the log misses the newest versions (trimmed or written without it)
        return changes

    async def fetch(self, ids: Sequence[str]) -> AsyncIterator[list[Raw]]:
        """The stored entries of ``ids``, in chunks (``None``: deleted)."""
        for start in range(0, len(ids), CHUNK):
            chunk = list(ids[start : start + CHUNK])
            raws = await self.redis.hmget(self.items_key, chunk)
            yield list(zip(chunk, raws, strict=True))

    async def scan(self) -> AsyncIterator[list[Raw]]:
        """Every stored entry, in chunks. Read :meth:`version` first: a change made during
        the scan is then applied again from the change log afterwards."""
        chunk: list[Raw] = []
        async for action_id, raw in self.redis.hscan_iter(self.items_key, count=CHUNK):
            chunk.append((_decode(action_id), raw))
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def parse_chunk(chunk: list[Raw], invalid: list[str]) -> dict[str, Action | None]:
    """Parsed entries of one chunk; an entry that does not validate is skipped (and its
    id added to ``invalid``), so one bad entry never blocks the rest of the catalog."""
    out: dict[str, Action | None] = {}
    for action_id, raw in chunk:
        out[action_id] = None if raw is None else parse_stored(action_id, raw, invalid)
    return out
