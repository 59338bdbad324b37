"""The FastAPI application: wiring only; every decision lives in the domain packages."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from app import docs, errors
from app.metrics import Metrics, MetricsMiddleware
from app.routes import (
    admin,
    catalog,
    console,
    events,
    experiments,
    health,
    intents,
    levers,
    policies,
    ranker,
    recommend,
    users,
)
from service.container import Services, build_services, load_configured_model
from service.exposure import auth_disabled_warning
from service.redis_server import EmbeddedRedis, await_redis, connect
from service.settings import Settings

log = logging.getLogger("waypoint")

#: collections of the youngest generation between two of the middle one (CPython's default
#: is 10). Serving keeps adding long-lived objects (caches of queries, predictions, reasons),
#: so each middle collection walks ~0.8 ms of survivors; every 10th young collection put it
#: in about one request in 130 at concurrency 1 -- the p99. 50 runs it 5x less often.
GC_MIDDLE_EVERY = 50


def create_app(
    settings: Settings | None = None,
    *,
    startup: Callable[[Services], Awaitable[None]] = load_configured_model,
) -> FastAPI:
    """The API. ``startup`` runs once the services are built, before the first refresh:
    by default it loads the configured intent model (the demo passes its seeding)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            url = settings.redis_url
            if url is None:
                embedded = EmbeddedRedis.start(settings.embedded_redis_dir)
                stack.callback(embedded.stop)
                url = embedded.url
                log.info("REDIS_URL is unset: using an embedded Redis server (%s)", url)
            redis = connect(url, cluster=settings.redis_cluster, timeout_s=settings.redis_timeout_s)
            stack.push_async_callback(redis.aclose)
            await await_redis(
                redis,
                url,
                attempts=settings.redis_connect_attempts,
                backoff_s=settings.redis_connect_backoff_s,
            )
            if settings.auth_disabled:
                log.warning("%s", auth_disabled_warning("the bound address"))
            services = build_services(settings, redis)
            stack.push_async_callback(services.ingestor.flush)  # before Redis closes
            app.state.services = services
            app.state.api_keys = settings.all_keys()
            await startup(services)
            await services.runtime.refresh()
            await stack.enter_async_context(services.runtime.running(settings.reload_interval_s))
            # Start-up built the long-lived state (catalog, intent model, demo world):
            # collect what it left behind and keep the rest out of later collections, or
            # every full collection pauses all requests for ~100-200 ms to rescan it.
            gc.collect()
            gc.freeze()
            stack.callback(gc.unfreeze)
            young, middle, old = gc.get_threshold()
            gc.set_threshold(young, max(middle, GC_MIDDLE_EVERY), old)
            stack.callback(gc.set_threshold, young, middle, old)
            yield

    app = FastAPI(
        title="Waypoint",
        version="0.1.0",
        summary="Real-time, context-aware next-best actions with reasons.",
        lifespan=lifespan,
        docs_url=None,  # served by app.docs from the installed package, not a CDN
        redoc_url=None,
    )
    metrics = Metrics()
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    errors.install(app)
    modules = (
        recommend,
        events,
        users,
        catalog,
        intents,
        health,
        console,
        experiments,
        admin,
        levers,
        policies,
        ranker,
        docs,
    )
    for module in modules:
        app.include_router(module.router)
    # every route, flat: a 405 lists the methods of all routes sharing the path in ``Allow``
    app.state.all_routes = [*app.router.routes, *(r for m in modules for r in m.router.routes)]
    return app
