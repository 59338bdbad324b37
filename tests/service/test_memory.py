"""The worker's malloc tuning (service.memory): applied on glibc, a no-op when asked for none."""

from __future__ import annotations

import ctypes.util

import pytest

from service.memory import tune_malloc


def test_nothing_asked_nothing_changed() -> None:
    assert tune_malloc(0, 0) is False


@pytest.mark.skipif(ctypes.util.find_library("c") != "libc.so.6", reason="not glibc")
def test_glibc_takes_the_arena_cap_and_the_mmap_threshold() -> None:
    assert tune_malloc(8, 0) is True
    assert tune_malloc(0, 128 * 1024) is True  # glibc's initial threshold
