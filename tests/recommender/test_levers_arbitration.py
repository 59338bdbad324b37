"""Levers (admin API) and arbitration: priority = propensity x context weight x value x lever."""

from __future__ import annotations

import math
from typing import Any

import httpx

from domain.actions import Action
from recommender.arbitration import TERMS, arbitrate, priority_of
from recommender.catalog import CatalogIndex
from recommender.levers import Levers
from recommender.propensity_store import context_bucket
from recommender.scoring import ScoringContext, Weights, score_action
from tests.conftest import recommend


def services(client: httpx.AsyncClient) -> Any:
    return client.app.state.services  # type: ignore[attr-defined]


def _action(i: str, category: str, kind: str = "product", value: float = 10.0) -> Action:
    return Action.model_validate(
        {"id": i, "kind": kind, "title": {"en": i}, "category": category, "value": value}
    )


def test_lever_is_action_x_most_specific_category_x_kind() -> None:
    levers = Levers(
        actions={"a": 2.0},
        categories={"books": 0.5, "books/fiction": 3.0},
        kinds={"offer": 1.5},
    )
    assert levers.of(_action("a", "books/fiction/crime")) == 2.0 * 3.0
    assert levers.of(_action("b", "books/poetry")) == 0.5
    assert levers.of(_action("c", "deals", kind="offer")) == 1.5
    assert levers.of(_action("d", "deals")) == 1.0


def test_arbitration_with_flat_propensity_keeps_the_score_order() -> None:
    actions = [_action(f"x{i}", "books/crime", value=float(i * 7)) for i in range(12)]
    catalog = CatalogIndex.build(actions, 1)
    ctx = ScoringContext(popularity={f"x{i}": (i % 5) / 5 for i in range(12)})
    scored = [score_action(a, ctx, catalog, Weights()) for a in actions]
    ranked = arbitrate(scored, propensity=lambda _id: 0.05, lever=lambda _s: 1.0)
    by_score = sorted(scored, key=lambda s: (-s.score, s.action.id))
    assert [a.id for a in ranked] == [s.action.id for s in by_score]
    for a in ranked:
        assert a.priority == priority_of(a.terms)
        assert math.isclose(
            a.terms["context_weight"] * a.terms["value"], math.exp(a.scored.score), rel_tol=1e-12
        )
    # a lever reorders: boosting the last one tenfold lifts it
    last = ranked[-1].id
    boosted = arbitrate(
        scored, propensity=lambda _id: 0.05, lever=lambda s: 10.0 if s.action.id == last else 1.0
    )
    assert [a.id for a in boosted].index(last) < len(ranked) - 1


def test_context_bucket_is_intent_channel_segment() -> None:
    assert context_bucket("buy_book", "web", ["vip", "x"]) == (
        "intent=buy_book|channel=web|segment=vip"
    )
    assert context_bucket(None, "app", []) == "intent=none|channel=app|segment=none"


async def test_explained_priority_equals_the_product_of_its_terms(
    client: httpx.AsyncClient,
) -> None:
    data = await recommend(client, query="a new crime novel", limit=10, explain=True)
    actions = data["actions"]
    assert actions
    for a in actions:
        terms = a["arbitration"]["terms"]
        assert list(terms) == list(TERMS)
        product = 1.0
        for name in TERMS:
            product *= terms[name]
        assert a["arbitration"]["priority"] == product
        assert a["priority"] == product
        assert all(t > 0 for t in terms.values())
        assert a["reasons"], a
    priorities = [a["priority"] for a in actions]
    # diversity may hold an item back, but the top of the list is the top priority
    assert priorities[0] == max(priorities)
    # without explain: no arbitration block, but the priority is there
    plain = await recommend(client, query="a new crime novel", limit=3)
    assert plain["actions"][0]["arbitration"] is None
    assert plain["actions"][0]["priority"] > 0


async def test_levers_api_changes_the_ranking(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/levers")
    assert r.status_code == 200 and r.json()["version"] == 0
    before = await recommend(client, query="a new crime novel", limit=5, explain=True)
    top = before["actions"][0]["id"]
    fifth = before["actions"][4]
    r = await client.put("/v1/levers", json={"actions": {fifth["id"]: 10.0, top: 0}})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1
    assert services(client).runtime.state.levers.version == 1
    after = await recommend(client, query="a new crime novel", limit=5, explain=True, debug=True)
    ids = [a["id"] for a in after["actions"]]
    assert top not in ids, "a lever of 0 switches the action off"
    assert after["debug"]["removed"]["lever"] == 1
    lifted = next(a for a in after["actions"] if a["id"] == fifth["id"])
    assert lifted["arbitration"]["terms"]["lever"] == 10.0
    assert ids.index(fifth["id"]) < 4

    r = await client.put("/v1/levers", json={"categories": {"books/fiction/crime": 0.1}})
    assert r.status_code == 200 and r.json()["version"] == 2
    assert (await client.get("/v1/levers")).json()["categories"] == {"books/fiction/crime": 0.1}
    r = await client.put("/v1/levers", json={"kinds": {"product": 11}})
    assert r.status_code == 422
    r = await client.put("/v1/levers", json={"categories": {"Not A Path": 1}})
    assert r.status_code == 422


async def test_propensity_learns_from_impressions_and_clicks(client: httpx.AsyncClient) -> None:
    svc = services(client)
    first = await recommend(client, user_id="clicker", query="a new crime novel", limit=3)
    clicked = first["actions"][1]["id"]
    event = {"event_id": "clk-1", "user_id": "clicker", "type": "click", "item_id": clicked}
    r = await client.post("/v1/events", json={"events": [event]})
    assert r.json()["accepted"] == 1
    # a second positive event on the same impression does not count twice
    event2 = {**event, "event_id": "buy-1", "type": "purchase"}
    await client.post("/v1/events", json={"events": [event2]})
    arbitration = svc.runtime.arbitration
    state = await arbitration.refresh(svc.runtime.state, 0.0, force=True)
    bucket = "intent=buy_book|channel=web|segment=none"
    model = state.propensity.model
    assert model.cell(bucket, clicked) == (1.0, 1.0)
    other = first["actions"][0]["id"]
    assert model.cell(bucket, other) == (1.0, 0.0)
    assert state.propensity.mean(bucket, clicked) > state.propensity.mean(bucket, other)
