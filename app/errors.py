"""One error shape for every failure: ``{"error": <class>, "detail": <message or list>}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

from app.jsonresp import OrjsonResponse
from domain.errors import DomainError

log = logging.getLogger("waypoint.app")


class AuthError(Exception):
    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


class FieldError(BaseModel):
    loc: list[str] = Field(description="Where the problem is, e.g. ['body', 'events', '0', 'ts'].")
    field: str = Field(description="The same place as a dotted name, e.g. 'events.0.ts'.")
    msg: str
    type: str | None = None


class ErrorOut(BaseModel):
    """The shape of every error answer."""

    error: str = Field(description="The kind of error, e.g. 'ValidationError', 'NotFound'.")
    detail: str | list[FieldError] = Field(
        description="A message, or for a request that fails validation one entry per problem."
    )


def allowed_methods(routes: list[BaseRoute], scope: dict[str, Any]) -> list[str]:
    """Every method some route serves at the request's path (for a 405's ``Allow``)."""
    methods: set[str] = set()
    for route in routes:
        match, _ = route.matches(scope)
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def _body(error: str, detail: Any) -> dict[str, Any]:
    return {"error": error, "detail": detail}


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for e in exc.errors():
        loc = [str(p) for p in e.get("loc", ())]
        msg = str(e.get("msg", "invalid"))
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        out.append(
            {
                "loc": loc,
                "field": ".".join(loc[1:]) or loc[0] if loc else "",
                "msg": msg,
                "type": e.get("type"),
            }
        )
    return out


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> OrjsonResponse:
        return OrjsonResponse(_body("ValidationError", _field_errors(exc)), status_code=422)

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> OrjsonResponse:
        return OrjsonResponse(_body(exc.error, exc.detail), status_code=exc.status_code)

    @app.exception_handler(AuthError)
    async def _auth(_: Request, exc: AuthError) -> OrjsonResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        error = "Unauthorized" if exc.status_code == 401 else "Forbidden"
        return OrjsonResponse(
            _body(error, exc.detail), status_code=exc.status_code, headers=headers
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        names = {
            400: "BadRequest",
            404: "NotFound",
            405: "MethodNotAllowed",
            413: "PayloadTooLarge",
            415: "UnsupportedMediaType",
            429: "TooManyRequests",
        }
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            # a path served by several routes (GET and DELETE of an item) allows all their methods
            routes = getattr(request.app.state, "all_routes", [])
            allowed = allowed_methods(routes, dict(request.scope)) if routes else []
            if allowed:
                headers["Allow"] = ", ".join(allowed)
        return JSONResponse(
            _body(names.get(exc.status_code, "HTTPError"), exc.detail),
            status_code=exc.status_code,
            headers=headers or None,
        )

    @app.exception_handler(RedisConnectionError)
    @app.exception_handler(RedisTimeoutError)
    async def _store_down(_: Request, exc: Exception) -> JSONResponse:
        log.warning("store unavailable: %r", exc)
        return JSONResponse(
            _body("StoreUnavailable", "a store is unavailable; retry shortly"), status_code=503
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> OrjsonResponse:
        log.exception("unhandled error")
        return OrjsonResponse(
            _body("InternalError", "unexpected error; see server log"), status_code=500
        )
