"""The retrieve -> rank path loses nothing a customer would expect: on the demo catalog
it ranks the same top 10 as the exhaustive scan, for every demo customer and a mix of
queries, channels and languages."""

from __future__ import annotations

import itertools
import time
from typing import Any

import httpx

from demo.seed import data_dir
from recommender.pipeline import Recommender
from recommender.schemas import RecommendRequest

QUERIES = [
    None,
    "I want a new crime novel",
    "cookbook for quick vegetarian dinners",
    "my dishwasher broke, I need a new one",
    "a quiet fridge with a freezer",
    "I want to cancel my contract",
    "looking for a new phone",
    "ich suche einen neuen Laptop",
    "je cherche un roman policier",
    "what's the weather tomorrow",
    "my internet is not working",
    "Kaltes Kontobuch",
    "gift for my dad who likes gardening",
]
CONTEXTS = [("web", "en", "DE"), ("app", "de", "DE"), ("contact_center", "fr", "FR")]


def _customers() -> list[str]:
    import json

    lines = (data_dir() / "customers.jsonl").read_text().splitlines()
    return [json.loads(line)["user_id"] for line in lines if line.strip()] + ["nobody-yet"]


async def test_retrieval_ranks_the_same_top_10_as_the_exhaustive_scan(
    client: httpx.AsyncClient,
) -> None:
    services: Any = client.app.state.services  # type: ignore[attr-defined]
    retrieving: Recommender = services.recommender
    exhaustive = Recommender(
        retrieving.store,
        retrieving.planner,
        journey_ttl_s=retrieving.journey_ttl_s,
        clarify=retrieving.clarify,
        retrieval=None,
    )
    state = services.runtime.state
    assert len(state.catalog) > 300
    now = time.time()
    compared = 0
    smaller = 0
    for user, query, (channel, language, country) in itertools.product(
        _customers(), QUERIES, CONTEXTS
    ):
        body: dict[str, Any] = {
            "user_id": user,
            "context": {
                "channel": channel,
                "language": language,
                "location": {"country": country},
            },
            "limit": 10,
        }
        if query is not None:
            body["query"] = query
        req = RecommendRequest.model_validate(body)
        fast = await retrieving.rank(req, state, now=now)
        full = await exhaustive.rank(req, state, now=now)
        got = [s.action.id for s in fast.top(10, 0.4)]
        want = [s.action.id for s in full.top(10, 0.4)]
        assert got == want, (user, query, channel, language)
        compared += 1
        smaller += fast.debug.candidates < full.debug.candidates
    assert compared == len(_customers()) * len(QUERIES) * len(CONTEXTS)
    # retrieval did narrow the candidate set on most requests
    assert smaller > compared // 2
