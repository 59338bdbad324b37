"""The floor: the least a FastAPI + pydantic + Redis service does per request.

``waypoint bench`` serves this app next to the server under test, with the same uvicorn,
worker count and Redis, and reports the server's figures as a ratio to it. Per request it
checks the Bearer key, validates a body shaped like a ``/v1/recommend`` request with
pydantic, makes one Redis read (``GET`` of a small JSON list of five actions) and answers
with a pydantic response model. Anything the real server does beyond that is its own cost.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from service.redis_server import connect
from service.settings import Settings

ITEMS_KEY = "wpbench:floor:items"


class FloorLocation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None


class FloorContext(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: str = "web"
    language: Annotated[str, Field(pattern=r"^[a-z]{2}$")] = "en"
    location: FloorLocation | None = None


class FloorRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.@:\-]+$")]
    query: Annotated[str, Field(min_length=1, max_length=1000)] | None = None
    context: FloorContext = FloorContext()
    limit: Annotated[int, Field(ge=1, le=50)] = 5


class FloorItem(BaseModel):
    id: str
    title: str
    score: float


class FloorResponse(BaseModel):
    user_id: str
    items: list[FloorItem]


def _seed_items() -> list[dict[str, Any]]:
    return [
        {"id": f"floor-{i}", "title": f"Floor item {i}", "score": 1.0 - i / 10} for i in range(5)
    ]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    if settings.redis_url is None:
        raise RuntimeError("the floor app needs WAYPOINT_REDIS_URL (or REDIS_URL)")
    redis_url = settings.redis_url
    expected = f"Bearer {settings.demo_key}".encode()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis = connect(redis_url, timeout_s=settings.redis_timeout_s)
        await redis.set(ITEMS_KEY, json.dumps(_seed_items()))
        app.state.redis = redis
        try:
            yield
        finally:
            await redis.aclose()

    app = FastAPI(title="waypoint bench floor", lifespan=lifespan)

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @app.post("/v1/recommend", response_model=FloorResponse)
    async def recommend(
        body: FloorRequest, authorization: Annotated[str, Header()] = ""
    ) -> FloorResponse:
        if not hmac.compare_digest(authorization.encode(), expected):
            raise HTTPException(status_code=401, detail="invalid API key")
        raw = await app.state.redis.get(ITEMS_KEY)
        items = [FloorItem.model_validate(i) for i in json.loads(raw or b"[]")]
        return FloorResponse(user_id=body.user_id, items=items[: body.limit])

    return app
