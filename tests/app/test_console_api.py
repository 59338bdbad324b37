"""The agent console's HTTP side: page shell, outcomes with agent identity, live changes."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from redis.exceptions import ConnectionError as RedisConnectionError

from service.settings import ApiKey, Settings, hash_key
from tests.conftest import TEST_KEY, app_client

AGENT_SECRET = "agent-secret"
WEB_SECRET = "web-secret"
ITEM = "bk-0003"


@pytest_asyncio.fixture
async def console(settings: Settings, redis: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a console-only key (agent-7) and a recommend-only key (web)."""
    keys = [
        ApiKey(id="agent-7", sha256=hash_key(AGENT_SECRET), scopes=["console"]),
        ApiKey(id="web", sha256=hash_key(WEB_SECRET), scopes=["recommend"]),
    ]
    async with app_client(settings.model_copy(update={"api_keys": keys}), AGENT_SECRET) as c:
        yield c


def outcome(**fields: Any) -> dict[str, Any]:
    return {"user_id": "anna", "item_id": ITEM, "outcome": "accept", **fields}


def as_key(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


# ---------- the page ----------


async def test_console_page_is_public_html_without_secrets(console: httpx.AsyncClient) -> None:
    r = await console.get("/console", headers={"Authorization": ""})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "/console/static/console.js" in r.text
    assert AGENT_SECRET not in r.text and TEST_KEY not in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp
    # a deep link serves the same shell; the page opens the customer after sign-in
    deep = await console.get("/console", params={"user": "anna"})
    assert deep.status_code == 200 and deep.text == r.text


async def test_console_static_files(console: httpx.AsyncClient) -> None:
    js = await console.get("/console/static/console.js")
    assert js.status_code == 200
    assert js.headers["content-type"].startswith("text/javascript")
    assert "sessionStorage" in js.text
    for name in ("console.css", "page.css"):
        css = await console.get(f"/console/static/{name}")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    shared = await console.get("/console/static/page.js")
    assert shared.status_code == 200 and "WaypointPage" in shared.text
    for name in ("console.html.bak", "..%2Fconsole.py", "nope.js"):
        missing = await console.get(f"/console/static/{name}")
        assert missing.status_code == 404, name
        assert missing.json()["error"] == "NotFound"


async def test_page_makes_no_external_requests(console: httpx.AsyncClient) -> None:
    files = ("console.js", "console.css", "page.js", "page.css")
    for path in ("/console", *(f"/console/static/{name}" for name in files)):
        text = (await console.get(path)).text
        assert "http://" not in text and "https://" not in text, path
        assert "//cdn" not in text and "@import" not in text, path


async def test_me_names_the_agent(console: httpx.AsyncClient) -> None:
    r = await console.get("/v1/console/me")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["agent_id"] == "agent-7"
    assert "too_expensive" in body["decline_reasons"]


# ---------- outcomes ----------


async def test_outcome_records_the_key_as_agent(console: httpx.AsyncClient) -> None:
    r = await console.post("/v1/console/outcomes", json=outcome(request_id="req-1"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "accepted"
    assert body["agent_id"] == "agent-7"
    assert body["event_id"].startswith("console:agent-7:")

    ctx = (await console.get("/v1/users/anna/context")).json()
    newest = ctx["recent_events"][0]
    assert newest["event_id"] == body["event_id"]
    assert newest["type"] == "accept"
    assert newest["item_id"] == ITEM
    assert newest["agent_id"] == "agent-7"
    assert newest["request_id"] == "req-1"
    assert newest["context"]["channel"] == "contact_center"
    # without a language, the journey's language is kept (anna speaks German)
    assert newest["context"]["language"] == "de"
    assert ctx["journey"]["channel"] == "contact_center"
    assert ITEM in ctx["owned"]


async def test_decline_with_reason(console: httpx.AsyncClient) -> None:
    r = await console.post(
        "/v1/console/outcomes",
        json=outcome(item_id="bk-0904", outcome="decline", reason="too_expensive", language="en"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["reason"] == "too_expensive"
    newest = (await console.get("/v1/users/anna/context")).json()["recent_events"][0]
    assert (newest["type"], newest["reason"], newest["agent_id"]) == (
        "decline",
        "too_expensive",
        "agent-7",
    )
    assert newest["context"]["language"] == "en"


async def test_client_idempotency_key_makes_double_clicks_count_once(
    console: httpx.AsyncClient,
) -> None:
    key = str(uuid.uuid4())
    body = outcome(outcome="maybe_later", event_id=key)
    first, second = await asyncio.gather(
        console.post("/v1/console/outcomes", json=body),
        console.post("/v1/console/outcomes", json=body),
    )
    statuses = sorted([first.json()["status"], second.json()["status"]])
    assert statuses == ["accepted", "duplicate"]
    events = (await console.get("/v1/users/anna/context")).json()["recent_events"]
    assert sum(e["event_id"].endswith(key) for e in events) == 1


async def test_agent_id_cannot_be_sent_by_the_client(console: httpx.AsyncClient) -> None:
    r = await console.post("/v1/console/outcomes", json=outcome(agent_id="someone-else"))
    assert r.status_code == 422
    assert r.json()["error"] == "ValidationError"


@pytest.mark.parametrize(
    "fields",
    [
        {"outcome": "buy"},
        {"outcome": "purchase"},
        {"outcome": "decline", "reason": "cheap"},
        {"outcome": "decline", "reason": "x" * 300},
        {"outcome": "accept", "reason": "too_expensive"},
        {"event_id": "short"},
        {"event_id": "has spaces in it"},
        {"user_id": "no spaces allowed"},
        {"item_id": ""},
        {"channel": "fax"},
        {"language": "english"},
    ],
)
async def test_bad_outcomes_are_rejected(
    console: httpx.AsyncClient, fields: dict[str, Any]
) -> None:
    r = await console.post("/v1/console/outcomes", json=outcome(**fields))
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "ValidationError"


async def test_unknown_action_is_not_found(console: httpx.AsyncClient) -> None:
    r = await console.post("/v1/console/outcomes", json=outcome(item_id="no-such-item"))
    assert r.status_code == 404
    assert r.json()["error"] == "NotFound"


# ---------- auth ----------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/console/outcomes", outcome()),
        ("GET", "/v1/users/anna/changes?wait=0", None),
        ("GET", "/v1/console/me", None),
    ],
)
async def test_console_endpoints_need_a_console_key(
    console: httpx.AsyncClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    missing = await console.request(method, path, json=body, headers={"Authorization": ""})
    assert missing.status_code == 401
    assert missing.json()["error"] == "Unauthorized"
    assert missing.headers["www-authenticate"] == "Bearer"

    unknown = await console.request(method, path, json=body, headers=as_key("wrong"))
    assert unknown.status_code == 401

    wrong_scope = await console.request(method, path, json=body, headers=as_key(WEB_SECRET))
    assert wrong_scope.status_code == 403
    assert wrong_scope.json()["error"] == "Forbidden"
    assert "console" in wrong_scope.json()["detail"]


async def test_console_key_can_read_context_and_ask_for_decisions(
    console: httpx.AsyncClient,
) -> None:
    assert (await console.get("/v1/users/anna/context")).status_code == 200
    assert (await console.get("/v1/intents")).status_code == 200
    r = await console.post(
        "/v1/recommend",
        json={"user_id": "anna", "context": {"channel": "contact_center", "language": "de"}},
    )
    assert r.status_code == 200, r.text
    # but it cannot post raw events (that is the events scope)
    events = await console.post("/v1/events", json={"events": []})
    assert events.status_code == 403


# ---------- live changes ----------


async def test_changes_without_since_answers_at_once(console: httpx.AsyncClient) -> None:
    started = time.perf_counter()
    r = await console.get("/v1/users/anna/changes")
    assert r.status_code == 200, r.text
    assert time.perf_counter() - started < 1.0
    body = r.json()
    assert body["changed"] is False and body["token"]
    assert r.headers["cache-control"] == "no-store"


async def test_changes_times_out_when_nothing_happens(console: httpx.AsyncClient) -> None:
    token = (await console.get("/v1/users/anna/changes")).json()["token"]
    started = time.perf_counter()
    r = await console.get("/v1/users/anna/changes", params={"since": token, "wait": 0.6})
    elapsed = time.perf_counter() - started
    assert r.status_code == 200
    assert r.json() == {
        "user_id": "anna",
        "token": token,
        "changed": False,
        "events": False,
        "journey": False,
    }
    assert 0.5 <= elapsed < 3.0


async def test_changes_returns_when_an_event_arrives(console: httpx.AsyncClient) -> None:
    token = (await console.get("/v1/users/anna/changes")).json()["token"]
    waiting = asyncio.create_task(
        console.get("/v1/users/anna/changes", params={"since": token, "wait": 10})
    )
    await asyncio.sleep(0.5)
    assert not waiting.done()
    event = {
        "event_id": f"web-{uuid.uuid4()}",
        "user_id": "anna",
        "type": "view",
        "item_id": "bk-0012",
        "context": {"channel": "web", "language": "de"},
    }
    posted_at = time.perf_counter()
    r = await console.post("/v1/events", json={"events": [event]}, headers=as_key(TEST_KEY))
    assert r.status_code == 200, r.text
    answer = await asyncio.wait_for(waiting, timeout=5)
    assert time.perf_counter() - posted_at < 2.0
    body = answer.json()
    assert body["changed"] is True and body["events"] is True
    assert body["token"] != token

    # a decision moves only the journey
    waiting = asyncio.create_task(
        console.get("/v1/users/anna/changes", params={"since": body["token"], "wait": 10})
    )
    await asyncio.sleep(0.3)
    await console.post(
        "/v1/recommend",
        json={"user_id": "anna", "context": {"channel": "contact_center", "language": "de"}},
    )
    moved = (await asyncio.wait_for(waiting, timeout=5)).json()
    assert moved["changed"] is True
    assert moved["journey"] is True and moved["events"] is False


async def test_changes_returns_when_an_agent_records_an_outcome(
    console: httpx.AsyncClient,
) -> None:
    token = (await console.get("/v1/users/ben/changes")).json()["token"]
    waiting = asyncio.create_task(
        console.get("/v1/users/ben/changes", params={"since": token, "wait": 10})
    )
    await asyncio.sleep(0.3)
    r = await console.post(
        "/v1/console/outcomes", json=outcome(user_id="ben", item_id="bk-0904", outcome="decline")
    )
    assert r.status_code == 200, r.text
    assert (await asyncio.wait_for(waiting, timeout=5)).json()["events"] is True


async def test_changes_for_an_unknown_user_still_answer(console: httpx.AsyncClient) -> None:
    r = await console.get("/v1/users/nobody-here/changes", params={"since": "a.b", "wait": 0})
    assert r.status_code == 200
    assert r.json()["changed"] is True  # "a.b" was never a real token
    assert (await console.get("/v1/users/bad%20id/changes")).status_code == 422
    assert (await console.get("/v1/users/anna/changes", params={"wait": 99})).status_code == 422


class _BrokenPipeline:
    async def __aenter__(self) -> _BrokenPipeline:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return lambda *a, **k: None

    async def execute(self) -> list[Any]:
        raise RedisConnectionError("connection refused")


class _BrokenRedis:
    def pipeline(self, transaction: bool = False) -> _BrokenPipeline:
        return _BrokenPipeline()

    async def hget(self, *args: Any) -> Any:
        raise RedisConnectionError("connection refused")


async def test_store_errors_are_503_not_500(console: httpx.AsyncClient) -> None:
    services = console.app.state.services  # type: ignore[attr-defined]
    real = services.redis
    services.redis = _BrokenRedis()
    try:
        r = await console.get("/v1/users/anna/changes")
    finally:
        services.redis = real
    assert r.status_code == 503
    assert r.json()["error"] == "StoreUnavailable"
