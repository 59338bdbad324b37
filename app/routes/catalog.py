from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, SkipValidation, ValidationError

from app.body import MIB
from app.deps import AdminKey, ServicesDep
from app.routing import GuardedRoute
from domain.actions import Action
from domain.errors import Invalid
from domain.values import duplicated
from recommender.catalog.sync import off_loop


class _CatalogRoute(GuardedRoute):
    #: up to 10,000 items a batch
    max_body_bytes = 32 * MIB


router = APIRouter(prefix="/v1/catalog", tags=["catalog"], route_class=_CatalogRoute)

ItemPath = Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")


class ItemsIn(BaseModel):
    """The items are validated against ``Action`` one by one in a worker thread
    (:func:`_validated`), not while the body is parsed: a batch of thousands then never
    holds the event loop, so decisions keep flowing during a bulk load. The document
    still declares every item an ``Action``."""

    model_config = ConfigDict(extra="forbid")

    items: Annotated[list[SkipValidation[Action]], Field(min_length=1, max_length=10_000)]


def _validated(raw: list[Any]) -> list[tuple[Action, str]]:
    """Each item as an ``Action`` and its stored JSON; a 422 naming every bad item."""
    out: list[tuple[Action, str]] = []
    errors: list[dict[str, Any]] = []
    for i, item in enumerate(raw):
        try:
            action = item if isinstance(item, Action) else Action.model_validate(item)
        except ValidationError as exc:
            errors.extend(
                {**e, "loc": ("body", "items", i, *e["loc"])} for e in exc.errors(include_url=False)
            )
            continue
        out.append((action, action.model_dump_json(exclude_defaults=True)))
    if errors:
        raise RequestValidationError(errors)
    return out


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
    # in a worker thread that hands the interpreter back to the event loop after 0.5 ms,
    # not the default 5 ms: requests served meanwhile wait that at each of their awaits
    items = await off_loop(_validated, list(body.items))
    ids = [a.id for a, _ in items]
    if len(set(ids)) != len(ids):
        dupes = duplicated(ids)
        raise Invalid(f"duplicate ids in the batch: {', '.join(dupes[:10])}")
    version = await services.catalog.upsert_encoded([(a.id, raw) for a, raw in items])
    applied = await _applied(services, version, wait)
    return CatalogChange(version=version, upserted=len(items), applied=applied)


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
