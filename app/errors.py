"""One error shape for every failure: ``{"error": <class>, "detail": <message or list>}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.jsonresp import OrjsonResponse
from experiments.models import ExperimentError
from waypoint.errors import DomainError

log = logging.getLogger("waypoint.app")


class AuthError(Exception):
    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


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

    @app.exception_handler(ExperimentError)
    async def _experiment(_: Request, exc: ExperimentError) -> OrjsonResponse:
        names = {404: "NotFound", 409: "Conflict", 422: "ValidationError"}
        error = names.get(exc.status_code, "BadRequest")
        return OrjsonResponse(_body(error, exc.detail), status_code=exc.status_code)

    @app.exception_handler(AuthError)
    async def _auth(_: Request, exc: AuthError) -> OrjsonResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        error = "Unauthorized" if exc.status_code == 401 else "Forbidden"
        return OrjsonResponse(
            _body(error, exc.detail), status_code=exc.status_code, headers=headers
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> OrjsonResponse:
        names = {404: "NotFound", 405: "MethodNotAllowed", 413: "PayloadTooLarge"}
        return OrjsonResponse(
            _body(names.get(exc.status_code, "HTTPError"), exc.detail),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> OrjsonResponse:
        log.exception("unhandled error")
        return OrjsonResponse(
            _body("InternalError", "unexpected error; see server log"), status_code=500
        )
