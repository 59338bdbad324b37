"""While the app serves, the cyclic collector's middle generation runs less often (the p99 at
concurrency 1: see app.main.GC_MIDDLE_EVERY); the process's own thresholds come back after."""

from __future__ import annotations

import gc

from app.inprocess import serve_in_process
from app.main import GC_MIDDLE_EVERY, create_app
from service.settings import Settings


async def _nothing(services: object) -> None:
    return None


async def test_middle_generation_threshold_while_serving(redis_url: str) -> None:
    before = gc.get_threshold()
    app = create_app(Settings(redis_url=redis_url, reload_interval_s=3600), startup=_nothing)
    async with serve_in_process(app) as client:
        young, middle, old = gc.get_threshold()
        assert (young, old) == (before[0], before[2])
        assert middle == max(before[1], GC_MIDDLE_EVERY)
        assert (await client.get("/healthz")).status_code == 200
    assert gc.get_threshold() == before
