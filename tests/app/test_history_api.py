"""Through the real app and Redis: what others chose shows up as a ``similar`` reason."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from demo.seed import data_dir
from recommender.catalog import load_actions_file


def plain_item(category: str) -> str:
    """An always-available English item of ``category`` (no rules, dates or regions)."""
    for a in load_actions_file(data_dir() / "catalog.jsonl"):
        if (
            a.category == category
            and "en" in a.title
            and not (a.eligibility or a.regions or a.valid_from or a.valid_to or a.channels)
        ):
            return a.id
    raise AssertionError(f"no plain item in {category}")


async def test_customers_who_bought_x_also_bought_y(client: httpx.AsyncClient) -> None:
    x, y = plain_item("books/fiction/crime"), plain_item("books/nonfiction/travel")
    title_x = (await client.get(f"/v1/catalog/items/{x}")).json()["title"]["en"]
    events: list[dict[str, Any]] = []
    for u in range(5):
        events += [
            {"event_id": f"h-{u}-1", "user_id": f"reader-{u}", "type": "purchase", "item_id": x},
            {"event_id": f"h-{u}-2", "user_id": f"reader-{u}", "type": "purchase", "item_id": y},
        ]
    events.append({"event_id": "h-new", "user_id": "fresh", "type": "purchase", "item_id": x})
    r = await client.post("/v1/events", json={"events": events})
    assert r.status_code == 200 and r.json()["accepted"] == len(events), r.text

    found: dict[str, Any] | None = None
    for _ in range(50):  # every worker reloads the neighbour table within a few intervals
        r = await client.post(
            "/v1/recommend", json={"user_id": "fresh", "limit": 50, "explain": True}
        )
        assert r.status_code == 200, r.text
        found = next((a for a in r.json()["actions"] if a["id"] == y), None)
        if found is not None and found["explanation"]["similar"]["term"] > 0:
            break
        await asyncio.sleep(0.1)
    assert found is not None
    assert found["explanation"]["similar"]["term"] == 1.0
    assert f'customers who chose "{title_x}" also chose this' in found["reasons"]

    # a user without history gets no similar term at all
    r = await client.post("/v1/recommend", json={"user_id": "nobody", "limit": 50, "explain": True})
    assert all(a["explanation"]["similar"]["term"] == 0 for a in r.json()["actions"])
