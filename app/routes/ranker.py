from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from app.deps import AdminKey, ServicesDep
from recommender.ranker_artifact import RankerMetadata
from recommender.ranker_registry import RankerRegistry
from waypoint.errors import NotFound

router = APIRouter(prefix="/v1/ranker", tags=["ranker"])


class RankerModels(BaseModel):
    active: str | None
    loaded: str | None
    models: list[RankerMetadata]


def _registry(services: ServicesDep) -> RankerRegistry:
    if services.rankers is None:
        raise NotFound("this deployment has no ranker registry")
    return services.rankers


@router.get("/models", response_model=RankerModels)
async def list_models(services: ServicesDep, _key: AdminKey) -> RankerModels:
    """Registered latent-factor rankers; ``active`` is the one every worker should serve,
    ``loaded`` the one this worker serves now."""
    registry = _registry(services)
    return RankerModels(
        active=await registry.active_version(),
        loaded=services.runtime.state.ranker_version,
        models=await registry.list(),
    )


@router.post("/models/{version}/activate", response_model=RankerMetadata)
async def activate(version: str, services: ServicesDep, _key: AdminKey) -> RankerMetadata:
    """Make a registered ranker active; every worker loads it within its reload interval."""
    metadata = await _registry(services).activate(version)
    await services.runtime.refresh()
    return metadata


@router.post("/models/deactivate", status_code=204)
async def deactivate(services: ServicesDep, _key: AdminKey) -> None:
    """Serve without a factor model (co-occurrence only in the ``similar`` term)."""
    await _registry(services).deactivate()
    await services.runtime.refresh()
