"""``/docs``: Swagger UI served from the installed ``swagger-ui-bundle`` package.

Nothing is loaded from a CDN: the page works offline, and its Content-Security-Policy
allows scripts from this origin only (no inline script, no eval), the same origin where
the console and admin pages keep their key in sessionStorage. ReDoc is off: no package
ships it.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse
from swagger_ui_bundle import swagger_ui_path

from app.pages import static_text
from waypoint.errors import NotFound

router = APIRouter(include_in_schema=False)

#: Swagger UI sets element styles from script, hence 'unsafe-inline' for styles only
DOCS_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

#: the bundle's files the page uses (name -> media type)
_BUNDLE = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Waypoint API</title>
  <meta name="referrer" content="no-referrer">
  <link rel="stylesheet" href="/docs/static/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/static/favicon-32x32.png">
  <script src="/docs/static/swagger-ui-bundle.js" defer></script>
  <script src="/docs/static/docs.js" defer></script>
</head>
<body><div id="swagger-ui"></div></body>
</html>
"""


@router.get("/docs")
async def docs_page() -> HTMLResponse:
    return HTMLResponse(_PAGE, headers=DOCS_HEADERS)


@router.get("/docs/static/{name}")
async def docs_file(name: str) -> Response:
    headers = {**DOCS_HEADERS, "Cache-Control": "public, max-age=3600"}
    if name == "docs.js":
        return Response(static_text("docs.js"), media_type="text/javascript", headers=headers)
    media_type = _BUNDLE.get(name)
    if media_type is None:
        raise NotFound(f"no docs file {name!r}")
    content = (Path(str(swagger_ui_path)) / name).read_bytes()
    return Response(content, media_type=media_type, headers=headers)
