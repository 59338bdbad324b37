from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
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


@router.put("/items", response_model=CatalogChange)
async def upsert_items(body: ItemsIn, services: ServicesDep, _key: AdminKey) -> CatalogChange:
    """Insert or replace actions (bulk); every worker reloads the new version."""
    ids = [a.id for a in body.items]
    if len(set(ids)) != len(ids):
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        raise Invalid(f"duplicate ids in the batch: {', '.join(dupes[:10])}")
    version = await services.catalog.upsert(body.items)
    await services.runtime.refresh()
    return CatalogChange(version=version, upserted=len(body.items))


@router.get("/items/{item_id}", response_model=Action)
async def get_item(services: ServicesDep, _key: AdminKey, item_id: str = ItemPath) -> Action:
    return await services.catalog.get(item_id)


@router.delete("/items/{item_id}", response_model=CatalogChange)
async def delete_item(
    services: ServicesDep, _key: AdminKey, item_id: str = ItemPath
) -> CatalogChange:
    version = await services.catalog.delete(item_id)
    await services.runtime.refresh()
    return CatalogChange(version=version, deleted=1)
