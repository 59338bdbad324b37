from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from app.body import KIB, MIB
from app.deps import EventsKey, ServicesDep
from app.jsonresp import OrjsonResponse
from app.routing import GuardedRoute
from domain.errors import DomainError
from domain.events import Event

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
    status: Literal["accepted", "duplicate", "not_stored", "unknown"]


class EventBatchResult(BaseModel):
    accepted: int
    duplicates: int
    not_stored: int = Field(description="certainly not stored: retry these")
    unknown: int = Field(description="the store failed mid-way: may be stored; retry these")
    results: list[EventStatus]


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
