"""Storing a batch of planned events: one atomic script per user, and an honest outcome.

A batch is split by user. Each user's events go to Redis as ONE script over that user's
keys (one hash slot, so Redis Cluster can run it): it checks each ``event_id`` against
the user's seen-set and applies the new ones, all or none of them. The scripts of a batch
travel in one pipelined round trip.

What the caller is told about each event is true:

* ``accepted`` / ``duplicate``: the script's reply was read; the event is stored.
* ``not_stored``: certainly not stored. Either the script never left (no connection),
  or it refused to run because it arrived after the batch's **deadline**: every script
  carries ``deadline`` and compares it with the server's clock first, so a script that
  sat in a paused server's socket buffer cannot apply the batch later, after we answered.
* ``unknown``: the script was sent but its reply was lost (timeout, dropped connection).
  Once the deadline (plus the allowed clock skew) has passed, nothing from the batch can
  still be applied, so the user's seen-set is read to settle it; only if that read fails
  too does the event stay ``unknown``. Retrying such an event is safe (idempotent).

The deadline relies on the application's and Redis's clocks agreeing within
``clock_skew_s``; a larger skew could let a late script apply what we called not stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError, ResponseError

from context.events import Op
from context.store import STATE_KEYS, STORE_ERRORS
from domain.keys import UserKeys

log = logging.getLogger("waypoint.events")

Outcome = Literal["accepted", "duplicate", "not_stored", "unknown"]
STORED: frozenset[str] = frozenset({"accepted", "duplicate"})

#: The user's keys as the script gets them (KEYS[1] is the seen-set; the script finds the
#: others by name): the state a decision reads, and the keys only events write.
KEY_ORDER: tuple[str, ...] = ("seen_events", *STATE_KEYS, "history", "recent_items", "feedback")

_KEY_INDEX = "{" + ", ".join(f"{name} = {i}" for i, name in enumerate(KEY_ORDER, 1)) + "}"

# ARGV: deadline (ms since the epoch), now (the seen-set score),
# forget-before, then ONE JSON document [[event_id, [[op, key name, a, b], ...]], ...].
# Replies -1 (too late: nothing applied) or, per event, 1 (applied) / 0 (seen before).
APPLY_USER_EVENTS_LUA = (
    """
local K = """
    + _KEY_INDEX
    + """
local OPS = {hincrbyfloat = 'count', hset = 'field', hdel = 'field', sadd = 'member',
             lpush_trim = 'list', expire = 'ttl'}
local t = redis.call('TIME')
if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > tonumber(ARGV[1]) then
  return -1
end
local events = cjson.decode(ARGV[4])
-- check everything first (never a half-applied batch): known ops and keys, and a hash
-- key is either counted (hincrbyfloat) or set (hset/hdel), so ops can be merged below
local kind = {}
for _, e in ipairs(events) do
  if type(e[1]) ~= 'string' then return redis.error_reply('bad event id') end
  for _, o in ipairs(e[2]) do
    local k = OPS[o[1]]
    if not k or not K[o[2]] then return redis.error_reply('bad op') end
    if k ~= 'ttl' then
      if kind[o[2]] and kind[o[2]] ~= k then return redis.error_reply('mixed ops on a key') end
      kind[o[2]] = k
    end
  end
end
-- the new events' ops, merged per key with the effect of applying them in order:
-- counters summed, the last write of a field wins, list pushes in order, last TTL wins
local incr, sets, pushes, caps, members, ttls, out = {}, {}, {}, {}, {}, {}, {}
for i, e in ipairs(events) do
  if redis.call('ZADD', KEYS[1], 'NX', ARGV[2], e[1]) == 1 then
    for _, o in ipairs(e[2]) do
      local op, key, a, b = o[1], o[2], o[3], o[4]
      if op == 'hincrbyfloat' then
        incr[key] = incr[key] or {}
        incr[key][a] = (incr[key][a] or 0) + tonumber(b)
      elseif op == 'hset' or op == 'hdel' then
        sets[key] = sets[key] or {}
        sets[key][a] = (op == 'hset') and b or false
      elseif op == 'lpush_trim' then
        pushes[key] = pushes[key] or {}
        table.insert(pushes[key], a)
        caps[key] = math.min(caps[key] or math.huge, tonumber(b))
      elseif op == 'sadd' then
        members[key] = members[key] or {}
        table.insert(members[key], a)
      else
        ttls[key] = tonumber(a)
      end
    end
    out[i] = 1
  else
    out[i] = 0
  end
end
for key, fields in pairs(incr) do
  for f, v in pairs(fields) do
    redis.call('HINCRBYFLOAT', KEYS[K[key]], f, string.format('%.17g', v))
  end
end
for key, fields in pairs(sets) do
  local put, gone = {}, {}
  for f, v in pairs(fields) do
    if v then table.insert(put, f); table.insert(put, v) else table.insert(gone, f) end
  end
  if #put > 0 then redis.call('HSET', KEYS[K[key]], unpack(put)) end
  if #gone > 0 then redis.call('HDEL', KEYS[K[key]], unpack(gone)) end
end
for key, values in pairs(pushes) do
  redis.call('LPUSH', KEYS[K[key]], unpack(values))
  redis.call('LTRIM', KEYS[K[key]], 0, caps[key] - 1)
end
for key, values in pairs(members) do redis.call('SADD', KEYS[K[key]], unpack(values)) end
for key, ttl in pairs(ttls) do redis.call('EXPIRE', KEYS[K[key]], ttl) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
return out
"""
)


_SCRIPT_SHA = hashlib.sha1(APPLY_USER_EVENTS_LUA.encode(), usedforsecurity=False).hexdigest()


def _is_noscript(reply: Any) -> bool:
    return isinstance(reply, NoScriptError)


@dataclass(frozen=True)
class PlannedEvent:
    user_id: str
    event_id: str
    ops: list[Op]


@dataclass
class _UserBatch:
    user_id: str
    positions: list[int]  # where the user's events are in the batch
    event_ids: list[str]
    payload: bytes


def _group(planned: Sequence[PlannedEvent]) -> list[_UserBatch]:
    by_user: dict[str, list[int]] = {}
    for i, p in enumerate(planned):
        by_user.setdefault(p.user_id, []).append(i)
    groups = []
    for user_id, positions in by_user.items():
        events = [(planned[i].event_id, planned[i].ops) for i in positions]
        groups.append(_UserBatch(user_id, positions, [e for e, _ in events], orjson.dumps(events)))
    return groups


@dataclass(frozen=True)
class EventWriter:
    """Applies planned events for :class:`context.store.UserStore`'s key scheme."""

    redis: Any
    prefix: str
    dedup_ttl_s: int
    #: how long a batch may take in the store; also the scripts' deadline
    timeout_s: float = 1.0
    #: how far Redis's clock may run behind ours (see the module docstring)
    clock_skew_s: float = 0.1

    def _keys(self, user_id: str) -> list[str]:
        k = UserKeys(self.prefix, user_id)
        return [getattr(k, name) for name in KEY_ORDER]

    async def apply(self, planned: Sequence[PlannedEvent], now: float) -> list[Outcome]:
        """The outcome of every planned event, in order."""
        if not planned:
            return []
        groups = _group(planned)
        deadline = time.time() + self.timeout_s
        forget_before = repr(now - self.dedup_ttl_s)
        args = (str(int(deadline * 1000)), repr(now), forget_before)
        commands = [
            ("EVALSHA", _SCRIPT_SHA, len(KEY_ORDER), *self._keys(g.user_id), *args, g.payload)
            for g in groups
        ]
        replies = await self._send(commands, deadline)
        # a server that does not know the script yet (new, restarted, flushed) ran nothing
        # for those users: send them again with the script's text
        unknown_script = [n for n, r in enumerate(replies) if _is_noscript(r)]
        if unknown_script:
            again = [("EVAL", APPLY_USER_EVENTS_LUA, *commands[n][2:]) for n in unknown_script]
            for n, reply in zip(unknown_script, await self._send(again, deadline), strict=True):
                replies[n] = reply
        outcomes: list[Outcome] = ["unknown"] * len(planned)
        in_doubt: list[_UserBatch] = []
        lost = False
        for g, reply in zip(groups, replies, strict=True):
            if reply is _NOT_SENT or reply == -1:
                for i in g.positions:
                    outcomes[i] = "not_stored"
            elif isinstance(reply, list) and len(reply) == len(g.positions):
                for i, flag in zip(g.positions, reply, strict=True):
                    outcomes[i] = "accepted" if int(flag) == 1 else "duplicate"
            else:  # lost, or an error reply (which may have come mid-way)
                in_doubt.append(g)
                lost = lost or reply is _LOST
        if in_doubt:
            # a script whose reply was read has finished; a lost one may still run until
            # its deadline, so only then does the seen-set tell the final truth
            await self._settle(in_doubt, now, deadline if lost else 0.0, outcomes)
        return outcomes

    async def _send(self, commands: list[tuple[Any, ...]], deadline: float) -> list[Any]:
        """Replies in order; ``_NOT_SENT`` where a command surely never reached the
        server, ``_LOST`` where it may have run but no reply was read."""
        budget = max(0.0, deadline - time.time())
        if isinstance(self.redis, RedisCluster):
            return await self._send_cluster(commands, budget)
        pool = self.redis.connection_pool
        try:
            conn = await asyncio.wait_for(pool.get_connection(), budget)
        except Exception as exc:
            if not _is_store_error(exc):
                raise
            log.warning("event store unreachable, batch not sent: %r", exc)
            return [_NOT_SENT] * len(commands)
        replies: list[Any] = [_LOST] * len(commands)
        loop = asyncio.get_running_loop()
        try:
            await conn.send_packed_command(pack_commands(commands), check_health=False)
            # one timer for all the replies (not one per read): past the deadline plus
            # the allowed skew, TimeoutError leaves the unread ones lost
            async with asyncio.timeout_at(loop.time() + deadline + self.clock_skew_s - time.time()):
                for n in range(len(commands)):
                    try:
                        replies[n] = await conn.read_response(timeout=math.inf)
                    except ResponseError as exc:
                        replies[n] = exc
        except BaseException as exc:
            await conn.disconnect(nowait=True)
            if not _is_store_error(exc):
                raise
            log.warning("event store failed mid-batch: %r", exc)
        finally:
            await pool.release(conn)
        return replies

    async def _send_cluster(self, commands: list[tuple[Any, ...]], budget: float) -> list[Any]:
        # redis-py's cluster pipeline routes each script to its slot's node; after a
        # failure we cannot tell which nodes ran theirs, so all are settled by reading.
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for command in commands:
                    pipe.execute_command(*command)
                return list(
                    await asyncio.wait_for(pipe.execute(raise_on_error=False), budget + 0.001)
                )
        except Exception as exc:
            if not _is_store_error(exc):
                raise
            log.warning("event store failed mid-batch: %r", exc)
            return [_LOST] * len(commands)

    async def _settle(
        self, groups: list[_UserBatch], now: float, deadline: float, outcomes: list[Outcome]
    ) -> None:
        """Once past ``deadline`` no script of this batch can still run: read what is stored."""
        wait = deadline + self.clock_skew_s - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for g in groups:
                    pipe.zmscore(UserKeys(self.prefix, g.user_id).seen_events, g.event_ids)
                scores = await asyncio.wait_for(pipe.execute(), self.timeout_s)
        except Exception as exc:
            if not _is_store_error(exc):
                raise
            log.warning("could not tell which events of a failed batch were stored: %r", exc)
            return  # they stay "unknown"
        for g, user_scores in zip(groups, scores, strict=True):
            first: set[str] = set()
            for i, event_id, score in zip(g.positions, g.event_ids, user_scores, strict=True):
                if score is None:
                    outcomes[i] = "not_stored"
                elif float(score) == now and event_id not in first:
                    outcomes[i] = "accepted"
                else:
                    outcomes[i] = "duplicate"
                first.add(event_id)


# HINCRBYFLOAT of many fields of one hash (one key: one slot); ARGV[1] is a JSON object
# field -> increment (one argument, not two per field: the client's cost is per argument)
INCR_FIELDS_LUA = """
for f, v in pairs(cjson.decode(ARGV[1])) do
  redis.call('HINCRBYFLOAT', KEYS[1], f, string.format('%.17g', v))
end
return 1
"""


def incr_fields(key: str, fields: Mapping[str, float]) -> tuple[str, str, int, str, bytes]:
    """The command that adds ``fields`` (field -> increment) to the hash ``key``."""
    return ("EVAL", INCR_FIELDS_LUA, 1, key, orjson.dumps(fields))


def pack_commands(commands: Sequence[Sequence[str | bytes | int]]) -> bytes:
    """The commands in the Redis protocol, in one buffer (what redis-py's packer makes,
    without its per-argument dispatch: a batch is hundreds of commands of 17 arguments)."""
    out: list[bytes] = []
    for command in commands:
        out.append(b"*%d\r\n" % len(command))
        for arg in command:
            raw = arg if isinstance(arg, bytes) else str(arg).encode()
            out.append(b"$%d\r\n%b\r\n" % (len(raw), raw))
    return b"".join(out)


async def send_batch(redis: Any, commands: Sequence[Sequence[str | bytes | int]]) -> list[Any]:
    """The replies of ``commands``, sent in one round trip on one connection (an error
    reply is a :class:`ResponseError` in the list). Cheaper per command than redis-py's
    pipeline for hundreds of small commands; on Redis Cluster it is that pipeline.
    A failure (or cancellation) closes the connection and propagates."""
    if not commands:
        return []
    if isinstance(redis, RedisCluster):
        async with redis.pipeline(transaction=False) as pipe:
            for command in commands:
                pipe.execute_command(*command)
            return list(await pipe.execute(raise_on_error=False))
    pool = redis.connection_pool
    conn = await pool.get_connection()
    replies: list[Any] = []
    try:
        await conn.send_packed_command(pack_commands(commands), check_health=False)
        # the socket timeout bounds the whole batch, not each reply: one timer, not hundreds
        async with asyncio.timeout(conn.socket_timeout):
            for _ in commands:
                try:
                    replies.append(await conn.read_response(timeout=math.inf))
                except ResponseError as exc:
                    replies.append(exc)
    except BaseException:
        await conn.disconnect(nowait=True)
        raise
    finally:
        await pool.release(conn)
    return replies


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


_NOT_SENT = _Marker("not sent")
_LOST = _Marker("reply lost")


def _is_store_error(exc: BaseException) -> bool:
    return isinstance(exc, STORE_ERRORS)
