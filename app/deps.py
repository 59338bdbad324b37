"""Request-scoped access to the long-lived services built in the lifespan, the keys' scopes,
and the path parameters several routers share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from app.auth import require
from service.container import Services
from service.settings import ApiKey, Scope


async def get_services(request: Request) -> Services:
    # async: FastAPI runs a plain ``def`` dependency in the thread pool, on every request
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
# the agent console asks for decisions on behalf of agents, so its key may too
RECOMMEND_SCOPES: tuple[Scope, ...] = ("recommend", "console")
RecommendKey = Annotated[ApiKey, Depends(require(*RECOMMEND_SCOPES))]
EventsKey = Annotated[ApiKey, Depends(require("events"))]
AdminKey = Annotated[ApiKey, Depends(require("admin"))]
ConsoleKey = Annotated[ApiKey, Depends(require("console"))]

#: a registered model's version (intent models and rankers alike)
ModelVersion = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:\-]{1,128}$")]
