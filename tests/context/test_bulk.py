"""Merged writes: grouping into calls, many hashes' increments in a few calls, many lists read
in one round trip."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from context.bulk import HASHES_PER_CALL, chunks, incr_hashes, send_batch


def test_chunks_close_at_the_limit_and_keep_slots_apart() -> None:
    sizes = [3, 1, 2, 5, 1, 1]
    assert chunks(sizes, size=lambda x: x, limit=4, slot=None) == [[3, 1], [2, 5], [1, 1]]
    # by parity as the "slot": a group only holds items of one slot, in order
    groups = chunks(range(10), size=lambda _: 1, limit=3, slot=lambda x: x % 2)
    assert groups == [[0, 2, 4], [1, 3, 5], [6, 8], [7, 9]]


async def test_increments_of_many_hashes_take_a_few_calls(redis: Any) -> None:
    rows = {f"h{n}": {"a": 0.5 + n, "b": -1.25} for n in range(2 * HASHES_PER_CALL + 1)}
    rows["empty"] = {}
    commands = incr_hashes(redis, rows)
    assert len(commands) == 3
    for _ in range(2):
        assert all(r == 1 for r in await send_batch(redis, commands))
    for n in range(2 * HASHES_PER_CALL + 1):
        got = await redis.hgetall(f"h{n}")
        assert float(got[b"a"]) == pytest.approx(2 * (0.5 + n), rel=1e-15)
        assert float(got[b"b"]) == -2.5
    assert await redis.exists("empty") == 0


async def test_a_call_adds_to_about_fields_per_call_fields(redis: Any) -> None:
    from context.bulk import FIELDS_PER_CALL

    big = {f"f{n}": n + 0.5 for n in range(2 * FIELDS_PER_CALL + 5)}
    rows = {"big": big, "small": {"a": 1.0}, "mid": {f"m{n}": 1.0 for n in range(100)}}
    commands = incr_hashes(redis, rows)
    # the big hash is split over calls; no call carries much more than the bound
    assert len(commands) == 3
    assert all(sum(map(len, orjson.loads(c[-1]))) <= FIELDS_PER_CALL for c in commands)
    assert all(r == 1 for r in await send_batch(redis, commands))
    got = await redis.hgetall("big")
    assert {k.decode(): float(v) for k, v in got.items()} == big
    assert await redis.hlen("mid") == 100 and await redis.hget("small", "a") == b"1"


async def test_many_lists_are_read_in_one_round_trip(redis: Any) -> None:
    from context.bulk import LISTS_PER_CALL, read_lists

    for n in range(LISTS_PER_CALL + 5):
        await redis.rpush(f"l{n}", *[f"{n}-{i}" for i in range(n % 7 + 1)])
    ranges = [(f"l{n}", 0, n % 3) for n in range(LISTS_PER_CALL + 5)] + [("missing", 0, -1)]
    got = await read_lists(redis, ranges)
    assert got == [await redis.lrange(k, a, b) for k, a, b in ranges]
    assert got[-1] == []


async def test_fields_are_taken_once_in_order(redis: Any) -> None:
    from context.bulk import LISTS_PER_CALL, take_fields

    for n in range(LISTS_PER_CALL + 3):
        await redis.hset(f"h{n}", mapping={"a": f"a{n}", "b": f"b{n}"})
    wanted = [(f"h{n}", "a") for n in range(LISTS_PER_CALL + 3)] + [("h0", "a"), ("h1", "x")]
    got = await take_fields(redis, wanted)
    assert got[: LISTS_PER_CALL + 3] == [f"a{n}".encode() for n in range(LISTS_PER_CALL + 3)]
    assert got[-2:] == [None, None]  # taken already; never there
    assert await redis.hgetall("h0") == {b"b": b"b0"}


async def test_kept_connections_are_reused_and_dropped_connections_recover(redis: Any) -> None:
    """send_batch keeps the connections it used for the next batches (not the pool's get
    and release per batch); once the server has closed them, a batch still gets through
    (a kept connection is checked before use; ``call`` tries a failed one once more)."""
    import asyncio

    from context.bulk import _kept, call

    async def one(n: int) -> list[Any]:
        return await send_batch(redis, [("SET", f"k{n}", n), ("GET", f"k{n}")])

    assert await asyncio.gather(*(one(n) for n in range(4))) == [
        [b"OK", str(n).encode()] for n in range(4)
    ]
    kept = _kept[redis.connection_pool]
    assert 1 <= len(kept) <= 4
    before = list(kept)
    await one(9)
    assert kept[-1] in before  # reused, not a new one
    await redis.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
    assert await call(redis, [("GET", "k9")], [None]) == [b"9"]
    assert await one(10) == [b"OK", b"10"]
