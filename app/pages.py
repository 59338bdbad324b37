"""Serving the browser pages shipped with the package (console, experiments admin).

A page shell and its files are public: a browser navigation cannot send a Bearer header,
and they hold no data or secret. Each page loads only its own files (its own and the shared
page.css/page.js, under its own path) and talks only to this origin; the page sends the
user's key on every data call.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse

from domain.errors import NotFound

PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


#: the files every page is made of besides its own, with their media types
SHARED_FILES = {
    "page.js": "text/javascript; charset=utf-8",
    "page.css": "text/css; charset=utf-8",
}


def static_text(name: str) -> str:
    return (resources.files("app") / "static" / name).read_text("utf-8")


def page(name: str) -> HTMLResponse:
    return HTMLResponse(static_text(name), headers=PAGE_HEADERS)


def page_file(name: str, files: Mapping[str, str]) -> Response:
    """One of ``files`` (name -> media type); anything else is a 404."""
    media_type = files.get(name)
    if media_type is None:
        raise NotFound(f"no page file {name!r}")
    return Response(static_text(name), media_type=media_type, headers=PAGE_HEADERS)


def add_page(
    router: APIRouter, *, path: str, shell: str, files_path: str, files: Mapping[str, str]
) -> None:
    """Serve a page on ``router``: its ``shell`` at ``path``, and at ``files_path``/{name} its
    own ``files`` (name -> media type) and the shared ones; any other name is a 404."""
    served = {**SHARED_FILES, **files}

    async def shell_page() -> HTMLResponse:
        return page(shell)

    async def page_files(name: str) -> Response:
        return page_file(name, served)

    router.add_api_route(
        path, shell_page, methods=["GET"], response_class=HTMLResponse, include_in_schema=False
    )
    router.add_api_route(
        f"{files_path}/{{name}}", page_files, methods=["GET"], include_in_schema=False
    )
