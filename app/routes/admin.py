"""The experiments admin page: a static shell plus its own script and stylesheet.

The shell and its files are public (a browser navigation cannot send a Bearer header, and they
hold no data or secret). The page asks for an admin key, keeps it in ``sessionStorage`` (this tab
only) and sends it as ``Authorization: Bearer`` on every call to ``/v1/experiments``.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse

from waypoint.errors import NotFound

router = APIRouter(tags=["admin"])

#: the files the page is made of, with their media types (nothing else is served)
STATIC_FILES = {
    "admin.js": "text/javascript; charset=utf-8",
    "admin.css": "text/css; charset=utf-8",
}
#: the page loads only its own files and talks only to this origin
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _static_text(name: str) -> str:
    return (resources.files("app") / "static" / name).read_text("utf-8")


@router.get("/admin/experiments", response_class=HTMLResponse, include_in_schema=False)
async def experiments_page() -> HTMLResponse:
    """The experiments admin page (sign-in happens in the page; the shell holds no data)."""
    return HTMLResponse(_static_text("admin.html"), headers=PAGE_HEADERS)


@router.get("/admin/static/{name}", include_in_schema=False)
async def admin_static(name: str) -> Response:
    media_type = STATIC_FILES.get(name)
    if media_type is None:
        raise NotFound(f"no admin file {name!r}")
    return Response(_static_text(name), media_type=media_type, headers=PAGE_HEADERS)
