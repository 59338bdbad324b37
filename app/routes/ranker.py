from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from app.deps import AdminKey, ModelVersion, ServicesDep
from app.routing import GuardedRoute
from recommender.ranker_artifact import RankerMetadata

router = APIRouter(prefix="/v1/ranker", tags=["ranker"], route_class=GuardedRoute)


class RankerModels(BaseModel):
    active: str | None
    loaded: str | None
    models: list[RankerMetadata]


@router.get("/models", response_model=RankerModels)
async def list_models(services: ServicesDep, _key: AdminKey) -> RankerModels:
    """Registered latent-factor rankers; ``active`` is the one every worker should serve,
    ``loaded`` the one this worker serves now."""
    registry = services.rankers
    return RankerModels(
        active=await registry.active_version(),
        loaded=services.runtime.state.ranker_version,
        models=await registry.list(),
    )


@router.post("/models/{version}/activate", response_model=RankerMetadata)
async def activate(services: ServicesDep, _key: AdminKey, version: ModelVersion) -> RankerMetadata:
    """Make a registered ranker active; every worker loads it within its reload interval."""
    metadata = await services.rankers.activate(version)
    await services.runtime.refresh()
    return metadata


@router.post("/models/deactivate", status_code=204)
async def deactivate(services: ServicesDep, _key: AdminKey) -> None:
    """Serve without a factor model (co-occurrence only in the ``similar`` term)."""
    await services.rankers.deactivate()
    await services.runtime.refresh()
