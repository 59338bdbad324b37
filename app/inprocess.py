"""An app served inside this process: its lifespan run, and an httpx client that talks to it
over ASGI (no socket). The tests, the probe suite and the simulation use it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI


@asynccontextmanager
async def serve_in_process(
    app: FastAPI,
    *,
    key: str | None = None,
    base_url: str = "http://waypoint.local",
    raise_app_exceptions: bool = False,
    timeout_s: float = 5.0,
) -> AsyncIterator[httpx.AsyncClient]:
    """Run ``app``'s lifespan and yield a client to it, signed in with ``key`` (if given).

    With ``raise_app_exceptions`` an unhandled error in the app reaches the caller instead of
    coming back as a 500 answer."""
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
        async with httpx.AsyncClient(
            transport=transport, base_url=base_url, headers=headers, timeout=timeout_s
        ) as client:
            yield client
