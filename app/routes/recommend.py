from __future__ import annotations

from fastapi import APIRouter

from app.deps import RecommendKey, ServicesDep
from app.jsonresp import ModelResponse
from app.routing import GuardedRoute
from recommender.schemas import RecommendRequest, RecommendResponse

router = APIRouter(prefix="/v1", tags=["decisions"], route_class=GuardedRoute)


@router.post("/recommend", response_model=RecommendResponse, response_model_exclude_none=False)
async def recommend(
    body: RecommendRequest, services: ServicesDep, _key: RecommendKey
) -> ModelResponse:
    """Next-best actions for a user in a context, each with its reasons."""
    answer = await services.recommender.recommend(body, services.runtime.state)
    headers = {"x-waypoint-degraded": "1"} if answer.degraded else None
    return ModelResponse(answer, headers=headers)
