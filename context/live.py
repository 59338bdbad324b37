"""Cheap change detection on one customer's state, for live views (the agent console).

A *change token* summarises what a live view shows about a user in a few bytes: the
newest accepted event (the history list's head and length) and the live journey (its
``updated_at`` and the newest journey step). Reading it is one pipelined round trip of
four O(1) commands on one Redis slot, so a watcher can poll it several times a second.

The token is split in two halves, so a watcher can tell *what* changed:

* ``events``: a new event was accepted (another channel, or an agent's outcome);
* ``journey``: only the live journey moved (e.g. a decision was served).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from domain.errors import StoreUnavailable
from domain.keys import UserKeys

#: separates the two halves of a token
_SEP = "."


@dataclass(frozen=True)
class ChangeToken:
    events: str
    journey: str

    def encode(self) -> str:
        return f"{self.events}{_SEP}{self.journey}"

    @classmethod
    def decode(cls, raw: str | None) -> ChangeToken | None:
        if not raw or raw.count(_SEP) != 1:
            return None
        events, journey = raw.split(_SEP)
        return cls(events, journey)


@dataclass(frozen=True)
class Changes:
    token: str
    changed: bool
    events: bool
    journey: bool


def _digest(*parts: bytes | None) -> str:
    h = hashlib.blake2s(digest_size=8)
    for part in parts:
        # length-prefixed, so that (b"ab", b"c") and (b"a", b"bc") differ
        h.update(b"-" if part is None else b"%d:" % len(part) + part)
    return h.hexdigest()


def _bytes(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    return str(value).encode()


async def read_token(redis: Any, keys: UserKeys) -> ChangeToken:
    """The user's current change token (one pipelined round trip)."""
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.llen(keys.history)
            pipe.lindex(keys.history, 0)
            pipe.hget(keys.journey, "updated_at")
            pipe.lindex(keys.steps, 0)
            n_events, newest, updated_at, newest_step = await pipe.execute()
    except (TimeoutError, RedisError, OSError) as exc:
        raise StoreUnavailable("the user store is unavailable; retry shortly") from exc
    events = _digest(str(int(n_events or 0)).encode(), _bytes(newest))
    journey = _digest(_bytes(updated_at), _bytes(newest_step))
    return ChangeToken(events, journey)


async def wait_for_change(
    redis: Any,
    keys: UserKeys,
    since: str | None,
    *,
    timeout_s: float,
    poll_s: float = 0.25,
    gone: Callable[[], Awaitable[bool]] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Changes:
    """Wait until the user's token differs from ``since``, or ``timeout_s`` passes.

    Without a (valid) ``since`` the current token is returned at once, so a watcher's
    first call tells it where to start. ``gone`` is asked between polls; when it says
    the watcher left, waiting stops early.
    """
    previous = ChangeToken.decode(since)
    deadline = clock() + timeout_s
    while True:
        current = await read_token(redis, keys)
        if previous is None:
            return Changes(current.encode(), changed=False, events=False, journey=False)
        if current != previous:
            return Changes(
                current.encode(),
                changed=True,
                events=current.events != previous.events,
                journey=current.journey != previous.journey,
            )
        remaining = deadline - clock()
        if remaining <= 0 or (gone is not None and await gone()):
            return Changes(current.encode(), changed=False, events=False, journey=False)
        await asyncio.sleep(min(poll_s, remaining))


async def journey_language(redis: Any, keys: UserKeys) -> str | None:
    """The language of the user's live journey, if one is going on."""
    try:
        raw = await redis.hget(keys.journey, "language")
    except (TimeoutError, RedisError, OSError):
        return None
    if raw is None:
        return None
    value = raw.decode() if isinstance(raw, bytes) else str(raw)
    return value if len(value) == 2 and value.isalpha() and value.islower() else None
