"""A customer's fatigue hash stays bounded: trimmed on write to the most fatigued actions
(the largest decayed counts), with a lifetime, so a decision reads a bounded hash
however many actions the catalog has."""

from __future__ import annotations

from typing import Any

from context.decay import Decay
from context.events import FATIGUE_TTL_HALF_LIVES, EventPlanner
from context.store import UserStore
from domain.customer import RequestContext

DAY = 86_400.0
NOW = 1_800_000_000.0


async def test_fatigue_hash_is_trimmed_to_the_most_fatigued(redis: Any) -> None:
    fatigue = Decay(DAY)
    store = UserStore(
        redis, prefix="t-fatigue", affinity=Decay(14 * DAY), fatigue=fatigue, dedup_ttl_s=60
    )
    planner = EventPlanner(
        affinity=Decay(14 * DAY), fatigue=fatigue, journey_ttl_s=60, fatigue_actions=8
    )
    # "old" was shown three times long ago, each "a<k>" once, later and later
    for ts in (NOW - 3 * DAY, NOW - 3 * DAY + 1, NOW - 3 * DAY + 2):
        await store.write(
            "u",
            planner.decision_ops(
                ts=ts,
                context=RequestContext(),
                session_id=None,
                query=None,
                intent=None,
                shown=["old"],
            ),
        )
    for k in range(20):
        ops = planner.decision_ops(
            ts=NOW + k,
            context=RequestContext(),
            session_id=None,
            query=None,
            intent=None,
            shown=[f"a{k}"],
        )
        await store.write("u", ops)
        assert await redis.hlen(store.keys("u").impressions) <= 8 + 2
    user = await store.read("u", NOW + 20)
    # the freshest single impressions outweigh three faded ones
    assert "old" not in user.impressions
    assert set(user.impressions) <= {f"a{k}" for k in range(20)}
    assert {f"a{k}" for k in range(12, 20)} <= set(user.impressions)
    ttl = await redis.ttl(store.keys("u").impressions)
    assert 0 < ttl <= DAY * FATIGUE_TTL_HALF_LIVES
