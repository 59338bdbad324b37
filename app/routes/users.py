from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel

from app.deps import AdminKey, ConsoleKey, ServicesDep
from app.routing import GuardedRoute
from context.views import user_context
from domain.customer import Journey, OpenIntent, Profile
from service import erasure

router = APIRouter(prefix="/v1/users", tags=["users"], route_class=GuardedRoute)

UserPath = Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.@:\-]+$")


class AffinityOut(BaseModel):
    category: str
    score: float


class UserContextOut(BaseModel):
    user_id: str
    known: bool
    profile: Profile
    journey: Journey
    open_intents: list[OpenIntent]
    top_affinities: list[AffinityOut]
    owned: list[str]
    recent_events: list[dict[str, Any]]
    engagement: str


@router.get("/{user_id}/context", response_model=UserContextOut)
async def get_context(
    services: ServicesDep, _key: ConsoleKey, user_id: str = UserPath
) -> UserContextOut:
    """Live journey context and profile summary (for the agent console)."""
    view = await user_context(services.users, user_id, now=time.time())
    return UserContextOut.model_validate(view, from_attributes=True)


@router.put("/{user_id}/profile", response_model=Profile)
async def put_profile(
    body: Profile, services: ServicesDep, _key: AdminKey, user_id: str = UserPath
) -> Profile:
    """Set the slow-changing profile (segments, tenure, attributes), e.g. from a CRM."""
    await services.users.set_profile(user_id, body)
    return body


@router.delete("/{user_id}", status_code=204)
async def erase_user(services: ServicesDep, _key: AdminKey, user_id: str = UserPath) -> Response:
    """Erase everything stored about the user: their keys, their learned clarify texts, and
    the pseudonym that linked their decision and experiment log records to them."""
    await erasure.erase_user(services.users, services.learned, user_id)
    return Response(status_code=204)
