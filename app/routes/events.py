from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from app.deps import EventsKey, ServicesDep
from app.jsonresp import OrjsonResponse
from context.models import Event
from waypoint.errors import DomainError

router = APIRouter(prefix="/v1", tags=["events"])


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: Annotated[list[Event], Field(min_length=1)]


class EventStatus(BaseModel):
    event_id: str
    status: Literal["accepted", "duplicate", "not_stored", "unknown"]


class EventBatchResult(BaseModel):
    accepted: int
    duplicates: int
    not_stored: int = Field(description="certainly not stored: retry these")
    unknown: int = Field(description="the store failed mid-way: may be stored; retry these")
    results: list[EventStatus]


class BatchTooLarge(DomainError):
    status_code = 413
    error = "PayloadTooLarge"


_PARTIAL = {
    "model": EventBatchResult,
    "description": "Only part of the batch is known to be stored: retry every event whose "
    "status is `not_stored` or `unknown` (retrying a stored event is harmless).",
}
_NOTHING = {"description": "The store is unavailable; nothing from the batch was stored."}


@router.post("/events", response_model=EventBatchResult, responses={207: _PARTIAL, 503: _NOTHING})
async def post_events(body: EventBatch, services: ServicesDep, _key: EventsKey) -> Response:
    """Record feedback and journey events; a repeated ``event_id`` changes nothing.

    ``200``: every event is stored (``accepted``, or ``duplicate`` of a stored one).
    ``207``: some are not (see each event's status). ``503``: none is.
    """
    limit = services.settings.max_batch
    if len(body.events) > limit:
        raise BatchTooLarge(f"a batch holds at most {limit} events (got {len(body.events)})")
    results = await services.ingestor.ingest(body.events, services.runtime.state)
    counts = {"accepted": 0, "duplicate": 0, "not_stored": 0, "unknown": 0}
    for r in results:
        counts[r.status] += 1
    answer: dict[str, Any] = {
        "accepted": counts["accepted"],
        "duplicates": counts["duplicate"],
        "not_stored": counts["not_stored"],
        "unknown": counts["unknown"],
        # plain dicts: 1,000 small models would cost more than the store round trip
        "results": [{"event_id": r.event_id, "status": r.status} for r in results],
    }
    complete = counts["not_stored"] == counts["unknown"] == 0
    return OrjsonResponse(answer, status_code=200 if complete else 207)
