"""``PUT /v1/intents`` is checked against the model that will be active after it."""

from __future__ import annotations

import httpx

from demo.seed import data_dir


def demo_taxonomy() -> dict:  # type: ignore[type-arg]
    import json

    return json.loads((data_dir() / "taxonomy.json").read_text())  # type: ignore[no-any-return]


async def test_taxonomy_replacement_is_checked(client: httpx.AsyncClient) -> None:
    taxonomy = demo_taxonomy()
    dropped = taxonomy["intents"][0]["name"]
    smaller = {"intents": taxonomy["intents"][1:]}
    r = await client.put("/v1/intents", json=smaller)
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["error"] == "Conflict"
    assert dropped in body["detail"] and "?activate=<version>" in body["detail"]
    names = [i["name"] for i in (await client.get("/v1/intents")).json()["intents"]]
    assert dropped in names  # nothing was written

    # a superset is fine, and so is naming a compatible model to activate in the same call
    extra = {
        "name": "zz_new_intent",
        "label": {"en": "New"},
        "allowed_categories": [taxonomy["intents"][0]["allowed_categories"][0]],
    }
    bigger = {"intents": [*taxonomy["intents"], extra]}
    assert (await client.put("/v1/intents", json=bigger)).status_code == 200
    active = (await client.get("/v1/intents/models/active")).json()["version"]
    r = await client.put("/v1/intents", params={"activate": active}, json=taxonomy)
    assert r.status_code == 200
    r = await client.put("/v1/intents", params={"activate": active}, json=smaller)
    assert r.status_code == 409 and "requested" in r.json()["detail"]
    r = await client.put("/v1/intents", params={"activate": "intent-missing"}, json=taxonomy)
    assert r.status_code == 404

    # an empty taxonomy turns detection off: only with the explicit confirmation
    r = await client.put("/v1/intents", json={})
    assert r.status_code == 422
    assert r.json()["error"] == "ValidationError"
    assert "?confirm=empty" in r.json()["detail"]
    assert len((await client.get("/v1/intents")).json()["intents"]) > 0  # unchanged
    r = await client.put("/v1/intents", params={"confirm": "empty"}, json={"intents": []})
    assert r.status_code == 200 and r.json() == {"intents": []}
    assert (await client.get("/v1/intents")).json() == {"intents": []}
    r = await client.put("/v1/intents", params={"confirm": "yes"}, json={})
    assert r.status_code == 422  # only the exact confirmation counts
