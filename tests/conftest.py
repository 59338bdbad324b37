"""Shared fixtures: a real Redis server (REDIS_URL's, else an embedded one) per session,
a flushed dedicated database per test, and the app started through its real lifespan."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from service.redis_server import EmbeddedRedis, connect
from service.settings import Settings

REPO = Path(__file__).resolve().parents[1]
TEST_KEY = "test-key"
#: tests using an external server work in this database, which they flush
TEST_DB = 13


def data_dir() -> Path:
    return Path(os.environ.get("WAYPOINT_DATA_DIR") or REPO.parent / "shared" / "data")


def _with_test_db(url: str) -> str:
    if url.startswith("unix://"):
        return url
    scheme_host, _, path = url.partition("//")[2].partition("/")
    base = url[: url.index("//") + 2] + scheme_host
    return f"{base}/{TEST_DB}" if not path.strip("/") else url


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("WAYPOINT_REDIS_URL") or os.environ.get("REDIS_URL")
    if external:
        yield _with_test_db(external)
        return
    server = EmbeddedRedis.start(tmp_path_factory.mktemp("redis"))
    try:
        yield server.url
    finally:
        server.stop()


@pytest_asyncio.fixture
async def redis(redis_url: str) -> AsyncIterator[Any]:
    client = connect(redis_url, timeout_s=5.0)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture(scope="session")
def demo_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo intent model, trained once per test session."""
    from demo.seed import data_dir as demo_data
    from intent.artifact import save_model
    from intent.data import load_jsonl
    from intent.lifecycle import metadata_for
    from intent.train import train

    examples = load_jsonl(demo_data() / "utterances.jsonl")
    result = train(examples, seed=0)
    out = tmp_path_factory.mktemp("demo-model")
    save_model(result.model, out, metadata=metadata_for(result, examples))
    return out


@pytest.fixture(scope="session")
def trained() -> Any:
    """A small intent model trained on synthetic data (``tests/intent_data.py``), once."""
    from intent.train import train
    from tests.intent.intent_data import make_dataset

    return train(make_dataset(), seed=0).model


def demo_settings(redis_url: str, model_dir: Path) -> Settings:
    """Settings of a demo app on ``redis_url`` with the pre-trained demo model."""
    from demo import app

    return app.demo_settings(
        redis_url, TEST_KEY, model_dir, reload_interval_s=0.2, redis_timeout_s=2.0
    )


@asynccontextmanager
async def app_client(settings: Settings, key: str = TEST_KEY) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process app (lifespan run) and a client signed in with ``key``;
    ``client.app`` is the app."""
    from app.inprocess import serve_in_process
    from demo.app import create_app

    app = create_app(settings)
    async with serve_in_process(app, key=key, base_url="http://waypoint.test") as c:
        c.app = app  # type: ignore[attr-defined]
        yield c


async def recommend(
    client: httpx.AsyncClient, *, user_id: str = "u-test", **body: Any
) -> dict[str, Any]:
    """POST /v1/recommend (``body`` as keyword arguments); asserts a 200 and returns the answer."""
    r = await client.post("/v1/recommend", json={"user_id": user_id, **body})
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


@pytest.fixture
def settings(redis_url: str, demo_model_dir: Path) -> Settings:
    return demo_settings(redis_url, demo_model_dir)


@pytest_asyncio.fixture
async def client(settings: Settings, redis: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(settings) as c:
        yield c


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def experiments_app(redis_url: str, demo_model_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    """One app for a whole module of experiments API tests, on a flushed database."""
    redis = connect(redis_url, timeout_s=5.0)
    await redis.flushdb()
    await redis.aclose()
    async with app_client(demo_settings(redis_url, demo_model_dir)) as c:
        yield c


@pytest_asyncio.fixture(loop_scope="module")
async def experiments_stopped(experiments_app: httpx.AsyncClient) -> AsyncIterator[None]:
    """Stops the experiments a test started once it is done."""
    from tests.app.experiment_api import stop_experiments

    yield
    await stop_experiments(experiments_app)


#: Debian's Chromium; the browser tests never download one
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def serve_in_thread(settings: Settings, start_timeout_s: float = 120.0) -> Iterator[str]:
    """The app on a free localhost port, through its real lifespan, in a thread.

    Flushes the test database first (the thread's app seeds it again)."""
    import redis as sync_redis
    import uvicorn

    from demo.app import create_app

    flush = sync_redis.Redis.from_url(settings.redis_url or "")
    flush.flushdb()
    flush.close()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings),
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=2,
        ws="none",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if not thread.is_alive():
            pytest.fail("the server did not start (see the log above)")
        if time.monotonic() > deadline:
            pytest.fail(f"the server did not start within {start_timeout_s:.0f} s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
