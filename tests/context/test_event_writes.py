"""The per-user event script and the outcomes it reports, on real Redis servers."""

from __future__ import annotations

import asyncio
import random
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from context.event_writes import EVENTS_PER_CALL, EventWriter, PlannedEvent
from context.events import Op
from domain.keys import UserKeys
from service.redis_server import connect
from tests.redis_process import needs_redis_server, running_redis


def _random_ops(rng: random.Random, n: int) -> list[Op]:
    ops: list[Op] = []
    for _ in range(rng.randrange(1, 8)):
        kind = rng.choice(["inc", "set", "del", "push", "sadd", "expire"])
        if kind == "inc":
            field = f"i{rng.randrange(4)}"
            ops.append(("hincrbyfloat", "item_affinity", field, repr(rng.random() * 1e6)))
        elif kind == "set":
            ops.append(("hset", "journey", f"f{rng.randrange(4)}", f"v{n}"))
        elif kind == "del":
            ops.append(("hdel", "journey", f"f{rng.randrange(4)}", ""))
        elif kind == "push":
            ops.append(("lpush_trim", "steps", f"s{n}", "7"))
        elif kind == "sadd":
            ops.append(("sadd", "owned", f"o{rng.randrange(9)}", ""))
        else:
            ops.append(("expire", "journey", str(rng.randrange(100, 200)), ""))
    return ops


async def _apply_one_by_one(redis: Any, keys: UserKeys, ops: list[Op]) -> None:
    for op, key, a, b in ops:
        name = getattr(keys, key)
        if op == "hincrbyfloat":
            await redis.hincrbyfloat(name, a, float(b))
        elif op == "hset":
            await redis.hset(name, a, b)
        elif op == "hdel":
            await redis.hdel(name, a)
        elif op == "sadd":
            await redis.sadd(name, a)
        elif op == "lpush_trim":
            await redis.lpush(name, a)
            await redis.ltrim(name, 0, int(b) - 1)
        else:
            await redis.expire(name, int(a))


async def test_merged_script_equals_applying_each_new_event_in_order(redis: Any) -> None:
    """One script per user merges its events' operations; the result must be what the
    operations of the new (not duplicate) events give one after another."""
    rng = random.Random(7)
    planned = [
        PlannedEvent(f"u{rng.randrange(5)}", f"e{rng.randrange(250)}", _random_ops(rng, n))
        for n in range(300)
    ]
    outcomes = await EventWriter(redis, "wp", 86_400).apply(planned, time.time())

    seen: set[tuple[str, str]] = set()
    for p, outcome in zip(planned, outcomes, strict=True):
        new = (p.user_id, p.event_id) not in seen
        seen.add((p.user_id, p.event_id))
        assert outcome == ("accepted" if new else "duplicate")
        if new:
            await _apply_one_by_one(redis, UserKeys("ref", p.user_id), p.ops)
    for user in sorted({p.user_id for p in planned}):
        got, want = UserKeys("wp", user), UserKeys("ref", user)
        assert await redis.hgetall(got.journey) == await redis.hgetall(want.journey)
        assert await redis.lrange(got.steps, 0, -1) == await redis.lrange(want.steps, 0, -1)
        assert await redis.smembers(got.owned) == await redis.smembers(want.owned)
        assert abs(await redis.ttl(got.journey) - await redis.ttl(want.journey)) <= 1
        counted = await redis.hgetall(got.item_affinity)
        reference = await redis.hgetall(want.item_affinity)
        assert counted.keys() == reference.keys()
        for f, v in reference.items():
            assert float(counted[f]) == pytest.approx(float(v), rel=1e-12)


async def test_a_batch_of_many_users_takes_several_calls_each_user_once(redis: Any) -> None:
    planned = [
        PlannedEvent(f"m{n % 230}", f"e{n}", [("sadd", "owned", f"o{n}", "")])
        for n in range(3 * EVENTS_PER_CALL + 20)
    ]
    writer = EventWriter(redis, "wp", 86_400)
    assert await writer.apply(planned, time.time()) == ["accepted"] * len(planned)
    assert await writer.apply(planned[::-1], time.time()) == ["duplicate"] * len(planned)
    for n in range(230):
        owned = await redis.smembers(UserKeys("wp", f"m{n}").owned)
        assert owned == {f"o{k}".encode() for k in range(n, len(planned), 230)}


async def test_a_bad_op_leaves_the_user_untouched(redis: Any) -> None:
    ops: list[Op] = [("hset", "journey", "a", "1"), ("hincrbyfloat", "journey", "b", "1")]
    planned = [PlannedEvent("mixed", "e1", ops)]
    # an error reply, then the seen-set says what happened: nothing
    assert await EventWriter(redis, "wp", 86_400).apply(planned, time.time()) == ["not_stored"]
    assert await redis.exists(*UserKeys("wp", "mixed").all()) == 0


@needs_redis_server
async def test_scripts_reaching_a_paused_server_after_the_deadline_apply_nothing(
    tmp_path: Path,
) -> None:
    """The issue's case: a batch sent to a server that stalls. When the server resumes
    after the batch's deadline, the scripts waiting in its socket buffer must refuse."""
    with running_redis(tmp_path) as server:
        redis = connect(f"redis://127.0.0.1:{server.port}/0", timeout_s=0.25)
        writer = EventWriter(redis, "wp", 86_400, timeout_s=0.4, clock_skew_s=0.05)
        try:
            warm = [PlannedEvent("p", "warm", [("hset", "journey", "x", "1")])]
            assert await writer.apply(warm, time.time()) == ["accepted"]
            server.signal(signal.SIGSTOP)
            planned = [
                PlannedEvent(f"p{i % 3}", f"late-{i}", [("sadd", "owned", f"o{i}", "")])
                for i in range(9)
            ]
            task = asyncio.create_task(writer.apply(planned, time.time()))
            await asyncio.sleep(0.4 + 0.05 + 0.15)  # past the deadline; settling has begun
            server.signal(signal.SIGCONT)
            outcomes = await task
            for user in ("p0", "p1", "p2"):
                assert await redis.zcard(UserKeys("wp", user).seen_events) == 0
                assert await redis.exists(UserKeys("wp", user).owned) == 0
            # the settling read ran after the resume, so the answer is definite
            assert outcomes == ["not_stored"] * len(planned)
        finally:
            await redis.aclose()


@needs_redis_server
async def test_a_batch_that_cannot_be_sent_is_not_stored(tmp_path: Path) -> None:
    with running_redis(tmp_path) as server:
        port = server.port
    redis = connect(f"redis://127.0.0.1:{port}/0", timeout_s=0.25)  # nobody listens now
    try:
        writer = EventWriter(redis, "wp", 86_400, timeout_s=0.3)
        planned = [PlannedEvent("q", "e1", [("sadd", "owned", "x", "")])]
        assert await writer.apply(planned, time.time()) == ["not_stored"]
    finally:
        await redis.aclose()
