from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from app.deps import EventsKey, ServicesDep
from context.models import Event
from waypoint.errors import DomainError

router = APIRouter(prefix="/v1", tags=["events"])


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: Annotated[list[Event], Field(min_length=1)]


class EventStatus(BaseModel):
    event_id: str
    status: Literal["accepted", "duplicate"]


class EventBatchResult(BaseModel):
    accepted: int
    duplicates: int
    results: list[EventStatus]


class BatchTooLarge(DomainError):
    status_code = 413
    error = "PayloadTooLarge"


@router.post("/events", response_model=EventBatchResult)
async def post_events(body: EventBatch, services: ServicesDep, _key: EventsKey) -> EventBatchResult:
    """Record feedback and journey events; a repeated ``event_id`` changes nothing."""
    limit = services.settings.max_batch
    if len(body.events) > limit:
        raise BatchTooLarge(f"a batch holds at most {limit} events (got {len(body.events)})")
    results = await services.ingestor.ingest(body.events, services.runtime.state)
    accepted = sum(r.status == "accepted" for r in results)
    return EventBatchResult(
        accepted=accepted,
        duplicates=len(results) - accepted,
        results=[EventStatus(event_id=r.event_id, status=r.status) for r in results],
    )
