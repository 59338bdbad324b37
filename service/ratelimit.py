"""Rate limits counted in Redis, shared by every worker: fixed windows.

Two limits:

* **per API key and scope** -- requests one key may make in a window on the routes of one
  scope. Counting every request in Redis would add a round trip to every decision, so each
  worker *leases* tokens: one ``INCRBY <lease>`` takes a batch from the shared counter and
  the next requests spend it locally. The cost is one round trip per ``lease`` requests of
  a key on a worker; the price is precision -- a worker holding an unspent lease when the
  window ends loses it, so a key may get up to ``workers * (lease - 1)`` requests fewer
  than its limit per window, never more. ``lease = 1`` counts exactly.
* **failed authentications per client address** -- every failure is counted in Redis (a
  failure is not on anyone's hot path). Past the limit the address is blocked for the rest
  of the window: the worker remembers it locally and answers every request from it 429
  before looking at the key, so guessing stops even for a right guess. Another worker
  learns it at the next failure it sees there.

Keys (one per window, expiring with it) carry a hash tag of their own identity, so every
command touches one slot of a Redis Cluster::

    <p>:{rl:key:<key id>}:<scope>:<window>      counter of the key's requests
    <p>:{rl:addr:<address>}:fail:<window>       counter of the address's failed auths

When Redis fails, the limiter fails open (requests are served; a warning is logged) and
does not ask Redis again for a second, so an outage costs no extra latency.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from domain.keys import RateLimitKeys

log = logging.getLogger("service.ratelimit")

#: after a Redis failure, serve without counting for this long before asking again
FAIL_OPEN_S = 1.0


@dataclass
class _Lease:
    window: int = -1
    tokens: int = 0
    denied: bool = False


class RateLimiter:
    def __init__(
        self,
        redis: Any,
        *,
        prefix: str,
        window_s: int,
        limits: Mapping[str, int],
        lease: int,
        failed_auth_limit: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.keys = RateLimitKeys(prefix)
        self.window_s = window_s
        self.limits = dict(limits)
        self.lease = lease
        self.failed_auth_limit = failed_auth_limit
        self.clock = clock
        self._leases: dict[tuple[str, str], _Lease] = {}
        self._blocked: dict[str, float] = {}  # address -> blocked until (epoch seconds)
        self._open_until = 0.0

    # ----------------------------------------------------------------- keys
    def key_counter(self, key_id: str, scope: str, window: int) -> str:
        return self.keys.key_counter(key_id, scope, window)

    def address_counter(self, address: str, window: int) -> str:
        return self.keys.address_counter(address, window)

    def _window(self, now: float) -> tuple[int, float]:
        """The window index at ``now`` and the seconds left in it (at least 1)."""
        window = int(now // self.window_s)
        left = (window + 1) * self.window_s - now
        return window, float(max(1, math.ceil(left)))

    async def _incr(self, key: str, amount: int) -> int | None:
        """``INCRBY`` and ``EXPIRE`` in one round trip; None while Redis is failing."""
        if self.clock() < self._open_until:
            return None
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.incrby(key, amount)
                pipe.expire(key, self.window_s + 1)
                count, _ = await pipe.execute()
        except (RedisError, OSError, TimeoutError) as exc:
            self._open_until = self.clock() + FAIL_OPEN_S
            log.warning("rate limits not counted for %.0f s: Redis failed: %r", FAIL_OPEN_S, exc)
            return None
        return int(count)

    # ----------------------------------------------------------------- per key
    async def take(self, key_id: str, scope: str) -> float | None:
        """Count one request of ``key_id`` on a ``scope`` route: None if allowed, else the
        seconds until the window ends (for ``Retry-After``)."""
        limit = self.limits.get(scope)
        if limit is None:
            return None
        now = self.clock()
        window, left = self._window(now)
        state = self._leases.get((key_id, scope))
        if state is None or state.window != window:
            state = self._leases[(key_id, scope)] = _Lease(window=window)
            if len(self._leases) > 10_000:  # forget other windows' leases
                self._leases = {k: v for k, v in self._leases.items() if v.window == window}
        if state.denied:
            return left
        if state.tokens > 0:
            state.tokens -= 1
            return None
        lease = min(self.lease, limit)
        count = await self._incr(self.key_counter(key_id, scope, window), lease)
        if count is None:  # fail open
            return None
        granted = min(lease, limit - (count - lease))
        if granted <= 0:
            state.denied = True
            return left
        state.tokens += granted - 1
        return None

    # ----------------------------------------------------------------- failed auth
    def blocked(self, address: str) -> float | None:
        """Seconds the address stays blocked (local knowledge, no round trip), or None."""
        until = self._blocked.get(address)
        if until is None:
            return None
        left = until - self.clock()
        if left <= 0:
            del self._blocked[address]
            return None
        return float(max(1, math.ceil(left)))

    async def failed_auth(self, address: str) -> float | None:
        """Count a failed authentication: None while under the limit, else the seconds the
        address is blocked for."""
        now = self.clock()
        window, left = self._window(now)
        count = await self._incr(self.address_counter(address, window), 1)
        if count is None or count <= self.failed_auth_limit:
            return None
        if len(self._blocked) > 10_000:
            self._blocked = {a: t for a, t in self._blocked.items() if t > now}
        self._blocked[address] = now + left
        return left
