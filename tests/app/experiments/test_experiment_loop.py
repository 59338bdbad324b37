"""A/B experiments, the whole loop through the real app and Redis: simulated traffic through
``/v1/recommend`` and ``/v1/events``, counters against the raw records, and what is not credited.
"""

from __future__ import annotations

import random
from typing import Any

import httpx

from tests.app.experiment_api import (
    MODULE_MARKS,
    arm_of,
    by_arm,
    create_running,
    recommend,
    recommend_many,
    results,
    same,
    service,
)

pytestmark = MODULE_MARKS


P_CLICK = {"a": 0.50, "b": 0.60}  # b converts 20 % better
N_USERS = 1600


async def test_simulated_traffic_b_wins_and_counters_match_raw_records(
    client: httpx.AsyncClient,
) -> None:
    """1,600 users through /v1/recommend, then clicks (with request_id) and purchases (with
    value, without request_id: attributed by user) through /v1/events. With ~800 users per
    arm, a 50 % -> 60 % change (+20 %) is detected at alpha 0.05 with ~98 % power; the seed
    is fixed, so the run itself is deterministic."""
    await create_running(client, "sim", guardrail_metrics=["purchase", "value"])
    rng = random.Random(20261125)
    users = [f"sim-{i}" for i in range(N_USERS)]
    answers = await recommend_many(client, users)
    events: list[dict[str, Any]] = []
    for ans in answers:
        arm = arm_of(ans)
        assert arm in P_CLICK and ans["experiment"]["id"] == "sim"
        if not ans["actions"] or rng.random() >= P_CLICK[arm]:
            continue
        item = ans["actions"][0]["id"]
        user = ans["user_id"]
        events.append(
            {
                "event_id": f"click-{user}",
                "user_id": user,
                "type": "click",
                "item_id": item,
                "request_id": ans["request_id"],
            }
        )
        if rng.random() < 0.1:
            events.append(
                {
                    "event_id": f"buy-{user}",
                    "user_id": user,
                    "type": "purchase",
                    "item_id": item,
                    "value": round(rng.uniform(5, 80), 2),
                }
            )
    for i in range(0, len(events), 500):
        r = await client.post("/v1/events", json={"events": events[i : i + 500]})
        assert r.status_code == 200, r.text
    # a replayed batch is deduplicated by event_id and changes no counter
    r = await client.post("/v1/events", json={"events": events[:50]})
    assert r.json()["duplicates"] == 50

    res = await results(client, "sim")
    arms = by_arm(res)
    a, b = arms["a"], arms["b"]
    assert a["users"] + b["users"] == N_USERS
    assert a["exposures"] == a["users"] and b["exposures"] == b["users"]
    click = b["rates"]["click"]
    cmp = click["vs_control"]
    assert click["rate"] > a["rates"]["click"]["rate"]
    assert cmp["p_value"] < 0.05 and cmp["significant"] and cmp["lift"] > 0
    assert cmp["lift_ci"]["lower"] > 0 and cmp["prob_beat_control"] > 0.95
    assert res["srm"]["flagged"] is False
    clicks = sum(e["type"] == "click" for e in events)
    assert a["rates"]["click"]["events"] + b["rates"]["click"]["events"] == clicks
    purchases = [e for e in events if e["type"] == "purchase"]
    assert a["rates"]["purchase"]["converters"] + b["rates"]["purchase"]["converters"] == len(
        purchases
    )
    total = a["value"]["total"] + b["value"]["total"]
    assert abs(total - sum(e["value"] for e in purchases)) < 1e-6
    print(  # figures for the docs: pytest -s
        f"\nsimulated run: A {a['rates']['click']['rate']:.4f} vs B {click['rate']:.4f}, "
        f"lift {cmp['lift']:+.3f} [{cmp['lift_ci']['lower']:+.3f}, {cmp['lift_ci']['upper']:+.3f}]"
        f", p={cmp['p_value']:.2e}, P(B>A)={cmp['prob_beat_control']:.4f}, "
        f"SRM p={res['srm']['p_value']:.3f}, users {a['users']}/{b['users']}"
    )

    # the live counters equal a recomputation from the raw exposure/outcome records
    store = service(client).store
    live = await store.counters("sim", ["a", "b"])
    rebuilt = await store.recompute("sim")
    assert set(live) == set(rebuilt) == {"a", "b"}
    for arm in ("a", "b"):
        assert live[arm].approx_equal(rebuilt[arm]), (arm, live[arm], rebuilt[arm])
    raw = await results(client, "sim", source="raw")
    assert same(raw["arms"], res["arms"]) and same(raw["srm"], res["srm"])


async def test_outcomes_without_exposure_or_outside_the_window_are_not_credited(
    client: httpx.AsyncClient,
) -> None:
    await create_running(client, "window")
    ans = await recommend(client, "win-1")
    item = ans["actions"][0]["id"]
    events = [
        # a stranger's click: no exposure, nothing to credit
        {"event_id": "w-1", "user_id": "win-2", "type": "click", "item_id": item},
        # before the decision: not caused by it
        {
            "event_id": "w-2",
            "user_id": "win-1",
            "type": "click",
            "item_id": item,
            "ts": "2020-01-01T00:00:00Z",
        },
        # a non-outcome event
        {"event_id": "w-3", "user_id": "win-1", "type": "view", "item_id": item},
    ]
    r = await client.post("/v1/events", json={"events": events})
    assert r.status_code == 200 and r.json()["accepted"] == 3
    arms = by_arm(await results(client, "window"))
    arm = arm_of(ans)
    assert arm is not None
    assert arms[arm]["rates"]["click"]["events"] == 0
    # repeated clicks of one user: events counted each time, the converter once
    clicks = [
        {"event_id": f"w-c{i}", "user_id": "win-1", "type": "click", "item_id": item}
        for i in range(3)
    ]
    await client.post("/v1/events", json={"events": clicks})
    rate = by_arm(await results(client, "window"))[arm]["rates"]["click"]
    assert rate["events"] == 3 and rate["converters"] == 1 and rate["rate"] == 1.0
