from __future__ import annotations

from fastapi import APIRouter, Response

from app.deps import RecommendKey, ServicesDep
from app.routing import GuardedRoute
from recommender.schemas import RecommendRequest, RecommendResponse

router = APIRouter(prefix="/v1", tags=["decisions"], route_class=GuardedRoute)


@router.post("/recommend", response_model=RecommendResponse, response_model_exclude_none=False)
async def recommend(
    body: RecommendRequest, services: ServicesDep, _key: RecommendKey, response: Response
) -> RecommendResponse:
    """Next-best actions for a user in a context, each with its reasons."""
    answer = await services.recommender.recommend(body, services.runtime.state)
    if answer.degraded:
        response.headers["x-waypoint-degraded"] = "1"
    return answer
