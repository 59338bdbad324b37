"""Exploration: only among actions that passed every filter and policy, never explore:false."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from context.decay import Decay
from context.events import EventPlanner
from context.store import UserSnapshot, UserStore
from domain.actions import Action
from intent.taxonomy import Taxonomy
from recommender.arbiter import Arbiter
from recommender.catalog import CatalogIndex
from recommender.explore import EXPLORE_REASON, shown_probabilities
from recommender.pipeline import Recommender, Strategy, Treatment
from recommender.policy import Admission, ContactEnforcer, ContactPolicy
from recommender.ranking.filter import ContextFilter, FilterContext
from recommender.schemas import RecommendRequest, RecommendResponse
from recommender.state import LiveState
from service.redis_server import connect

CHANNELS = ("web", "app", "contact_center")
LANGS = ("en", "de")
KINDS = ("product", "offer", "retention", "agent")
CATEGORIES = ("books/crime", "books/poetry", "deals", "retention/loyalty", "agent/phone")


class Explore:
    """A treatment policy that always explores at ``rate``."""

    def __init__(self, rate: float) -> None:
        self.rate = rate

    def treatment(self, req: RecommendRequest, user: UserSnapshot, state: LiveState) -> Treatment:
        return Treatment(strategy=Strategy(exploration_rate=self.rate))

    async def exposed(
        self, req: RecommendRequest, answer: RecommendResponse, treatment: Treatment, now: float
    ) -> None:
        return None


def _action(i: int, draw: Any) -> Action:
    now = datetime.now(UTC)
    expired = draw(st.booleans()) and draw(st.integers(0, 4)) == 0
    return Action.model_validate(
        {
            "id": f"a-{i}",
            "kind": draw(st.sampled_from(KINDS)),
            "category": draw(st.sampled_from(CATEGORIES)),
            "title": {
                lang: f"t{i}" for lang in draw(st.sets(st.sampled_from(["en", "de"]), min_size=1))
            },
            "channels": sorted(draw(st.sets(st.sampled_from(CHANNELS), max_size=2))),
            "regions": sorted(draw(st.sets(st.sampled_from(["DE", "FR"]), max_size=1))),
            "valid_to": (now - timedelta(days=1)).isoformat() if expired else None,
            "value": draw(st.floats(0, 100)),
            "explore": draw(st.booleans()),
        }
    )


@st.composite
def worlds(draw: Any) -> dict[str, Any]:
    n = draw(st.integers(1, 25))
    actions = [_action(i, draw) for i in range(n)]
    ids = [a.id for a in actions]
    caps = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "scope": st.sampled_from(["kind", "category", "action"]),
                    "match": st.one_of(st.none(), st.sampled_from(KINDS + CATEGORIES)),
                    "max": st.integers(1, 3),
                    "window_s": st.just(3600),
                }
            ),
            max_size=3,
        )
    )
    return {
        "actions": actions,
        "channel": draw(st.sampled_from(CHANNELS)),
        "language": draw(st.sampled_from(["en", "de"])),
        "country": draw(st.sampled_from([None, "DE", "FR"])),
        "exclude": draw(st.lists(st.sampled_from(ids), max_size=3, unique=True)),
        "declined": draw(st.lists(st.sampled_from(ids), max_size=3, unique=True)),
        "limit": draw(st.integers(1, 6)),
        "rate": draw(st.sampled_from([1.0, 0.5])),
        "caps": caps,
        "requests": draw(st.integers(1, 3)),
        "seed": draw(st.integers(0, 2**16)),
    }


_users = itertools.count()


async def _run_world(redis_url: str, world: dict[str, Any]) -> None:
    redis = connect(redis_url, timeout_s=5.0)
    try:
        prefix = "wpx"
        store = UserStore(
            redis, prefix=prefix, affinity=Decay(86_400.0), fatigue=Decay(86_400.0), dedup_ttl_s=60
        )
        planner = EventPlanner(affinity=Decay(86_400.0), fatigue=Decay(86_400.0), journey_ttl_s=60)
        policy = ContactPolicy.model_validate(
            {
                "channels": {
                    world["channel"]: {
                        "caps": world["caps"],
                        "suppression": {"after": 1, "within_s": 3600, "cooldown_s": 3600},
                    }
                }
            }
        )
        state = LiveState(
            catalog=CatalogIndex.build(world["actions"], 1),
            taxonomy=Taxonomy(),
            contact_policy=policy,
        )
        arbiter = Arbiter(enforcer=ContactEnforcer(redis), rng=random.Random(world["seed"]))
        rec = Recommender(
            store, planner, journey_ttl_s=60, policy=Explore(world["rate"]), arbiter=arbiter
        )
        user = f"explorer-{next(_users)}"
        now = time.time()
        keys = store.keys(user)
        for i, action_id in enumerate(world["declined"]):
            await redis.hset(keys.feedback, f"n:d{i}", f"{now - 1!r}|{action_id}")
        context: dict[str, Any] = {"channel": world["channel"], "language": world["language"]}
        if world["country"]:
            context["location"] = {"country": world["country"]}
        req = RecommendRequest.model_validate(
            {
                "user_id": user,
                "limit": world["limit"],
                "exclude": world["exclude"],
                "context": context,
            }
        )
        catalog_index = state.catalog
        passed = {
            catalog_index.ids[p]
            for p in ContextFilter(
                catalog_index,
                FilterContext(
                    channel=world["channel"],
                    language=world["language"],
                    country=world["country"],
                    now=now,
                    excluded=frozenset(world["exclude"]),
                ),
            )
            .apply(np.arange(len(catalog_index), dtype=np.int32))
            .kept
        }
        catalog = {a.id: a for a in world["actions"]}
        served: list[Action] = []
        for r in range(world["requests"]):
            answer = await rec.recommend(req, state, now=now + r)
            ids = [a.id for a in answer.actions]
            assert len(ids) == len(set(ids))
            for pos, a in enumerate(answer.actions):
                assert a.id in passed, "a filtered action was shown"
                assert a.id not in world["declined"], "a suppressed action was shown"
                assert a.probability is not None and 0 < a.probability <= 1
                if a.explored:
                    assert pos == len(answer.actions) - 1, "exploration takes the last slot"
                    assert catalog[a.id].explore, "an explore:false action was explored"
                    # its only reason, in the request's language
                    assert [w.code for w in a.why] == ["explored"]
                    assert a.reasons == [a.why[0].text]
                    if world["language"] == "en":
                        assert a.reasons == [EXPLORE_REASON]
                    assert a.probability <= world["rate"]
            served.extend(catalog[i] for i in ids)
        # the caps hold over everything served to this user
        for cap in world["caps"]:
            groups: dict[str, int] = {}
            for a in served:
                value = {"kind": a.kind, "category": a.category, "action": a.id}[cap["scope"]]
                m = cap["match"]
                if m is None:
                    groups[value] = groups.get(value, 0) + 1
                elif value == m or (cap["scope"] == "category" and value.startswith(m + "/")):
                    groups[m] = groups.get(m, 0) + 1
            assert max(groups.values(), default=0) <= cap["max"], (cap, groups)
    finally:
        await redis.aclose()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds())
def test_exploration_never_picks_a_filtered_suppressed_or_regulated_action(
    redis_url: str, world: dict[str, Any]
) -> None:
    asyncio.run(_run_world(redis_url, world))


def test_explored_probability_is_rate_over_eligible() -> None:
    assert shown_probabilities(Admission(shown=[0, 1, 2], explored=2, eligible=4), 0.2) == [
        1.0,
        1.0,
        0.05,
    ]
    assert shown_probabilities(Admission(shown=[0, 1], eligible=3), 0.2) == [1.0, 0.8]
    assert shown_probabilities(Admission(shown=[0, 1], eligible=0), 0.2) == [1.0, 1.0]
    assert shown_probabilities(Admission(shown=[0, 1], eligible=3), 0.0) == [1.0, 1.0]


async def test_exploration_through_the_api_is_flagged_and_honest(
    client: httpx.AsyncClient,
) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    rec = services.recommender
    saved = rec.policy
    rec.policy = Explore(1.0)
    try:
        r = await client.post(
            "/v1/recommend",
            json={"user_id": "curious", "query": "a new crime novel", "limit": 5, "explain": True},
        )
    finally:
        rec.policy = saved
    assert r.status_code == 200, r.text
    actions = r.json()["actions"]
    explored = [a for a in actions if a["explored"]]
    assert len(explored) == 1 and explored[0] is actions[-1]
    assert explored[0]["reasons"] == [EXPLORE_REASON]
    assert [w["code"] for w in explored[0]["why"]] == ["explored"]
    assert 0 < explored[0]["probability"] < 1
    assert all(a["probability"] == 1.0 for a in actions[:-1])
    item = services.runtime.state.catalog.get(explored[0]["id"])
    assert item.explore and item.category.startswith("books")


async def test_no_exploration_at_rate_zero(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/recommend", json={"user_id": "steady", "limit": 5})
    actions = r.json()["actions"]
    assert not any(a["explored"] for a in actions)
    assert all(a["probability"] == 1.0 for a in actions)
