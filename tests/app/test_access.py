"""Who gets in: start-up refusals off loopback, warnings, Redis start-up retries, rate limits
(real Redis, real app through its lifespan), and the offline /docs page."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from service.exposure import UnsafeExposure, check_access, is_loopback
from service.ratelimit import RateLimiter
from service.redis_server import RedisUnavailable, wait_for_redis
from service.settings import ApiKey, Settings, hash_key
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, app_client, serve_in_thread
from waypoint.cli import main

SECRET = "s3cret-key"
KEYS = [ApiKey(id="web", sha256=hash_key(SECRET), scopes=["recommend"])]
ENV = ("WAYPOINT_API_KEYS", "WAYPOINT_DEMO", "WAYPOINT_DEMO_KEY", "WAYPOINT_AUTH_DISABLED")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


# ------------------------------------------------------------------ keys and exposure
def test_loopback_addresses() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.3.2.1", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.1.2.3", "example.org"))


def test_access_decisions(clean_env: pytest.MonkeyPatch) -> None:
    assert check_access(Settings(demo=True), "127.0.0.1").demo_key == "demo"
    generated = check_access(Settings(demo=True), "0.0.0.0")
    assert generated.generated and generated.demo_key and len(generated.demo_key) >= 20
    assert check_access(Settings(demo=True), "0.0.0.0").demo_key != generated.demo_key
    chosen = check_access(Settings(demo=True, demo_key="x" * 24), "0.0.0.0")
    assert chosen.demo_key == "x" * 24 and not chosen.generated
    with pytest.raises(UnsafeExposure, match="well-known key 'demo'"):
        check_access(Settings(demo=True, demo_key="demo"), "0.0.0.0")
    with pytest.raises(UnsafeExposure, match="no API key is configured"):
        check_access(Settings(), "0.0.0.0")
    assert check_access(Settings(api_keys=KEYS), "0.0.0.0").demo_key is None
    assert check_access(Settings(), "127.0.0.1").demo_key is None
    loud = check_access(Settings(auth_disabled=True), "0.0.0.0")
    assert "authentication is OFF" in loud.warnings[0] and "0.0.0.0" in loud.warnings[0]
    assert Settings(demo_key="").demo_key is None  # compose passes an unset key as ""


def test_serve_refuses_an_open_door(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    assert "no API key is configured" in capsys.readouterr().err
    clean_env.setenv("WAYPOINT_DEMO_KEY", "demo")
    assert main(["serve", "--demo", "--host", "0.0.0.0"]) == 2
    assert "well-known key 'demo'" in capsys.readouterr().err


def test_serve_gives_up_on_redis_with_one_line(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("WAYPOINT_REDIS_URL", "redis://:pw@127.0.0.1:1/0")
    clean_env.setenv("WAYPOINT_REDIS_CONNECT_ATTEMPTS", "2")
    clean_env.setenv("WAYPOINT_REDIS_CONNECT_BACKOFF_S", "0.05")
    assert main(["serve"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not reachable after 2 tries" in err[0], err
    assert "pw" not in err[0]  # no password in the message


def test_wait_for_redis_returns_once_it_answers(redis_url: str) -> None:
    wait_for_redis(redis_url, attempts=1)
    with pytest.raises(RedisUnavailable):
        wait_for_redis("redis://127.0.0.1:1", attempts=3, backoff_s=0.01)


async def test_lifespan_warns_when_auth_is_disabled(
    redis_url: str, redis: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="waypoint"):
        async with app_client(Settings(redis_url=redis_url, auth_disabled=True)) as c:
            assert (await c.get("/v1/intents", headers={"Authorization": ""})).status_code == 200
    assert any("authentication is OFF" in r.getMessage() for r in caplog.records)


# ------------------------------------------------------------------ rate limits
class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_leases_never_admit_more_than_the_limit(redis: Any) -> None:
    clock = Clock(1_000_000.0)
    workers = [
        RateLimiter(
            redis,
            prefix="wp",
            window_s=60,
            limits={"recommend": 7},
            lease=3,
            failed_auth_limit=3,
            clock=clock,
        )
        for _ in range(2)
    ]
    admitted = 0
    for i in range(20):
        if await workers[i % 2].take("web", "recommend") is None:
            admitted += 1
    assert 7 - 2 * (3 - 1) <= admitted <= 7
    assert await workers[0].take("web", "recommend") == 20.0  # seconds left in the window
    assert await workers[0].take("web", "events") is None  # no limit on that scope
    clock.now += 20
    assert await workers[0].take("web", "recommend") is None  # a new window
    keys = [k async for k in redis.scan_iter(match="wp:{rl:key:web}:*")]
    ttls = [await redis.ttl(k) for k in keys]
    assert len(keys) == 2 and all(0 < t <= 61 for t in ttls)


@pytest_asyncio.fixture
async def limited(redis_url: str, redis: Any) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        redis_url=redis_url,
        api_keys=KEYS,
        rate_limits={"recommend": 5},
        rate_limit_lease=1,
        failed_auth_limit=3,
    )
    async with app_client(settings) as c:
        yield c


async def test_failed_auth_then_per_key_limits_answer_429(limited: httpx.AsyncClient) -> None:
    good = {"Authorization": f"Bearer {SECRET}"}
    for _ in range(5):  # a missing key is no guess: not counted
        assert (await limited.get("/v1/intents", headers={"Authorization": ""})).status_code == 401
    statuses = []
    for i in range(5):
        r = await limited.get("/v1/intents", headers={"Authorization": f"Bearer wrong-{i}"})
        statuses.append(r.status_code)
    assert statuses == [401, 401, 401, 429, 429]
    assert (await limited.get("/v1/intents", headers={"Authorization": ""})).status_code == 429
    assert r.json()["error"] == "TooManyRequests" and "failed authentications" in r.json()["detail"]
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    # the address is blocked, even with the right key, until the window ends
    assert (await limited.get("/v1/intents", headers=good)).status_code == 429

    # from another address the right key works, up to the key's own limit
    transport = httpx.ASGITransport(app=limited.app, client=("192.0.2.7", 4000))  # type: ignore[attr-defined]
    async with httpx.AsyncClient(
        transport=transport, base_url="http://waypoint.test", headers=good
    ) as elsewhere:
        codes = [(await elsewhere.get("/v1/intents")).status_code for _ in range(7)]
        assert codes == [200] * 5 + [429] * 2
        r = await elsewhere.get("/v1/intents")
        assert r.json()["error"] == "TooManyRequests"
        assert "over its 'recommend' rate limit (5 requests per 60 s)" in r.json()["detail"]
        assert int(r.headers["Retry-After"]) >= 1


# ------------------------------------------------------------------ /docs offline
async def test_docs_are_served_from_the_package(redis_url: str, redis: Any) -> None:
    async with app_client(Settings(redis_url=redis_url)) as c:
        page = await c.get("/docs")
        assert page.status_code == 200
        csp = page.headers["Content-Security-Policy"]
        assert "script-src 'self';" in csp and "unsafe-eval" not in csp
        assert "http" not in page.text.replace("http-equiv", "")  # no CDN, no other origin
        js = await c.get("/docs/static/swagger-ui-bundle.js")
        assert js.status_code == 200 and "SwaggerUIBundle" in js.text[:2000] + js.text[-5000:]
        assert (await c.get("/docs/static/docs.js")).status_code == 200
        assert (await c.get("/docs/static/../../etc/passwd")).status_code == 404
        assert (await c.get("/docs/static/index.html")).status_code == 404
        assert (await c.get("/docs/static/redoc.standalone.js")).status_code == 200
        redoc = await c.get("/redoc")
        assert redoc.status_code == 200 and "redoc.standalone.js" in redoc.text
        assert redoc.headers["Content-Security-Policy"] == csp


@pytest.fixture
def docs_server(redis_url: str) -> Iterator[str]:
    with serve_in_thread(Settings(redis_url=redis_url)) as url:
        yield url


@pytest.mark.browser
def test_docs_render_offline_under_their_csp(docs_server: str) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (tests never download a browser)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            outside: list[str] = []
            problems: list[str] = []
            # requests that went out (a CSP-blocked one fails instead: ReDoc tries to show
            # its vendor's logo from a CDN, and the policy stops it)
            page.on(
                "requestfinished",
                lambda r: (
                    r.url.startswith((docs_server, f"blob:{docs_server}")) or outside.append(r.url)
                ),
            )
            page.on("console", lambda m: m.type == "error" and problems.append(m.text))
            page.goto(f"{docs_server}/docs")
            page.wait_for_selector(".opblock-summary-path", timeout=20_000)
            assert "/v1/recommend" in page.content()
            assert not [p for p in problems if "Content Security Policy" in p], problems
            problems.clear()
            page.goto(f"{docs_server}/redoc")
            page.get_by_text("/v1/recommend").first.wait_for(timeout=20_000)
            assert not outside, outside
            blocked = [p for p in problems if "Content Security Policy" in p]
            assert all("redoc.ly" in p for p in blocked), blocked  # only the vendor's logo
        finally:
            browser.close()
