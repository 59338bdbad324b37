from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from app.body import KIB, MIB
from app.deps import EventsKey, ServicesDep
from app.routing import GuardedRoute
from context.models import Event
from waypoint.errors import DomainError

#: room for one event with every field at its longest, JSON-escaped
EVENT_BYTES = 16 * KIB


class BatchTooLarge(DomainError):
    status_code = 413
    error = "PayloadTooLarge"


class _EventsRoute(GuardedRoute):
    def body_cap(self, request: Request) -> int:
        max_batch: int = request.app.state.services.settings.max_batch
        return max(MIB, max_batch * EVENT_BYTES)

    def precheck(self, request: Request, data: Any) -> None:
        """Count the events before validating any: an oversized batch costs one len()."""
        events = data.get("events") if isinstance(data, dict) else None
        limit = request.app.state.services.settings.max_batch
        if isinstance(events, list) and len(events) > limit:
            raise BatchTooLarge(f"a batch holds at most {limit} events (got {len(events)})")


router = APIRouter(prefix="/v1", tags=["events"], route_class=_EventsRoute)


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


@router.post("/events", response_model=EventBatchResult)
async def post_events(body: EventBatch, services: ServicesDep, _key: EventsKey) -> EventBatchResult:
    """Record feedback and journey events; a repeated ``event_id`` changes nothing.

    A batch holds at most ``WAYPOINT_MAX_BATCH`` events (1,000 by default); more is a 413,
    answered before any event is validated."""
    results = await services.ingestor.ingest(body.events, services.runtime.state)
    accepted = sum(r.status == "accepted" for r in results)
    return EventBatchResult(
        accepted=accepted,
        duplicates=len(results) - accepted,
        results=[EventStatus(event_id=r.event_id, status=r.status) for r in results],
    )
