"""The experiments admin page: a static shell plus its own script and stylesheet.

The shell and its files are public (a browser navigation cannot send a Bearer header, and they
hold no data or secret). The page asks for an admin key, keeps it in ``sessionStorage`` (this tab
only) and sends it as ``Authorization: Bearer`` on every call to ``/v1/experiments``.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse

from app.pages import page, page_file
from app.routing import GuardedRoute

router = APIRouter(tags=["admin"], route_class=GuardedRoute)

#: the files the page is made of, with their media types (nothing else is served)
STATIC_FILES = {
    "admin.js": "text/javascript; charset=utf-8",
    "admin.css": "text/css; charset=utf-8",
}


@router.get("/admin/experiments", response_class=HTMLResponse, include_in_schema=False)
async def experiments_page() -> HTMLResponse:
    """The experiments admin page (sign-in happens in the page; the shell holds no data)."""
    return page("admin.html")


@router.get("/admin/static/{name}", include_in_schema=False)
async def admin_static(name: str) -> Response:
    return page_file(name, STATIC_FILES)
