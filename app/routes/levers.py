"""Business levers: ``GET/PUT /v1/levers`` (admin)."""

from __future__ import annotations

from fastapi import APIRouter

from app.body import MIB
from app.deps import AdminKey, ServicesDep
from app.routing import GuardedRoute
from recommender.levers import Levers


class _LeversRoute(GuardedRoute):
    #: up to 100,000 action factors and 10,000 category factors
    max_body_bytes = 16 * MIB


router = APIRouter(prefix="/v1/levers", tags=["arbitration"], route_class=_LeversRoute)


@router.get("", response_model=Levers)
async def get_levers(services: ServicesDep, _key: AdminKey) -> Levers:
    """The levers every worker applies now (factors per action, category prefix, kind)."""
    return await services.levers.get()


@router.put("", response_model=Levers)
async def put_levers(body: Levers, services: ServicesDep, _key: AdminKey) -> Levers:
    """Replace all levers (each factor in [0, 10]; 0 switches off); workers reload them.

    The ``version`` in the body is ignored: the server sets the next one.
    """
    stored = await services.levers.put(body)
    await services.runtime.refresh()
    return stored
