from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from app.body import MIB
from app.deps import AdminKey, ServicesDep
from app.routing import GuardedRoute
from recommender.models import Action
from waypoint.errors import Invalid


class _CatalogRoute(GuardedRoute):
    #: up to 10,000 items a batch
    max_body_bytes = 32 * MIB


router = APIRouter(prefix="/v1/catalog", tags=["catalog"], route_class=_CatalogRoute)

ItemPath = Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")


class ItemsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: Annotated[list[Action], Field(min_length=1, max_length=10_000)]


class CatalogChange(BaseModel):
    version: int
    upserted: int = 0
    deleted: int = 0
    applied: bool = Field(
        description="This worker already serves the new version (always true with wait=true)."
    )


WaitQuery = Query(
    default=False,
    description="Answer only once this worker serves the new version. Without it the "
    "change is applied in the background within moments, by every worker.",
)


async def _applied(services: ServicesDep, version: int, wait: bool) -> bool:
    if wait:
        await services.runtime.refresh()
    else:
        services.runtime.wake()
    return services.runtime.state.catalog.version >= version


@router.put("/items", response_model=CatalogChange)
async def upsert_items(
    body: ItemsIn, services: ServicesDep, _key: AdminKey, wait: bool = WaitQuery
) -> CatalogChange:
    """Insert or replace actions (bulk). Every worker applies the change as a delta and
    swaps in the rebuilt index when it is complete; requests never wait for it."""
    ids = [a.id for a in body.items]
    if len(set(ids)) != len(ids):
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        raise Invalid(f"duplicate ids in the batch: {', '.join(dupes[:10])}")
    version = await services.catalog.upsert(body.items)
    applied = await _applied(services, version, wait)
    return CatalogChange(version=version, upserted=len(body.items), applied=applied)


@router.get("/items/{item_id}", response_model=Action)
async def get_item(services: ServicesDep, _key: AdminKey, item_id: str = ItemPath) -> Action:
    return await services.catalog.get(item_id)


@router.delete("/items/{item_id}", response_model=CatalogChange)
async def delete_item(
    services: ServicesDep, _key: AdminKey, item_id: str = ItemPath, wait: bool = WaitQuery
) -> CatalogChange:
    version = await services.catalog.delete(item_id)
    applied = await _applied(services, version, wait)
    return CatalogChange(version=version, deleted=1, applied=applied)
