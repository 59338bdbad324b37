"""Storing a batch of planned events: atomically per user, and an honest outcome.

A batch is split by user. A user's events go to Redis in ONE script call
(:mod:`context.event_script`) over that user's keys: it checks each ``event_id`` against
the user's seen-set and applies the new ones, all or none of them. One call carries several
users (up to :data:`EVENTS_PER_CALL` events; on Redis Cluster only users of one hash slot,
as a script may touch only one slot), and the calls of a batch travel in one pipelined
round trip. A call that fails applies nothing of any of its users.

What the caller is told about each event is true:

* ``accepted`` / ``duplicate``: the script's reply was read; the event is stored.
* ``not_stored``: certainly not stored. Either the script never left (no connection),
  or it refused to run because it arrived after the batch's **deadline**: every script
  call carries ``deadline`` and compares it with the server's clock first, so a script that
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
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from redis.exceptions import NoScriptError, ResponseError

from context.bulk import chunks, is_cluster, key_slot_of, pack_commands
from context.event_script import APPLY_EVENTS_LUA, APPLY_EVENTS_SHA, KEY_ORDER
from context.events import Op
from context.store import STORE_ERRORS
from domain.keys import UserKeys

log = logging.getLogger("waypoint.events")

Outcome = Literal["accepted", "duplicate", "not_stored", "unknown"]
STORED: frozenset[str] = frozenset({"accepted", "duplicate"})

#: how many events one script call carries on a single Redis (a user's are never split):
#: few calls keep the client's and Redis's per-call cost low, and a call short enough
#: (a few milliseconds) not to hold up other clients
EVENTS_PER_CALL = 100


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
    events: list[tuple[str, list[Op]]]  # (event id, ops), in order

    @property
    def event_ids(self) -> list[str]:
        return [event_id for event_id, _ in self.events]


def _group(planned: Sequence[PlannedEvent]) -> list[_UserBatch]:
    by_user: dict[str, _UserBatch] = {}
    for i, p in enumerate(planned):
        user = by_user.get(p.user_id)
        if user is None:
            user = by_user[p.user_id] = _UserBatch(p.user_id, [], [])
        user.positions.append(i)
        user.events.append((p.event_id, p.ops))
    return list(by_user.values())


def _resp(arg: str | bytes) -> bytes:
    raw = arg if isinstance(arg, bytes) else arg.encode()
    return b"$%d\r\n%b\r\n" % (len(raw), raw)


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
    #: a user's keys in the protocol as one format, filled with (length, user id) per key
    _keys_format: tuple[bytes, tuple[int, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = [key.encode().split(b"\x00") for key in self._keys("\x00")]
        fmt = b"".join(
            b"$%d\r\n" + before.replace(b"%", b"%%") + b"%b" + after.replace(b"%", b"%%") + b"\r\n"
            for before, after in parts
        )
        object.__setattr__(self, "_keys_format", (fmt, tuple(len(b) + len(a) for b, a in parts)))

    def _keys(self, user_id: str) -> list[str]:
        k = UserKeys(self.prefix, user_id)
        return [getattr(k, name) for name in KEY_ORDER]

    def _packed_keys(self, user_id: str) -> bytes:
        fmt, lengths = self._keys_format
        uid = user_id.encode()
        n = len(uid)
        return fmt % tuple(x for base in lengths for x in (base + n, uid))

    async def apply(self, planned: Sequence[PlannedEvent], now: float) -> list[Outcome]:
        """The outcome of every planned event, in order."""
        if not planned:
            return []
        cluster = is_cluster(self.redis)
        calls = chunks(
            _group(planned),
            size=lambda u: len(u.positions),
            limit=EVENTS_PER_CALL,
            # on Redis Cluster a script may only touch one slot's keys
            slot=(lambda u: key_slot_of(UserKeys(self.prefix, u.user_id).seen_events))
            if cluster
            else None,
        )
        deadline = time.time() + self.timeout_s
        forget_before = repr(now - self.dedup_ttl_s)
        args = (str(int(deadline * 1000)), repr(now), forget_before)
        payloads = [orjson.dumps([u.events for u in call]) for call in calls]
        if cluster:
            replies = await self._send_cluster(
                [
                    self._command(APPLY_EVENTS_SHA, c, args, p)
                    for c, p in zip(calls, payloads, strict=True)
                ],
                deadline,
            )
        else:
            packed_args = b"".join(_resp(a) for a in args)
            head = _resp("EVALSHA") + _resp(APPLY_EVENTS_SHA)
            packed = b"".join(
                b"*%d\r\n" % (len(call) * len(KEY_ORDER) + 7)
                + head
                + _resp(str(len(call) * len(KEY_ORDER)))
                + b"".join(self._packed_keys(u.user_id) for u in call)
                + packed_args
                + _resp(payload)
                for call, payload in zip(calls, payloads, strict=True)
            )
            replies = await self._send(packed, len(calls), deadline)
        # a server that does not know the script yet (new, restarted, flushed) ran nothing
        # for those calls: send them again with the script's text
        unknown_script = [n for n, r in enumerate(replies) if _is_noscript(r)]
        if unknown_script:
            again = [
                self._command(APPLY_EVENTS_LUA, calls[n], args, payloads[n], verb="EVAL")
                for n in unknown_script
            ]
            if cluster:
                resent = await self._send_cluster(again, deadline)
            else:
                resent = await self._send(pack_commands(again), len(again), deadline)
            for n, reply in zip(unknown_script, resent, strict=True):
                replies[n] = reply
        outcomes: list[Outcome] = ["unknown"] * len(planned)
        in_doubt: list[_UserBatch] = []
        lost = False
        for call, reply in zip(calls, replies, strict=True):
            positions = [i for u in call for i in u.positions]
            if reply is _NOT_SENT or reply == -1:
                for i in positions:
                    outcomes[i] = "not_stored"
            elif isinstance(reply, list) and len(reply) == len(positions):
                for i, flag in zip(positions, reply, strict=True):
                    outcomes[i] = "accepted" if int(flag) == 1 else "duplicate"
            else:  # lost, or an error reply (which may have come mid-way)
                in_doubt.extend(call)
                lost = lost or reply is _LOST
        if in_doubt:
            # a script whose reply was read has finished; a lost one may still run until
            # its deadline, so only then does the seen-set tell the final truth
            await self._settle(in_doubt, now, deadline if lost else 0.0, outcomes)
        return outcomes

    def _command(
        self,
        script: str,
        call: list[_UserBatch],
        args: tuple[str, str, str],
        payload: bytes,
        *,
        verb: str = "EVALSHA",
    ) -> tuple[Any, ...]:
        keys = [key for u in call for key in self._keys(u.user_id)]
        return (verb, script, len(keys), *keys, *args, payload)

    async def _send(self, packed: bytes, count: int, deadline: float) -> list[Any]:
        """The replies of ``count`` packed commands in order; ``_NOT_SENT`` where a command
        surely never reached the server, ``_LOST`` where it may have run but no reply was
        read."""
        budget = max(0.0, deadline - time.time())
        pool = self.redis.connection_pool
        try:
            conn = await asyncio.wait_for(pool.get_connection(), budget)
        except Exception as exc:
            if not _is_store_error(exc):
                raise
            log.warning("event store unreachable, batch not sent: %r", exc)
            return [_NOT_SENT] * count
        replies: list[Any] = [_LOST] * count
        loop = asyncio.get_running_loop()
        try:
            await conn.send_packed_command(packed, check_health=False)
            # one timer for all the replies (not one per read): past the deadline plus
            # the allowed skew, TimeoutError leaves the unread ones lost
            async with asyncio.timeout_at(loop.time() + deadline + self.clock_skew_s - time.time()):
                for n in range(count):
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

    async def _send_cluster(self, commands: list[tuple[Any, ...]], deadline: float) -> list[Any]:
        # redis-py's cluster pipeline routes each script to its slot's node; after a
        # failure we cannot tell which nodes ran theirs, so all are settled by reading.
        budget = max(0.0, deadline - time.time())
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


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


_NOT_SENT = _Marker("not sent")
_LOST = _Marker("reply lost")


def _is_store_error(exc: BaseException) -> bool:
    return isinstance(exc, STORE_ERRORS)
