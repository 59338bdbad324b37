from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, Field

from app.deps import ServicesDep
from app.routing import GuardedRoute

router = APIRouter(tags=["operations"], route_class=GuardedRoute)


class Alive(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    checks: dict[str, str] = Field(description="redis, catalog, intent_model.")


@router.get("/healthz", response_model=Alive)
async def healthz() -> Alive:
    """The process is alive."""
    return Alive(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready: Redis does not answer"}},
)
async def readyz(services: ServicesDep) -> JSONResponse:
    """Ready to serve: Redis answers and the catalog is loaded."""
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(services.redis.ping(), timeout=1.0)
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        checks["redis"] = f"unavailable: {type(exc).__name__}"
    state = services.runtime.state
    checks["catalog"] = f"{len(state.catalog)} actions (version {state.catalog.version})"
    checks["intent_model"] = state.model_version or "none"
    ready = checks["redis"] == "ok"
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    """Prometheus metrics (text exposition format)."""
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
