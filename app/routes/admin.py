"""The experiments admin page: a static shell plus its own script and stylesheet.

The shell and its files are public (a browser navigation cannot send a Bearer header, and they
hold no data or secret). The page asks for an admin key, keeps it in ``sessionStorage`` (this tab
only) and sends it as ``Authorization: Bearer`` on every call to ``/v1/experiments``.
"""

from __future__ import annotations

from fastapi import APIRouter

from app.pages import add_page
from app.routing import GuardedRoute

router = APIRouter(tags=["admin"], route_class=GuardedRoute)

#: the page's own files, with their media types (nothing else but the shared ones is served)
STATIC_FILES = {
    "admin.js": "text/javascript; charset=utf-8",
    "admin.css": "text/css; charset=utf-8",
}

# the experiments admin page (sign-in happens in the page; the shell holds no data)
add_page(
    router,
    path="/admin/experiments",
    shell="admin.html",
    files_path="/admin/static",
    files=STATIC_FILES,
)
