"""JSON responses encoded with orjson (for bodies built as plain data, e.g. errors).

Routes with a response model are serialised by FastAPI through pydantic-core straight to
bytes already; a custom default response class would turn that fast path off, so this
class is used where the body is a dict: error handlers and the events answer.
orjson writes NaN and infinities as ``null``: a response is always valid JSON.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


class OrjsonResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=str, option=_OPTIONS)
