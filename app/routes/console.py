"""The contact-center agent console: its page, the outcomes agents record, live changes.

The page shell and its static files are public (a browser navigation cannot send a
Bearer header, and they hold no data or secret); every data call the page makes sends
the agent's console key. The key identifies the agent: outcomes record the key's id as
``agent_id``, never a value the client sends.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.deps import ConsoleKey, ServicesDep
from app.pages import add_page
from app.routing import GuardedRoute
from context.live import journey_language, wait_for_change
from domain.customer import Location, RequestContext, SessionId, UserId
from domain.errors import NotFound, StoreUnavailable
from domain.events import Event
from domain.values import ActionId, Channel, CountryCode, LanguageCode

router = APIRouter(tags=["console"], route_class=GuardedRoute)

UserPath = Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.@:\-]+$")

#: the page's own files, with their media types (nothing else but the shared ones is served)
STATIC_FILES = {
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}

Outcome = Literal["accept", "decline", "maybe_later"]
#: why a customer declined, as the agent picks it from a short list
DeclineReason = Literal["too_expensive", "not_interested", "already_have_it", "bad_timing", "other"]
DECLINE_REASONS: tuple[str, ...] = DeclineReason.__args__  # type: ignore[attr-defined]


# the agent console (sign-in happens in the page; the shell holds no data)
add_page(
    router, path="/console", shell="console.html", files_path="/console/static", files=STATIC_FILES
)


class AgentOut(BaseModel):
    agent_id: str
    scopes: list[str]
    decline_reasons: list[str]


@router.get("/v1/console/me", response_model=AgentOut, tags=["console"])
async def console_me(key: ConsoleKey) -> AgentOut:
    """Who the console key belongs to (the page's sign-in check)."""
    return AgentOut(agent_id=key.id, scopes=list(key.scopes), decline_reasons=list(DECLINE_REASONS))


class OutcomeIn(BaseModel):
    """What the customer said to an offered action, as the agent records it."""

    model_config = ConfigDict(extra="forbid")

    user_id: UserId
    item_id: ActionId
    outcome: Outcome
    reason: DeclineReason | None = Field(
        default=None, description="Why the customer declined (declines only)."
    )
    event_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:\-]{8,48}$")] | None = Field(
        default=None,
        description="Idempotency key (e.g. a UUID made when the button was pressed): "
        "sending the same one again records nothing new.",
    )
    request_id: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description="The decision the action came from."
    )
    session_id: SessionId | None = None
    channel: Channel = "contact_center"
    language: LanguageCode | None = Field(
        default=None, description="Language of the conversation (default: the journey's)."
    )
    country: CountryCode | None = None

    @model_validator(mode="after")
    def _reason_only_for_declines(self) -> OutcomeIn:
        if self.reason is not None and self.outcome != "decline":
            raise ValueError("a reason is recorded for declines only")
        return self


class OutcomeOut(BaseModel):
    event_id: str
    status: Literal["accepted", "duplicate"]
    user_id: str
    item_id: str
    outcome: Outcome
    reason: str | None
    agent_id: str


#: the fields of the request an :class:`OutcomeOut` repeats
_ECHOED = {"user_id", "item_id", "outcome", "reason"}


@router.post(
    "/v1/console/outcomes",
    response_model=OutcomeOut,
    tags=["console"],
    responses={404: {"description": "Unknown action"}},
)
async def record_outcome(body: OutcomeIn, services: ServicesDep, key: ConsoleKey) -> OutcomeOut:
    """Record a customer's answer to an action; the console key is the agent."""
    if services.runtime.state.catalog.get(body.item_id) is None:
        raise NotFound(f"unknown action {body.item_id!r}")
    # namespaced per agent, so one agent's keys can never shadow another's events
    event_id = f"console:{key.id}:{body.event_id or uuid.uuid4().hex}"
    language = body.language or await journey_language(
        services.redis, services.users.keys(body.user_id)
    )
    context = RequestContext(
        channel=body.channel,
        language=language or "en",
        location=Location(country=body.country) if body.country else None,
    )
    event = Event(
        event_id=event_id,
        user_id=body.user_id,
        session_id=body.session_id,
        type=body.outcome,
        item_id=body.item_id,
        reason=body.reason,
        request_id=body.request_id,
        agent_id=key.id,
        context=context,
    )
    (result,) = await services.ingestor.ingest([event], services.runtime.state)
    if result.status not in ("accepted", "duplicate"):
        raise StoreUnavailable(
            "the event store failed before confirming this outcome; it may or may not be "
            "recorded: send it again with the same event_id (a repeat changes nothing)"
        )
    return OutcomeOut(
        **body.model_dump(include=_ECHOED),
        event_id=result.event_id,
        status=result.status,
        agent_id=key.id,
    )


class ChangesOut(BaseModel):
    user_id: str
    token: str = Field(description="Pass as ?since= on the next call.")
    changed: bool
    events: bool = Field(description="A new event was recorded for the user.")
    journey: bool = Field(description="The live journey moved (e.g. a decision was served).")


@router.get("/v1/users/{user_id}/changes", response_model=ChangesOut, tags=["console"])
async def user_changes(
    request: Request,
    response: Response,
    services: ServicesDep,
    _key: ConsoleKey,
    user_id: str = UserPath,
    since: Annotated[str | None, Query(max_length=64)] = None,
    wait: Annotated[float, Query(ge=0, le=30, description="Seconds to wait at most.")] = 15.0,
) -> ChangesOut:
    """Long poll: answers as soon as the user's state differs from ``since``, or after
    ``wait`` seconds with ``changed: false``. Without ``since`` it answers at once
    with the current token."""
    changes = await wait_for_change(
        services.redis,
        services.users.keys(user_id),
        since,
        timeout_s=wait,
        gone=request.is_disconnected,
    )
    response.headers["Cache-Control"] = "no-store"
    return ChangesOut(
        user_id=user_id,
        token=changes.token,
        changed=changes.changed,
        events=changes.events,
        journey=changes.journey,
    )
