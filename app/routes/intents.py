from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from app.deps import AdminKey, ModelVersion, RecommendKey, ServicesDep
from app.routing import GuardedRoute
from domain.errors import NotFound
from intent.artifact import ModelMetadata
from intent.lifecycle import replace_taxonomy
from intent.taxonomy import Taxonomy

router = APIRouter(prefix="/v1/intents", tags=["intents"], route_class=GuardedRoute)


@router.get("", response_model=Taxonomy)
async def get_taxonomy(services: ServicesDep, _key: RecommendKey) -> Taxonomy:
    """The intent taxonomy every worker uses now."""
    return services.runtime.state.taxonomy


@router.put(
    "",
    response_model=Taxonomy,
    responses={
        404: {"description": "The model named by `activate` does not exist."},
        409: {"description": "The model would predict intents the taxonomy lacks."},
        422: {"description": "Empty taxonomy without `confirm=empty`, or invalid body."},
    },
)
async def put_taxonomy(
    body: Taxonomy,
    services: ServicesDep,
    _key: AdminKey,
    activate: str | None = Query(
        default=None,
        pattern=r"^[A-Za-z0-9_.:\-]{1,128}$",
        description="Also activate this model version (checked against the new taxonomy).",
    ),
    confirm: Literal["empty"] | None = Query(
        default=None, description="`empty`: really replace the taxonomy with no intents."
    ),
) -> Taxonomy:
    """Replace the taxonomy; every worker reloads it.

    The active model (or the one named by `activate`) must only predict intents the new
    taxonomy defines (409 otherwise). An empty taxonomy turns intent detection off and
    needs `?confirm=empty` (422 otherwise)."""
    await replace_taxonomy(
        services.taxonomy,
        services.models,
        body,
        activate=activate,
        confirm_empty=confirm == "empty",
    )
    await services.runtime.refresh()
    return body


@router.get("/models", response_model=list[ModelMetadata])
async def list_models(services: ServicesDep, _key: AdminKey) -> list[ModelMetadata]:
    """Stored intent models, newest first."""
    return await services.models.list()


@router.get(
    "/models/active",
    response_model=ModelMetadata,
    responses={404: {"description": "No model is active"}},
)
async def active_model(services: ServicesDep, _key: RecommendKey) -> ModelMetadata:
    """The model every worker uses now."""
    version = await services.models.active_version()
    if version is None:
        raise NotFound("no intent model is active")
    return await services.models.metadata(version)


@router.post("/models/{version}/activate", response_model=ModelMetadata)
async def activate_model(
    services: ServicesDep, _key: AdminKey, version: ModelVersion
) -> ModelMetadata:
    """Switch every worker to this model version (also the way to roll back)."""
    metadata = await services.models.activate(version, services.runtime.state.taxonomy)
    await services.runtime.refresh()
    return metadata
