"""JSON responses: orjson for bodies built as plain data, pydantic-core for models.

:class:`OrjsonResponse` is for bodies that are dicts: error handlers and the events answer.
orjson writes NaN and infinities as ``null``: a response is always valid JSON.

:class:`ModelResponse` is for a hot route that returns a model the domain built itself:
FastAPI would validate the returned model against the route's response model again and
then serialize it; this serializes it once, with the same pydantic-core serializer
(so the same bytes). The route still declares ``response_model`` for its documentation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, TypeAdapter

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


class OrjsonResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=str, option=_OPTIONS)


_ADAPTERS: dict[type[BaseModel], TypeAdapter[Any]] = {}


class ModelResponse(Response):
    media_type = "application/json"

    def __init__(
        self, model: BaseModel, *, status_code: int = 200, headers: Mapping[str, str] | None = None
    ) -> None:
        cls = type(model)
        adapter = _ADAPTERS.get(cls)
        if adapter is None:
            adapter = _ADAPTERS[cls] = TypeAdapter(cls)
        super().__init__(adapter.dump_json(model), status_code=status_code, headers=headers)
