"""Reading a JSON request body safely: a size cap, a JSON content type, strict parsing.

Everything here runs before FastAPI parses the body or validates it against the route's model,
so an oversized or malformed request costs no more than the bytes it is allowed to send.
"""

from __future__ import annotations

import functools
import json
import math
import re
from email.message import Message
from typing import Any

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

KIB = 1024
MIB = 1024 * KIB

#: an integer orjson would not read exactly (past 64 bits it reads a float)
_LONG_INTEGER = re.compile(rb"[0-9]{20}")
#: a number literal too large for a double (it parses as infinity); strings rarely look like it
_HUGE_LITERAL = re.compile(rb"[0-9][eE][+]?[0-9]{3}")


class PayloadTooLarge(HTTPException):
    def __init__(self, detail: str) -> None:
        super().__init__(status_code=413, detail=detail)


class UnsupportedMediaType(HTTPException):
    def __init__(self, detail: str) -> None:
        super().__init__(status_code=415, detail=detail)


def _content_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    if raw is None or not raw.strip().isdigit():
        return None
    return int(raw)


@functools.lru_cache(maxsize=64)
def is_json_type(content_type: str) -> bool:
    """Whether ``content_type`` names JSON (the parse is cached: clients send few types)."""
    message = Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def _too_large(cap: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the request body is larger than this route accepts ({cap:,} bytes)")


async def read_capped(request: Request, cap: int) -> bytes:
    """The body, refused with a 413 as soon as it is known to exceed ``cap`` bytes: at once
    from ``Content-Length``, else while streaming (a chunked body is never buffered past it)."""
    length = _content_length(request)
    if length is not None and length > cap:
        raise _too_large(cap)
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > cap:
            raise _too_large(cap)
        chunks.append(chunk)
    return b"".join(chunks)


def check_content_type(request: Request, *, required: bool) -> None:
    """415 for a body sent as anything but JSON (and, if ``required``, sent without a type)."""
    content_type = request.headers.get("content-type")
    if content_type is None and not required:
        return
    if content_type is None or not is_json_type(content_type):
        got = f" (got {content_type!r})" if content_type is not None else ""
        raise UnsupportedMediaType(
            f"this route takes a JSON body: send 'Content-Type: application/json'{got}"
        )


def _invalid(loc: tuple[str | int, ...], kind: str, msg: str) -> RequestValidationError:
    return RequestValidationError([{"type": kind, "loc": loc, "msg": msg, "input": None}])


def parse_json(body: bytes) -> Any:
    """Parse ``body``; malformed JSON is a 422 on ``body`` (never a character offset as the
    field).

    orjson parses first (several times faster on a batch of events). Whatever it refuses
    (NaN and Infinity, a number too large for a double, a lone surrogate, deep nesting,
    malformed JSON) and a body with an integer of 20 digits or more (which orjson would
    read as a float) go to the standard parser, whose answer (the value, or the error
    message) is the one given: the result never depends on which parser read it."""
    if not _LONG_INTEGER.search(body):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise _invalid(
            ("body",),
            "json_invalid",
            f"the body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
        ) from None
    except (ValueError, RecursionError) as exc:  # bad UTF-8, nesting too deep
        raise _invalid(("body",), "json_invalid", f"the body is not valid JSON: {exc}") from None


def check_finite(body: bytes, data: Any) -> None:
    """A number that is not finite (``NaN``, ``Infinity``, ``1e999``) is a 422 naming the
    field that holds it. The parsed document is only walked when the raw bytes hold one of
    those spellings, so an ordinary body costs two scans of its bytes."""
    if b"NaN" not in body and b"Infinity" not in body and not _HUGE_LITERAL.search(body):
        return
    where = first_non_finite(data)
    if where is not None:
        raise _invalid(
            ("body", *where),
            "finite_number",
            "Input should be a finite number (NaN and Infinity are not JSON numbers)",
        )


def first_non_finite(data: Any) -> tuple[str | int, ...] | None:
    """The path of a NaN or infinite float in parsed JSON, if any (iterative: the parser
    already bounded the depth, but this must not recurse either)."""
    if isinstance(data, float):
        return None if math.isfinite(data) else ()
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            items: Any = value.items()
        elif isinstance(value, list):
            items = enumerate(value)
        else:
            continue
        nested = []
        for key, item in items:
            if isinstance(item, float):
                if not math.isfinite(item):
                    return (*path, key)
            elif isinstance(item, dict | list):
                nested.append(((*path, key), item))
        stack.extend(reversed(nested))
    return None


class ReadRequest(Request):
    """A request whose body was already read and parsed by the route guard."""

    def __init__(self, request: Request, body: bytes, data: Any) -> None:
        super().__init__(request.scope, request.receive)
        self._read_body = body
        self._read_data = data

    async def body(self) -> bytes:
        return self._read_body

    async def json(self) -> Any:
        return self._read_data

    @property
    def data(self) -> Any:
        """The parsed JSON (None: no body)."""
        return self._read_data
