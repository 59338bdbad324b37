"""Redis connections that wait for a command's write only when the socket is full.

redis-py bounds each write to the socket by ``socket_timeout`` with ``asyncio.wait_for``,
which wraps the write in a new task: one task, and one more turn of the event loop, for
every command and every pipeline a request sends. A decision sends three; on a route
answering in a few milliseconds that is a measurable share of its CPU. A command is a few
hundred bytes, which the kernel nearly always takes at once: the connections here hand
the bytes to the transport and wait (``drain``, bounded by the same ``socket_timeout``
with ``asyncio.timeout``, in the caller's task) only when some are still buffered.
Otherwise they behave as redis-py's: a timed-out or failed write disconnects and raises
redis-py's ``TimeoutError`` / ``ConnectionError``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

_FAST: dict[type[Any], type[Any]] = {}


class _TimeoutScopeWrite(AbstractConnection):
    async def send_packed_command(
        self, command: bytes | str | Iterable[bytes], check_health: bool = True
    ) -> None:
        timeout = self.socket_timeout
        if not timeout:
            await super().send_packed_command(command, check_health)
            return
        if not self.is_connected:
            await self.connect_check_health(check_health=False)
        if check_health:
            await self.check_health()  # type: ignore[no-untyped-call]
        chunks = [command.encode()] if isinstance(command, str) else command
        chunks = [chunks] if isinstance(chunks, bytes) else chunks
        writer = self._writer
        if writer is None:
            raise RedisConnectionError("Error while writing to socket: not connected.")
        try:
            writer.writelines(chunks)
            if writer.transport.get_write_buffer_size():  # the kernel did not take it all
                async with asyncio.timeout(timeout):
                    await writer.drain()
        except TimeoutError:
            await self.disconnect(nowait=True)
            raise RedisTimeoutError("Timeout writing to socket") from None
        except OSError as exc:
            await self.disconnect(nowait=True)
            args = exc.args
            code, message = args[:2] if len(args) >= 2 else ("UNKNOWN", args[0] if args else exc)
            raise RedisConnectionError(f"Error {code} while writing to socket. {message}.") from exc
        except BaseException:
            # a write cancelled half-way leaves the stream unusable
            await self.disconnect(nowait=True)
            raise


def scoped_write(connection_class: type[Any]) -> type[Any]:
    """``connection_class`` with its writes bounded by a timeout scope (cached)."""
    fast = _FAST.get(connection_class)
    if fast is None:
        fast = _FAST[connection_class] = type(
            f"ScopedWrite{connection_class.__name__}",
            (_TimeoutScopeWrite, connection_class),
            {"__module__": __name__},
        )
    return fast
