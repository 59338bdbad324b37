"""Prometheus metrics, one registry per app instance (so tests can build many apps)."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEGRADED_HEADER = b"x-waypoint-degraded"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "waypoint_request_seconds",
            "Request latency by route",
            ["method", "route", "status"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        #: (method, route template, status) -> its histogram child; routes are templates
        #: ("unmatched" otherwise), so the label sets are few
        self._latency_of: dict[tuple[str, str, str], Any] = {}
        self.degraded = Counter(
            "waypoint_degraded_answers_total", "Answers flagged degraded", registry=self.registry
        )

    def observe(self, method: str, route: str, status: str, seconds: float) -> None:
        """One request's latency (the labelled child looked up once per label set)."""
        key = (method, route, status)
        child = self._latency_of.get(key)
        if child is None:
            child = self._latency_of[key] = self.latency.labels(method, route, status)
        child.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Times every HTTP request and counts degraded answers.

    A plain ASGI middleware rather than ``@app.middleware("http")``: Starlette's
    ``BaseHTTPMiddleware`` runs the app in a separate task and streams the response
    through a memory channel, which costs more than the whole rest of the routing.
    """

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        degraded = False

        async def send_and_watch(message: Message) -> None:
            nonlocal status, degraded
            if message["type"] == "http.response.start":
                status = message["status"]
                degraded = any(
                    name.lower() == DEGRADED_HEADER and value == b"1"
                    for name, value in message.get("headers", ())
                )
            await send(message)

        await self.app(scope, receive, send_and_watch)
        route = scope.get("route")
        path = getattr(route, "path", "unmatched")
        self.metrics.observe(scope["method"], path, str(status), time.perf_counter() - start)
        if degraded:
            self.metrics.degraded.inc()
