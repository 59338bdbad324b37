from __future__ import annotations

from fastapi import APIRouter

from app.deps import AdminKey, RecommendKey, ServicesDep
from intent.taxonomy import Taxonomy

router = APIRouter(prefix="/v1/intents", tags=["intents"])


@router.get("", response_model=Taxonomy)
async def get_taxonomy(services: ServicesDep, _key: RecommendKey) -> Taxonomy:
    """The intent taxonomy every worker uses now."""
    return services.runtime.state.taxonomy


@router.put("", response_model=Taxonomy)
async def put_taxonomy(body: Taxonomy, services: ServicesDep, _key: AdminKey) -> Taxonomy:
    """Replace the taxonomy; every worker reloads it."""
    await services.taxonomy.put(body)
    await services.runtime.refresh()
    return body
