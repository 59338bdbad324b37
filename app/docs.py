"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), from files an installed package ships.

The ``fastapi-offline`` package is used only for its copies of the Swagger UI and ReDoc
files. Nothing is loaded from a CDN: the pages work offline, and their
Content-Security-Policy allows scripts from this origin only (no inline script, no eval),
since this is the origin where the console and admin pages keep their key in
sessionStorage.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse

from app.pages import static_text
from domain.errors import NotFound

router = APIRouter(include_in_schema=False)

#: both set element styles from script, hence 'unsafe-inline' for styles only; ReDoc
#: runs its search index in a worker it builds from a blob
DOCS_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
        "worker-src 'self' blob:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

#: the bundle's files the page uses (name -> media type)
_BUNDLE = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}
#: our own start-up scripts (files, not inline scripts, for the CSP)
_OWN = {"docs.js", "redoc.js"}

_HEAD = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Waypoint API</title>
  <meta name="referrer" content="no-referrer">
  <link rel="icon" type="image/png" href="/docs/static/favicon.png">
"""

_SWAGGER = (
    _HEAD
    + """  <link rel="stylesheet" href="/docs/static/swagger-ui.css">
  <script src="/docs/static/swagger-ui-bundle.js" defer></script>
  <script src="/docs/static/docs.js" defer></script>
</head>
<body><div id="swagger-ui"></div></body>
</html>
"""
)

_REDOC = (
    _HEAD
    + """  <script src="/docs/static/redoc.standalone.js" defer></script>
  <script src="/docs/static/redoc.js" defer></script>
</head>
<body><div id="redoc"></div></body>
</html>
"""
)


@router.get("/docs")
async def docs_page() -> HTMLResponse:
    return HTMLResponse(_SWAGGER, headers=DOCS_HEADERS)


@router.get("/redoc")
async def redoc_page() -> HTMLResponse:
    return HTMLResponse(_REDOC, headers=DOCS_HEADERS)


@router.get("/docs/static/{name}")
async def docs_file(name: str) -> Response:
    headers = {**DOCS_HEADERS, "Cache-Control": "public, max-age=3600"}
    if name in _OWN:
        return Response(static_text(name), media_type="text/javascript", headers=headers)
    media_type = _BUNDLE.get(name)
    if media_type is None:
        raise NotFound(f"no docs file {name!r}")
    content = (resources.files("fastapi_offline") / "static" / name).read_bytes()
    return Response(content, media_type=media_type, headers=headers)
