"""A/B experiments through the real app and Redis: configuration, audit, assignment inside
``/v1/recommend``, outcome attribution from ``/v1/events`` and the results read-out.

The false-positive rate of the statistics (A/A runs) is covered in test_experiment_readout.py;
here the point is the whole loop, with counters kept in Redis as traffic arrives (the
simulated traffic itself: test_experiment_loop.py).
"""

from __future__ import annotations

import time
from collections import Counter

import httpx

from experiments.counters import ExposureRecord
from tests.app.experiment_api import (
    FAST,
    MODULE_MARKS,
    arm_of,
    by_arm,
    create_running,
    recommend_many,
    results,
    service,
    settle,
    spec,
)
from tests.conftest import TEST_KEY

pytestmark = MODULE_MARKS


# --------------------------------------------------------------------------- configuration


async def test_create_read_update_list_with_clear_validation(client: httpx.AsyncClient) -> None:
    bad = spec("checkout", variants=[{"id": "a", "weight": 0.5}, {"id": "b", "weight": 0.4}])
    r = await client.post("/v1/experiments", json=bad)
    assert r.status_code == 422
    assert r.json()["error"] == "ValidationError"
    assert "variant weights must sum to 1" in r.text and "0.9" in r.text

    r = await client.post(
        "/v1/experiments",
        json=spec("checkout", variants=[{"id": "a", "weight": 1}, {"id": "a", "weight": 0}]),
    )
    assert r.status_code == 422 and "duplicated: a" in r.text

    r = await client.post(
        "/v1/experiments", json=spec("checkout", variants=[{"id": "a", "weight": 1}])
    )
    assert r.status_code == 422 and "at least 2" in r.text

    r = await client.post("/v1/experiments", json={**spec("checkout"), "colour": "red"})
    assert r.status_code == 422 and "colour" in r.text

    # a parameter the ranker cannot apply is refused, never silently ignored
    unsupported = spec(
        "checkout",
        variants=[
            {"id": "a", "weight": 0.5},
            {"id": "b", "weight": 0.5, "params": {"filter_strictness": "relaxed"}},
        ],
    )
    r = await client.post("/v1/experiments", json=unsupported)
    assert r.status_code == 422, r.text
    assert "not supported yet" in r.json()["detail"]
    assert "variants.b.params.filter_strictness" in r.json()["detail"]

    r = await client.post("/v1/experiments", json=spec("checkout"))
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["status"] == "draft" and created["version"] == 1
    assert r.headers["location"] == "/v1/experiments/checkout"
    assert r.headers["etag"] == '"1"'

    r = await client.post("/v1/experiments", json=spec("checkout"))
    assert r.status_code == 409 and "already exists" in r.json()["detail"]

    r = await client.get("/v1/experiments/checkout")
    assert r.status_code == 200 and r.json()["variants"][1]["id"] == "b"
    r = await client.get("/v1/experiments/nope")
    assert r.status_code == 404 and r.json()["error"] == "NotFound"

    edited = spec("checkout", coverage=40.0, description="narrower")
    r = await client.put("/v1/experiments/checkout", json=edited, headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2 and r.json()["coverage"] == 40.0
    # a stale version is refused: someone else changed it in between
    r = await client.put(
        "/v1/experiments/checkout", json=spec("checkout"), headers={"If-Match": "1"}
    )
    assert r.status_code == 409 and "version 2" in r.json()["detail"]
    r = await client.put("/v1/experiments/checkout", json=spec("other"))
    assert r.status_code == 422 and "id cannot change" in r.json()["detail"]

    r = await client.post("/v1/experiments", json=spec("second"))
    assert r.status_code == 201
    r = await client.get("/v1/experiments")
    assert [e["id"] for e in r.json()][-2:] == ["checkout", "second"]
    r = await client.get("/v1/experiments", params={"status": "draft"})
    assert {"checkout", "second"} <= {e["id"] for e in r.json()}
    assert all(e["status"] == "draft" for e in r.json())

    # auth: admin scope needed
    r = await client.get("/v1/experiments", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401


async def test_lifecycle_and_audit_trail(client: httpx.AsyncClient) -> None:
    assert (await client.post("/v1/experiments", json=spec("life"))).status_code == 201
    r = await client.post("/v1/experiments/life/pause")
    assert r.status_code == 409 and "from draft you may go to" in r.json()["detail"]
    r = await client.post("/v1/experiments/life/start")
    assert r.status_code == 200 and r.json()["status"] == "running"
    assert r.json()["started_at"] is not None
    r = await client.post("/v1/experiments/life/start")
    assert r.status_code == 409 and "already running" in r.json()["detail"]

    # running: weights may change, the variant list may not
    moved = spec("life", variants=[{"id": "a", "weight": 0.7}, {"id": "b", "weight": 0.3}])
    assert (await client.put("/v1/experiments/life", json=moved)).status_code == 200
    renamed = spec("life", variants=[{"id": "a", "weight": 0.5}, {"id": "c", "weight": 0.5}])
    r = await client.put("/v1/experiments/life", json=renamed)
    assert r.status_code == 409 and "would be removed or renamed" in r.json()["detail"]

    assert (await client.post("/v1/experiments/life/pause")).json()["status"] == "paused"
    assert (await client.post("/v1/experiments/life/start")).json()["status"] == "running"
    assert (await client.post("/v1/experiments/life/stop")).json()["status"] == "stopped"
    r = await client.post("/v1/experiments/life/start")
    assert r.status_code == 409 and "stopped is final" in r.json()["detail"]
    r = await client.put("/v1/experiments/life", json=moved)
    assert r.status_code == 409 and "can no longer be edited" in r.json()["detail"]
    r = await client.post("/v1/experiments/life/explode")
    assert r.status_code == 404  # start, pause and stop are the only status actions

    r = await client.get("/v1/experiments/life/audit")
    assert r.status_code == 200
    audit = r.json()
    assert [e["action"] for e in audit] == [
        "created",
        "started",
        "updated",
        "paused",
        "resumed",
        "stopped",
    ]
    assert {e["actor"] for e in audit} == {"demo"}  # the TEST_KEY's id
    assert [e["version"] for e in audit] == [1, 2, 3, 4, 5, 6]
    update = audit[2]
    assert update["changes"] == {
        "variants.a.weight": [0.5, 0.7],
        "variants.b.weight": [0.5, 0.3],
        "variants.b.params.ranking_weights.value": [1.5, None],
    }
    assert audit[1]["changes"]["status"] == ["draft", "running"]
    assert audit[0]["changes"]["primary_metric"] == [None, "click"]
    assert (await client.get("/v1/experiments/nope/audit")).status_code == 404


async def test_namespaces_are_exclusive_and_layers_may_not_vary_the_same_knob(
    client: httpx.AsyncClient,
) -> None:
    await create_running(client, "left", coverage=50.0)
    await create_running(client, "right", coverage=50.0)
    # the namespace is full
    r = await client.post("/v1/experiments", json=spec("third", coverage=10.0))
    assert r.status_code == 201
    r = await client.post("/v1/experiments/third/start")
    assert r.status_code == 409 and "over-booked" in r.json()["detail"]
    # another namespace is another layer, but it may not vary the same parameter
    clash = spec("layer", namespace="ranking")
    assert (await client.post("/v1/experiments", json=clash)).status_code == 201
    r = await client.post("/v1/experiments/layer/start")
    assert r.status_code == 409 and "ranking_weights.value" in r.json()["detail"]

    users = [f"ns-{i}" for i in range(150)]
    answers = await recommend_many(client, users)
    seen = Counter(a["experiment"]["id"] for a in answers if a["experiment"])
    # coverage 50 + 50: everyone is in exactly one of the two
    assert sum(seen.values()) == 150 and set(seen) == {"left", "right"}
    assert 45 < seen["left"] < 105


# --------------------------------------------------------------------------- assignment


async def test_assignment_is_sticky_when_weights_change(client: httpx.AsyncClient) -> None:
    await create_running(client, "sticky")
    first = [f"st-{i}" for i in range(200)]
    before = {a["user_id"]: arm_of(a) for a in await recommend_many(client, first)}
    assert set(before.values()) == {"a", "b"}

    skewed = spec("sticky", variants=[{"id": "a", "weight": 0.9}, {"id": "b", "weight": 0.1}])
    r = await client.put("/v1/experiments/sticky", json=skewed)
    assert r.status_code == 200, r.text
    await settle(client)

    after = {a["user_id"]: arm_of(a) for a in await recommend_many(client, first)}
    assert after == before  # everyone kept their variant
    newcomers = [f"st-new-{i}" for i in range(200)]
    fresh = Counter(arm_of(a) for a in await recommend_many(client, newcomers))
    assert fresh["a"] / 200 > 0.8  # new users follow the new weights

    arms = by_arm(await results(client, "sticky"))
    assert arms["a"]["users"] + arms["b"]["users"] == 400  # each user counted once
    assert arms["a"]["exposures"] + arms["b"]["exposures"] == 600  # every decision counted
    assert arms["b"]["users"] == sum(v == "b" for v in before.values()) + fresh["b"]


async def test_variant_params_change_the_ranking(client: httpx.AsyncClient) -> None:
    await create_running(
        client,
        "value-only",
        variants=[
            {"id": "a", "weight": 0.5},
            {
                "id": "b",
                "weight": 0.5,
                "params": {
                    "ranking_weights": {"affinity": 0, "context": 0, "popularity": 0, "value": 10},
                    "diversity": 1.0,
                },
            },
        ],
    )
    answers = await recommend_many(client, [f"vo-{i}" for i in range(30)], limit=5)
    b_answers = [a for a in answers if arm_of(a) == "b"]
    a_answers = [a for a in answers if arm_of(a) == "a"]
    assert b_answers and a_answers
    # variant b ranks by value: every list is sorted by value, most valuable first
    for a in b_answers:
        values = [x["value"] for x in a["actions"]]
        assert values == sorted(values, reverse=True), values
    assert min(a["actions"][0]["value"] for a in b_answers) > max(
        a["actions"][0]["value"] for a in a_answers
    )


async def test_targeting_excludes_non_matching_requests(client: httpx.AsyncClient) -> None:
    await create_running(client, "app-only", targeting={"channels": ["app"]})
    users = [f"tg-{i}" for i in range(40)]
    web = await recommend_many(client, users, context={"channel": "web"}, **FAST)
    assert all(a["experiment"] is None for a in web)
    app = await recommend_many(client, users, context={"channel": "app"}, **FAST)
    assert all(a["experiment"]["id"] == "app-only" for a in app)
    # an enrolled user coming back on the web is served the default, and not logged
    again = await recommend_many(client, users, context={"channel": "web"}, **FAST)
    assert all(a["experiment"] is None for a in again)
    arms = by_arm(await results(client, "app-only"))
    assert arms["a"]["exposures"] + arms["b"]["exposures"] == 40
    assert arms["a"]["users"] + arms["b"]["users"] == 40


async def test_holdout_and_pause(client: httpx.AsyncClient) -> None:
    await create_running(client, "held", holdout=30.0)
    users = [f"ho-{i}" for i in range(80)]
    first = {a["user_id"]: arm_of(a) for a in await recommend_many(client, users)}
    assert set(first.values()) == {"a", "b", "holdout"}
    res = await results(client, "held")
    assert [a["arm"] for a in res["arms"]] == ["a", "b", "holdout"]
    assert by_arm(res)["holdout"]["users"] == sum(v == "holdout" for v in first.values())

    # paused: enrolled users get the default strategy and nothing is logged
    assert (await client.post("/v1/experiments/held/pause")).status_code == 200
    await settle(client)
    paused = await recommend_many(client, users[:20])
    assert all(a["experiment"] is None for a in paused)
    assert sum(a["exposures"] for a in (await results(client, "held"))["arms"]) == 80
    # resumed: everyone is back in their own arm
    assert (await client.post("/v1/experiments/held/start")).status_code == 200
    await settle(client)
    again = {a["user_id"]: arm_of(a) for a in await recommend_many(client, users[:20])}
    assert again == {u: first[u] for u in users[:20]}


async def test_admin_page_is_a_public_shell_with_its_own_files(client: httpx.AsyncClient) -> None:
    r = await client.get("/admin/experiments", headers={"Authorization": ""})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "/admin/static/admin.js" in r.text and TEST_KEY not in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]
    js = await client.get("/admin/static/admin.js")
    assert js.headers["content-type"].startswith("text/javascript")
    assert "sessionStorage" in js.text and "Bearer" in js.text
    css = await client.get("/admin/static/admin.css")
    assert css.headers["content-type"].startswith("text/css")
    for text in (r.text, js.text, css.text):
        assert "https://" not in text and "//cdn" not in text and "@import" not in text
    for name in ("admin.html.bak", "..%2Fadmin.py", "nope.js"):
        missing = await client.get(f"/admin/static/{name}")
        assert missing.status_code == 404 and missing.json()["error"] == "NotFound"


async def test_srm_is_flagged_for_a_60_40_split_of_a_50_50_design(
    client: httpx.AsyncClient,
) -> None:
    await create_running(client, "broken-split")
    now = time.time()
    records = [
        (
            ExposureRecord(
                request_id=f"r{i}",
                user_id=f"srm-{i}",
                experiment_id="broken-split",
                arm="a" if i < 600 else "b",
                ts=now,
            ),
            True,
        )
        for i in range(1000)
    ]
    await service(client).store.count_exposures(records)
    res = await results(client, "broken-split")
    assert res["srm"]["flagged"] is True and res["srm"]["p_value"] < 0.001
    assert res["srm"]["observed"] == {"a": 600, "b": 400}
    assert any("sample ratio mismatch" in w for w in res["warnings"])
    # the raw log holds the same records: the recomputation agrees
    raw = await results(client, "broken-split", source="raw")
    assert raw["srm"] == res["srm"]
