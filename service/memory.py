"""How a worker's C heap grows: glibc's malloc arenas.

glibc gives each thread that allocates its own arena (up to eight per core), and an arena
keeps the memory it once held. A worker runs catalog builds, the semantic prototypes and
pydantic validation in worker threads, so its resident size grew by one arena's worth of
peak allocations per thread (582 to 654 MB at 100,000 actions). Capping the arenas makes
those threads share the heap the event loop's thread already has.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging

log = logging.getLogger("service.memory")

#: glibc's ``mallopt`` parameter number of ``M_ARENA_MAX`` (malloc.h)
M_ARENA_MAX = -8


def limit_malloc_arenas(arenas: int) -> bool:
    """At most ``arenas`` glibc malloc arenas in this process from now on (0: leave the
    default); False when the C library is not glibc (nothing to do)."""
    if arenas <= 0:
        return False
    with contextlib.suppress(OSError, AttributeError):
        done = ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, arenas)
        if done != 1:
            log.warning("mallopt(M_ARENA_MAX, %d) refused", arenas)
        return bool(done == 1)
    return False
