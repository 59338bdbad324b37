"""How a worker's C heap grows: glibc's malloc arenas and its mmap threshold.

glibc gives each thread that allocates an arena of its own (up to eight per core), and an
arena keeps the memory it once held. A worker builds catalogs, semantic prototypes and
validates catalog writes in worker threads, so its resident size grew by an arena's worth
of peak allocations per thread (582 to 654 MB at 100,000 actions). Capping the arenas makes
those threads share the heap the event loop's thread already has.

Large blocks (numpy arrays) are mapped on their own from ``mmap_threshold`` bytes, so a
catalog build's temporaries go back to the system when freed instead of staying in the
heap; glibc would otherwise raise the threshold as such blocks are freed (up to 32 MB).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging

log = logging.getLogger("service.memory")

#: glibc's ``mallopt`` parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8


def _mallopt(param: int, value: int) -> bool:
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        done = ctypes.CDLL("libc.so.6").mallopt(param, value)
        if done != 1:
            log.warning("mallopt(%d, %d) refused", param, value)
        return bool(done == 1)
    return False


def tune_malloc(arenas: int, mmap_threshold: int) -> bool:
    """At most ``arenas`` glibc malloc arenas in this process from now on, and blocks of at
    least ``mmap_threshold`` bytes mapped on their own (each 0: leave glibc's default);
    False when nothing was changed (not glibc, or both 0)."""
    changed = False
    if arenas > 0:
        changed = _mallopt(M_ARENA_MAX, arenas)
    if mmap_threshold > 0:
        changed = _mallopt(M_MMAP_THRESHOLD, mmap_threshold) or changed
    return changed
