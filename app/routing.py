"""The route class every router uses: the key, then the body, then FastAPI.

FastAPI reads and validates a route's body before it resolves the route's dependencies, so
the scope check in :mod:`app.auth` alone would let a caller without a key make the server read
and parse any body. A :class:`GuardedRoute` checks, in this order and before FastAPI sees the
request:

1. ``/v1`` routes: an API key is present and known (401; the scope is still checked by the
   route's dependency, 403);
2. routes with a JSON body: the content type (415), the size from ``Content-Length`` and then
   while streaming (413, :meth:`GuardedRoute.body_cap`), the JSON itself (422 on ``body``),
   the route's :meth:`precheck` on the parsed JSON (e.g. the number of events in a batch,
   413), then no number is NaN or infinite (422 naming the field) - all before any model
   is built.

It also documents what it answers: every operation lists the error statuses it can return
with the one error shape (:class:`app.errors.ErrorOut`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Any, ClassVar

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

from app.auth import identify
from app.body import (
    MIB,
    ReadRequest,
    check_content_type,
    check_finite,
    parse_json,
    read_capped,
)
from app.errors import ErrorOut

Handler = Callable[[Request], Coroutine[Any, Any, Response]]

_DESCRIPTIONS = {
    400: "Bad request",
    401: "Missing or unknown API key",
    403: "The API key lacks the scope this operation needs",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "Body (or batch) larger than this operation accepts",
    415: "The body is not sent as application/json",
    422: "Invalid request: `detail` lists each problem, or says what is wrong",
    503: "A store is unavailable; retrying is safe",
}


def bearer_token(request: Request) -> str | None:
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


async def check_key(request: Request) -> None:
    """401 unless the request carries a configured API key, 429 for an address that sent
    too many wrong ones (:func:`app.auth.identify`); the scope is the dependency's."""
    await identify(request, bearer_token(request))


class GuardedRoute(APIRoute):
    #: the largest body this route reads; a router for bigger documents subclasses it
    max_body_bytes: ClassVar[int] = 1 * MIB

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        kwargs["responses"] = self._error_responses(path, kwargs)
        super().__init__(path, endpoint, **kwargs)
        if self.body_field is None:  # known only now: no body, so no 413/415 either
            for code in (413, 415):
                self.responses.pop(code, None)
                self.response_fields.pop(code, None)

    @classmethod
    def _error_responses(cls, path: str, kwargs: dict[str, Any]) -> dict[int | str, Any]:
        declared: dict[int | str, Any] = dict(kwargs.get("responses") or {})
        codes: set[int] = set()
        if path.startswith("/v1/"):
            codes |= {401, 403, 422, 503}
            if re.search(r"\{[^}]+\}", path):
                codes.add(404)
        if set(kwargs.get("methods") or ()) & {"POST", "PUT", "PATCH"}:
            codes |= {413, 415, 422}
        for code in codes:
            entry = dict(declared.get(code) or {})
            entry.setdefault("model", ErrorOut)
            entry.setdefault("description", _DESCRIPTIONS[code])
            declared[code] = entry
        for status, entry in list(declared.items()):
            if isinstance(status, int) and status >= 400 and isinstance(entry, dict):
                declared[status] = {"model": ErrorOut, **entry}
        return declared

    def body_cap(self, request: Request) -> int:
        """The most bytes this route reads from a body."""
        return self.max_body_bytes

    def precheck(self, request: Request, data: Any) -> None:
        """A cheap check of the parsed JSON before the body model is validated."""

    async def guard(self, request: Request) -> Request:
        """The checks above; the request FastAPI reads the body and its JSON from."""
        if self.path.startswith("/v1/"):
            await check_key(request)
        if self.body_field is None:
            return request
        check_content_type(request, required=False)
        body = await read_capped(request, self.body_cap(request))
        data: Any = None
        if body:  # an empty body is FastAPI's to refuse ("Field required")
            check_content_type(request, required=True)
            data = parse_json(body)
            self.precheck(request, data)
            check_finite(body, data)
        # the stream is consumed: FastAPI reads the body and JSON from here
        return ReadRequest(request, body, data)

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            return await handler(await self.guard(request))

        return guarded


class DirectRoute(GuardedRoute):
    """A hot route whose usual request skips FastAPI's per-request machinery.

    FastAPI solves a route's dependencies anew for every request (inspecting the
    signature's parameters, building sub-requests for each dependency) and wraps the call
    in its telemetry and error context: on a route answering in about a millisecond that
    is a noticeable share. Here, once the guard has passed, a body that validates against
    :attr:`body_model` goes straight to :meth:`direct`, which does what the endpoint's
    dependencies would (the scope check, the services) and answers. Anything else (an
    empty body, a body that does not validate) goes through FastAPI's own handler, so
    every error is FastAPI's, word for word; the endpoint stays the route's documented
    signature (OpenAPI) and must answer the same as :meth:`direct`. (FastAPI's
    ``dependency_overrides`` reach only that endpoint, not :meth:`direct`.)
    """

    #: the model the body validates against (the endpoint's body parameter)
    body_model: ClassVar[type[BaseModel]]

    async def direct(self, request: Request, body: Any) -> Response:
        raise NotImplementedError

    def get_route_handler(self) -> Handler:
        full = APIRoute.get_route_handler(self)
        model = self.body_model

        async def handle(request: Request) -> Response:
            request = await self.guard(request)
            data = request.data if isinstance(request, ReadRequest) else None
            if isinstance(data, dict):
                try:
                    body = model.model_validate(data)
                except ValidationError:
                    pass  # FastAPI's handler reports it, with its own error locations
                else:
                    return await self.direct(request, body)
            return await full(request)

        return handle
