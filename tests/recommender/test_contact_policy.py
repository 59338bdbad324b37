"""The contact policy: admin API, caps under concurrency, suppression, snooze, erasure."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from context.decay import Decay
from context.events import EventPlanner
from domain.actions import Action
from domain.events import Event
from domain.keys import UserKeys
from recommender.policy import Candidate, ChannelPolicy, ContactCap, ContactPolicy
from recommender.schemas import RecommendRequest
from tests.conftest import recommend

CANCEL = {"query": "I want to cancel my contract", "context": {"channel": "contact_center"}}


async def put_policy(client: httpx.AsyncClient, channel: str, policy: dict[str, Any]) -> None:
    r = await client.put(f"/v1/policies/contact/{channel}", json=policy)
    assert r.status_code == 200, r.text


async def decline(client: httpx.AsyncClient, user: str, item: str, n: int, kind: str) -> None:
    events = [
        {"event_id": f"{kind}-{user}-{item}-{i}", "user_id": user, "type": kind, "item_id": item}
        for i in range(n)
    ]
    r = await client.post("/v1/events", json={"events": events})
    assert r.status_code == 200 and r.json()["accepted"] == n, r.text


def services(client: httpx.AsyncClient) -> Any:
    return client.app.state.services  # type: ignore[attr-defined]


# ---------- configuration ----------


async def test_policy_api_defaults_put_and_validation(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/policies/contact")
    assert r.status_code == 200
    body = r.json()
    assert set(body["channels"]) == {"web", "app", "contact_center", "store", "email", "chat"}
    caps = body["channels"]["contact_center"]["caps"]
    assert {"scope": "kind", "match": "retention", "max": 3} in [
        {k: c[k] for k in ("scope", "match", "max")} for c in caps
    ]

    web = {"caps": [{"scope": "category", "match": "books", "max": 2, "window_s": 3600}]}
    r = await client.put("/v1/policies/contact/web", json=web)
    assert r.status_code == 200, r.text
    version = r.json()["version"]
    assert version >= 1
    one = (await client.get("/v1/policies/contact/web")).json()
    assert one["policy"]["caps"][0]["match"] == "books"
    # other channels keep theirs
    everything = (await client.get("/v1/policies/contact")).json()
    assert everything["channels"]["contact_center"]["caps"] == caps
    assert everything["version"] == version
    # the workers hold the new policy
    assert services(client).runtime.state.contact_policy.of("web").caps[0].max == 2

    bad = {"caps": [{"scope": "kind", "match": "agent", "max": 1}]}  # no window
    r = await client.put("/v1/policies/contact/web", json=bad)
    assert r.status_code == 422
    assert "exactly one of window_s or per_session" in r.text
    r = await client.put("/v1/policies/contact/fax", json={})
    assert r.status_code == 422
    r = await client.put("/v1/policies/contact", json={"channels": {"app": {"snooze_s": 60}}})
    assert r.status_code == 200 and r.json()["channels"]["app"]["snooze_s"] == 60


def test_cap_model_rejects_both_or_neither_window() -> None:
    with pytest.raises(ValueError):
        ContactCap(scope="kind", match="agent", max=1, window_s=10, per_session=True)
    assert ContactCap(scope="action", max=2, window_s=60).match is None
    policy = ContactPolicy()
    assert policy.horizon_s() == 7 * 86_400
    assert policy.of("web") == ChannelPolicy()


# ---------- caps ----------


async def test_caps_hold_under_50_concurrent_requests(client: httpx.AsyncClient) -> None:
    """50 simultaneous requests for one user: a cap of 3 books a day is never exceeded."""
    await put_policy(
        client,
        "web",
        {"caps": [{"scope": "category", "match": "books", "max": 3, "window_s": 86_400}]},
    )
    body = {"user_id": "rush", "query": "a new crime novel", "limit": 5}
    answers = await asyncio.gather(*(recommend(client, **body) for _ in range(50)))
    books = [a for ans in answers for a in ans["actions"] if a["category"].startswith("books")]
    assert len(books) == 3, [[a["id"] for a in ans["actions"]] for ans in answers]
    # the reservations in Redis agree with what was served
    keys = UserKeys(services(client).settings.key_prefix, "rush")
    redis = services(client).redis
    members = [m.decode() for m in await redis.zrange(keys.contact, 0, -1)]
    assert len([m for m in members if "|books/" in m]) == 3
    # another user is not affected by rush's cap
    other = await recommend(client, **{**body, "user_id": "calm"})
    assert sum(a["category"].startswith("books") for a in other["actions"]) == 3


async def test_per_action_cap_under_concurrency_counts_each_action(
    client: httpx.AsyncClient,
) -> None:
    await put_policy(client, "web", {"caps": [{"scope": "action", "max": 2, "window_s": 3600}]})
    body = {"user_id": "rush2", "query": "a new crime novel", "limit": 4}
    answers = await asyncio.gather(*(recommend(client, **body) for _ in range(50)))
    counts: dict[str, int] = {}
    for ans in answers:
        for a in ans["actions"]:
            counts[a["id"]] = counts.get(a["id"], 0) + 1
    assert counts and max(counts.values()) == 2, counts
    # every answer was filled from the next-ranked candidates while there were any
    assert all(len(ans["actions"]) == 4 for ans in answers[:10])


async def test_a_head_that_cannot_fill_the_answer_reserves_nothing(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The script first sees only the top of the list; when that cannot fill the answer it
    reserves nothing, and the whole list is walked: the same answer as walking it at once."""
    from recommender.policy import enforcer as policy_module

    await put_policy(client, "web", {"caps": [{"scope": "category", "max": 1, "window_s": 3600}]})
    state = services(client).runtime.state
    enforcer = services(client).recommender.arbiter.enforcer
    # ranked so that the head holds only two leaf categories: at most 2 of 5 from it
    books = sorted(
        (a for a in state.catalog.actions.values() if a.category.startswith("books/")),
        key=lambda a: (a.category not in ("books/fiction/crime", "books/fiction/romance"), a.id),
    )
    candidates = [Candidate(a) for a in books]
    assert len(candidates) > 5 + policy_module.BACKFILL_MARGIN
    assert len({a.category for a in books[: 5 + policy_module.BACKFILL_MARGIN]}) == 2

    async def admit(user: str) -> Any:
        return await enforcer.admit(
            UserKeys(services(client).settings.key_prefix, user),
            policy=state.contact_policy,
            channel="web",
            session_id=None,
            request_id="r1",
            candidates=candidates,
            want=5,
            explore_order=None,
            now=1_800_000_000.0,
        )

    headfirst = await admit("head-first")
    monkeypatch.setattr(policy_module, "BACKFILL_MARGIN", 10_000)
    whole = await admit("whole-list")
    assert len(headfirst.shown) == 5
    assert (headfirst.shown, headfirst.refused, headfirst.denied) == (
        whole.shown,
        whole.refused,
        whole.denied,
    )
    redis = services(client).redis
    for user in ("head-first", "whole-list"):
        keys = UserKeys(services(client).settings.key_prefix, user)
        assert await redis.zcard(keys.contact) == 5  # nothing reserved twice


async def test_at_most_one_agent_offer_per_call(client: httpx.AsyncClient) -> None:
    await client.put(
        "/v1/users/caller-9/profile", json={"segments": ["contract_customer"], "tenure_months": 30}
    )
    first = await recommend(client, user_id="caller-9", session_id="call-1", limit=20, **CANCEL)
    kinds = [a["kind"] for a in first["actions"]]
    assert kinds.count("agent") == 1 and kinds.count("retention") == 3, kinds
    again = await recommend(client, user_id="caller-9", session_id="call-1", limit=20, **CANCEL)
    assert [a["kind"] for a in again["actions"]].count("agent") == 0
    # the retention cap (3 in 7 days) is used up as well
    assert [a["kind"] for a in again["actions"]].count("retention") == 0
    next_call = await recommend(
        client, user_id="caller-9", session_id="call-2", limit=20, debug=True, **CANCEL
    )
    assert [a["kind"] for a in next_call["actions"]].count("agent") == 1
    assert next_call["debug"]["removed"]["contact_cap"] > 0
    # other channels have their own (here: no) caps
    web = await recommend(client, user_id="caller-9", limit=20, intent="cancel_contract")
    assert [a["kind"] for a in web["actions"]].count("retention") >= 3


async def test_catalog_cap_is_enforced_across_channels(client: httpx.AsyncClient) -> None:
    state = services(client).runtime.state
    capped = next(a for a in state.catalog.actions.values() if a.cap is not None)
    enforcer = services(client).recommender.arbiter.enforcer
    keys = UserKeys(services(client).settings.key_prefix, "capped-user")
    now = time.time()
    shown = 0
    for i in range(capped.cap.max_impressions + 3):
        admission = await enforcer.admit(
            keys,
            policy=state.contact_policy,
            channel="web" if i % 2 else "app",
            session_id=None,
            request_id=f"r{i}",
            candidates=[Candidate(capped)],
            want=1,
            explore_order=None,
            now=now + i,
        )
        shown += len(admission.shown)
    assert shown == capped.cap.max_impressions


# ---------- suppression and snooze ----------


async def test_decline_suppresses_then_cool_down_releases(client: httpx.AsyncClient) -> None:
    await put_policy(
        client,
        "contact_center",
        {"caps": [], "suppression": {"after": 2, "within_s": 86_400, "cooldown_s": 3_600}},
    )
    user = "decliner"
    first = await recommend(client, user_id=user, limit=50, **CANCEL)
    target = next(a["id"] for a in first["actions"] if a["kind"] == "retention")

    await decline(client, user, target, 1, "decline")
    once = await recommend(client, user_id=user, limit=50, **CANCEL)
    assert target in [a["id"] for a in once["actions"]], "one decline is below the threshold"

    await decline(client, user, target, 1, "dismiss")  # declines and dismissals add up
    during = await recommend(client, user_id=user, limit=50, debug=True, **CANCEL)
    assert target not in [a["id"] for a in during["actions"]]
    assert during["debug"]["removed"]["contact_suppressed"] == 1

    rec = services(client).recommender
    req = RecommendRequest.model_validate({"user_id": user, "limit": 50, **CANCEL})
    state = services(client).runtime.state
    still = await rec.recommend(req, state, now=time.time() + 3_000)
    assert target not in [a.id for a in still.actions]
    after = await rec.recommend(req, state, now=time.time() + 3_700)
    assert target in [a.id for a in after.actions], "released after the cool-down"


async def test_maybe_later_snoozes(client: httpx.AsyncClient) -> None:
    await put_policy(client, "contact_center", {"caps": [], "snooze_s": 600})
    user = "snoozer"
    first = await recommend(client, user_id=user, limit=50, **CANCEL)
    target = first["actions"][0]["id"]
    await decline(client, user, target, 1, "maybe_later")
    during = await recommend(client, user_id=user, limit=50, debug=True, **CANCEL)
    assert target not in [a["id"] for a in during["actions"]]
    assert during["debug"]["removed"]["contact_snoozed"] == 1
    rec = services(client).recommender
    req = RecommendRequest.model_validate({"user_id": user, "limit": 50, **CANCEL})
    later = await rec.recommend(req, services(client).runtime.state, now=time.time() + 700)
    assert target in [a.id for a in later.actions]


async def test_without_suppression_declines_do_not_hide(client: httpx.AsyncClient) -> None:
    await put_policy(client, "contact_center", {"caps": [], "suppression": None})
    user = "free"
    first = await recommend(client, user_id=user, limit=50, **CANCEL)
    target = first["actions"][0]["id"]
    await decline(client, user, target, 3, "decline")
    again = await recommend(client, user_id=user, limit=50, **CANCEL)
    assert target in [a["id"] for a in again["actions"]]


def test_planner_records_declines_and_snoozes_in_the_feedback_hash() -> None:
    planner = EventPlanner(affinity=Decay(86_400.0), fatigue=Decay(86_400.0), journey_ttl_s=60)
    action = Action.model_validate(
        {"id": "x-1", "kind": "offer", "title": {"en": "X"}, "category": "deals"}
    )

    def ops(kind: str) -> list[tuple[str, str, str, str]]:
        event = Event(event_id=f"e-{kind}", user_id="u", type=kind, item_id="x-1")  # type: ignore[arg-type]
        return [op for op in planner.plan(event, now=100.0, action=action) if op[1] == "feedback"]

    assert ("hset", "feedback", "n:e-decline", "100.0|x-1") in ops("decline")
    assert ("hset", "feedback", "n:e-dismiss", "100.0|x-1") in ops("dismiss")
    assert ("hset", "feedback", "s:x-1", "100.0") in ops("maybe_later")
    assert ops("click") == []


async def test_erasure_removes_policy_state(client: httpx.AsyncClient) -> None:
    user = "forget-me"
    await recommend(client, user_id=user, limit=10, **CANCEL)
    await decline(client, user, "rt-0001", 1, "decline")
    await decline(client, user, "rt-0002", 1, "maybe_later")
    keys = UserKeys(services(client).settings.key_prefix, user)
    redis = services(client).redis
    for key in (keys.contact, keys.feedback, keys.served):
        assert await redis.exists(key), key
    r = await client.delete(f"/v1/users/{user}")
    assert r.status_code == 204
    left = [k async for k in redis.scan_iter(match=keys.pattern)]
    assert left == []


async def test_store_outage_withholds_capped_actions(client: httpx.AsyncClient) -> None:
    """Without Redis the policy cannot be checked: nothing a rule could count is shown."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    arbiter = services(client).recommender.arbiter

    class Down:
        def catalog_horizon(self, catalog: Any) -> int:
            return 0

        async def admit(self, *args: Any, **kwargs: Any) -> Any:
            raise RedisConnectionError("down")

    real = arbiter.enforcer
    arbiter.enforcer = Down()
    try:
        data = await recommend(client, user_id="outage", limit=20, debug=True, **CANCEL)
    finally:
        arbiter.enforcer = real
    kinds = {a["kind"] for a in data["actions"]}
    assert "retention" not in kinds and "agent" not in kinds
    assert data["degraded"] is True
    assert any("contact policy" in r for r in data["degraded_reasons"])
