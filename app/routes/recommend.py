from __future__ import annotations

from typing import Any, ClassVar

from fastapi import APIRouter, Request, Response

from app.auth import authorize
from app.deps import RECOMMEND_SCOPES, RecommendKey, ServicesDep
from app.jsonresp import ModelResponse
from app.routing import DirectRoute, bearer_token
from recommender.schemas import RecommendRequest, RecommendResponse
from service.container import Services


async def _answer(body: RecommendRequest, services: Services) -> ModelResponse:
    answer = await services.recommender.recommend(body, services.runtime.state)
    headers = {"x-waypoint-degraded": "1"} if answer.degraded else None
    return ModelResponse(answer, headers=headers)


class _RecommendRoute(DirectRoute):
    body_model: ClassVar[type[RecommendRequest]] = RecommendRequest

    async def direct(self, request: Request, body: Any) -> Response:
        # what the endpoint's dependencies do: the scope check, then the services
        await authorize(request, bearer_token(request), RECOMMEND_SCOPES)
        return await _answer(body, request.app.state.services)


router = APIRouter(prefix="/v1", tags=["decisions"], route_class=_RecommendRoute)


@router.post("/recommend", response_model=RecommendResponse, response_model_exclude_none=False)
async def recommend(
    body: RecommendRequest, services: ServicesDep, _key: RecommendKey
) -> ModelResponse:
    """Next-best actions for a user in a context, each with its reasons."""
    return await _answer(body, services)
