"""Many small writes in few commands: packing a batch of commands, sending it in one round
trip, and adding to the fields of many hashes with a few script calls.

The client's cost is per command and per argument (redis-py dispatches, packs and parses
each), and Redis's per call: a batch of events makes hundreds of them, so they are packed
here in one buffer and, where the keys allow it, merged into fewer calls. On Redis Cluster
a script may only touch keys of one hash slot, so calls are merged per slot there.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import orjson
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError

Command = Sequence[str | bytes | int]
T = TypeVar("T")

#: how many hashes, and about how many fields, one call of :data:`INCR_HASHES_LUA` adds to
#: (bounds a call's run time: a call holds up other clients for as long as it runs)
HASHES_PER_CALL = 64
FIELDS_PER_CALL = 1024

# HINCRBYFLOAT of many fields of some hashes; ARGV[1] is a JSON list with, per key in KEYS
# order, an object field -> increment (one argument, not two per field: the client's cost
# is per argument)
INCR_HASHES_LUA = """
local rows = cjson.decode(ARGV[1])
for i, key in ipairs(KEYS) do
  for f, v in pairs(rows[i]) do
    redis.call('HINCRBYFLOAT', key, f, string.format('%.17g', v))
  end
end
return 1
"""


def is_cluster(redis: Any) -> bool:
    return isinstance(redis, RedisCluster)


def chunks(
    items: Iterable[T], *, size: Callable[[T], int], limit: int, slot: Callable[[T], int] | None
) -> list[list[T]]:
    """``items`` in groups, in order, each closed once its ``size``s reach ``limit`` (an
    item is never split); with ``slot``, only items of one slot share a group."""
    groups: list[list[T]] = []
    filling: dict[int, list[T]] = {}  # slot -> its group still taking items
    totals: dict[int, int] = {}
    for item in items:
        where = slot(item) if slot is not None else 0
        group = filling.get(where)
        if group is None:
            group = filling[where] = []
            totals[where] = 0
            groups.append(group)
        group.append(item)
        totals[where] += size(item)
        if totals[where] >= limit:
            del filling[where]
    return groups


def incr_hashes(redis: Any, rows: Mapping[str, Mapping[str, float]]) -> list[Command]:
    """The commands that add ``rows`` (key -> field -> increment) to those hashes: a few
    script calls of up to :data:`HASHES_PER_CALL` hashes and about :data:`FIELDS_PER_CALL`
    fields (a larger hash is split over calls; on Redis Cluster, one slot's per call)."""
    slot = key_slot_of if is_cluster(redis) else None
    items: list[tuple[str, Mapping[str, float]]] = []
    for key, fields in rows.items():
        if len(fields) <= FIELDS_PER_CALL:
            if fields:
                items.append((key, fields))
            continue
        pairs = list(fields.items())
        for start in range(0, len(pairs), FIELDS_PER_CALL):
            items.append((key, dict(pairs[start : start + FIELDS_PER_CALL])))
    # a hash counts as at least FIELDS_PER_CALL / HASHES_PER_CALL fields: both bounds hold
    least = FIELDS_PER_CALL // HASHES_PER_CALL
    return [
        (
            "EVAL",
            INCR_HASHES_LUA,
            len(group),
            *(k for k, _ in group),
            orjson.dumps([v for _, v in group]),
        )
        for group in chunks(
            items,
            size=lambda kv: max(len(kv[1]), least),
            limit=FIELDS_PER_CALL,
            slot=(lambda kv: slot(kv[0])) if slot is not None else None,
        )
    ]


#: how many keys one call of :data:`TAKE_FIELDS_LUA` reads
LISTS_PER_CALL = 64


async def read_lists(redis: Any, ranges: Sequence[tuple[str, int, int]]) -> list[list[bytes]]:
    """``LRANGE key start stop`` of each of ``ranges``, in order, in one round trip.
    Plain commands, not a script: Redis copies every element of a script's reply into Lua
    and back (for 400 lists of 50 entries about 2.5 times the CPU of the plain commands,
    while the client's cost is about the same). Raises the first error reply."""
    replies = await send_batch(redis, [("LRANGE", k, start, stop) for k, start, stop in ranges])
    for reply in replies:
        if isinstance(reply, Exception):
            raise reply
    return replies


# HGET then HDEL of one field per key (ARGV[i] is KEYS[i]'s field): each taken at most once
TAKE_FIELDS_LUA = """
local out = {}
for i, key in ipairs(KEYS) do
  local v = redis.call('HGET', key, ARGV[i])
  if v then redis.call('HDEL', key, ARGV[i]) end
  out[i] = v
end
return out
"""


async def take_fields(redis: Any, wanted: Sequence[tuple[str, str]]) -> list[bytes | None]:
    """Read and delete field ``f`` of hash ``k`` for each ``(k, f)`` of ``wanted``, in order
    (a field asked for twice is had by the first), in one round trip of a few script calls.
    Raises the first error reply."""
    slot = (lambda w: key_slot_of(w[1][0])) if is_cluster(redis) else None
    numbered = list(enumerate(wanted))
    groups = chunks(numbered, size=lambda _: 1, limit=LISTS_PER_CALL, slot=slot)
    commands: list[Command] = [
        ("EVAL", TAKE_FIELDS_LUA, len(g), *(k for _, (k, _f) in g), *(f for _, (_k, f) in g))
        for g in groups
    ]
    out: list[bytes | None] = [None] * len(wanted)
    for group, reply in zip(groups, await send_batch(redis, commands), strict=True):
        if isinstance(reply, Exception):
            raise reply
        for (n, _), value in zip(group, reply, strict=True):
            out[n] = value
    return out


def incr_fields(key: str, fields: Mapping[str, float]) -> Command:
    """The command that adds ``fields`` (field -> increment) to the hash ``key``."""
    return ("EVAL", INCR_HASHES_LUA, 1, key, orjson.dumps([fields]))


def key_slot_of(key: str) -> int:
    return int(key_slot(key.encode()))


def pack_commands(commands: Iterable[Command]) -> bytes:
    """The commands in the Redis protocol, in one buffer (what redis-py's packer makes,
    without its per-argument dispatch)."""
    out: list[bytes] = []
    add = out.append
    for command in commands:
        add(b"*%d\r\n" % len(command))
        for arg in command:
            kind = type(arg)
            if kind is str:
                raw = arg.encode()  # type: ignore[union-attr]
            elif kind is bytes:
                raw = arg  # type: ignore[assignment]
            else:
                raw = arg if isinstance(arg, bytes) else str(arg).encode()
            if len(raw) > _INLINE:  # a large argument is not copied into a header
                add(b"$%d\r\n" % len(raw))
                add(raw)
                add(b"\r\n")
            else:
                add(b"$%d\r\n%b\r\n" % (len(raw), raw))
    return b"".join(out)


#: arguments up to this size are formatted with their header (larger: appended as they are)
_INLINE = 1024


async def send_batch(redis: Any, commands: Sequence[Command]) -> list[Any]:
    """The replies of ``commands``, sent in one round trip on one connection (an error
    reply is a :class:`ResponseError` in the list). Cheaper per command than redis-py's
    pipeline for hundreds of small commands; on Redis Cluster it is that pipeline.
    A failure (or cancellation) closes the connection and propagates."""
    if not commands:
        return []
    if is_cluster(redis):
        async with redis.pipeline(transaction=False) as pipe:
            for command in commands:
                pipe.execute_command(*command)
            return list(await pipe.execute(raise_on_error=False))
    pool = redis.connection_pool
    kept = _kept.get(pool)
    if kept is None:
        kept = _kept[pool] = []
    conn = await _borrow(pool, kept)
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
        # this connection, and the others kept (a restarted server dropped them all), go
        # back to the pool, which checks a connection before it lends it again
        dropped = [conn, *kept]
        kept.clear()
        for each in dropped:
            if each is conn:
                await each.disconnect(nowait=True)
            with contextlib.suppress(KeyError):  # a pool reset since: it no longer counts it
                await pool.release(each)
        raise
    if len(kept) < KEPT_CONNECTIONS:
        kept.append(conn)
    else:
        await pool.release(conn)
    return replies


#: connections :func:`send_batch` keeps between batches, per pool
KEPT_CONNECTIONS = 64
# pool -> the connections it lent to send_batch, idle now. A decision makes three round
# trips, and redis-py's get and release of a pooled connection cost more than packing
# them (a lock, observability records and an event dispatch, each way). A kept connection
# stays counted as in use by its pool (which holds it weakly); it is made ready as the
# pool would before lending it.
_kept: weakref.WeakKeyDictionary[Any, list[Any]] = weakref.WeakKeyDictionary()


async def _borrow(pool: Any, kept: list[Any]) -> Any:
    """A kept connection, connected and with nothing left to read, else the pool's."""
    while kept:
        conn = kept.pop()
        try:
            if conn.should_reconnect():
                await conn.disconnect()
            if not conn.is_connected:
                await conn.connect()
            elif await conn.can_read():  # data or end of stream: not safe to reuse
                await conn.disconnect()
                await conn.connect()
            return conn
        except BaseException:
            await conn.disconnect(nowait=True)
            with contextlib.suppress(KeyError):
                await pool.release(conn)
            raise
    return await pool.get_connection()


class Script:
    """A Lua script called by its SHA1 (its text is sent again only to a server that does
    not know it yet: a new, restarted or flushed one)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.sha = hashlib.sha1(text.encode()).hexdigest()

    def command(self, keys: Sequence[str], args: Sequence[str | bytes | int | float]) -> Command:
        return ("EVALSHA", self.sha, len(keys), *keys, *(_arg(a) for a in args))

    def with_text(self, command: Command) -> Command:
        """``command`` (made by :meth:`command`) as an ``EVAL`` that carries the text."""
        return ("EVAL", self.text, *command[2:])


def _arg(value: str | bytes | int | float) -> str | bytes | int:
    # what redis-py sends for a float (repr): the same digits either way
    return repr(value) if isinstance(value, float) else value


async def call(
    redis: Any, commands: Sequence[Command], scripts: Sequence[Script | None]
) -> list[Any]:
    """The replies of ``commands`` (``scripts[i]``: the script ``commands[i]`` calls by
    SHA1, else None), sent in one round trip by :func:`send_batch`; a script the server did
    not know is sent again with its text. Raises the first error reply. A connection that
    fails (a stale one, after a restart of Redis) is tried once more on a fresh one, as
    redis-py's own retry does; a timeout is not retried."""
    try:
        replies = await send_batch(redis, commands)
    except RedisConnectionError:
        replies = await send_batch(redis, commands)
    unknown = [
        n
        for n, reply in enumerate(replies)
        if isinstance(reply, NoScriptError) and scripts[n] is not None
    ]
    if unknown:
        again = [scripts[n].with_text(commands[n]) for n in unknown]  # type: ignore[union-attr]
        for n, reply in zip(unknown, await send_batch(redis, again), strict=True):
            replies[n] = reply
    for reply in replies:
        if isinstance(reply, Exception):
            raise reply
    return replies
