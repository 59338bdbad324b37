"""The agent console end to end: a real server, a real Redis, headless Chromium.

Runs Debian's Chromium at /usr/bin/chromium through Playwright (never a downloaded
browser) and skips when it is absent. Set ``WAYPOINT_UPDATE_SCREENSHOT=1`` to refresh
``docs/console.png``; screenshots always go to ``$WAYPOINT_ARTIFACTS`` (or tmp_path).
"""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.settings import ApiKey, Settings, hash_key
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, REPO, TEST_KEY, serve_in_thread

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AGENT_SECRET = "agent-secret"
CUSTOMER = "felix"  # at risk; searched "Vertrag kündigen" on the web before calling


def _need_browser() -> Any:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (tests never download a browser)")
    try:
        from playwright import sync_api
    except ImportError:
        pytest.skip("the playwright package is not installed")
    return sync_api


@pytest.fixture
def live_server(settings: Settings) -> Iterator[str]:
    keys = [ApiKey(id="agent-7", sha256=hash_key(AGENT_SECRET), scopes=["console"])]
    with serve_in_thread(settings.model_copy(update={"api_keys": keys})) as url:
        yield url


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    out = Path(os.environ.get("WAYPOINT_ARTIFACTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture
def browser_page(live_server: str) -> Iterator[Any]:
    sync_api = _need_browser()
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            page = context.new_page()
            page.set_default_timeout(15_000)
            external: list[str] = []
            page.on(
                "request",
                lambda req: None if req.url.startswith(live_server) else external.append(req.url),
            )
            yield page
            assert not external, f"the page reached outside its origin: {external}"
        finally:
            browser.close()


def _tab_to(page: Any, predicate: str, limit: int = 60) -> int:
    """Press Tab until ``predicate`` (JS on ``el``) holds for the focused element."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate(
            f"(() => {{ const el = document.activeElement; return !!({predicate}); }})()"
        ):
            return presses
    raise AssertionError(f"Tab never reached an element where {predicate}")


def _categories(page: Any) -> list[str]:
    return list(
        page.eval_on_selector_all(
            "#actions li.action .action-meta span:first-child", "els => els.map(e => e.textContent)"
        )
    )


def test_agent_console_end_to_end(browser_page: Any, live_server: str, artifacts: Path) -> None:
    from playwright.sync_api import expect

    page = browser_page
    api = httpx.Client(base_url=live_server, timeout=10)

    # --- sign in through the deep link ---
    page.goto(f"{live_server}/console?user={CUSTOMER}")
    expect(page.locator("#signin")).to_be_visible()
    page.fill("#key-input", AGENT_SECRET)
    page.press("#key-input", "Enter")
    expect(page.locator("#agent-id")).to_have_text("agent-7")
    expect(page.locator("#workspace")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('waypoint.console.key')") == AGENT_SECRET

    # --- the journey: the web search before the call, then the contact center ---
    steps = page.locator("#journey-steps")
    expect(steps).to_contain_text("searched: “Vertrag kündigen”")
    expect(steps).to_contain_text("contact center")
    expect(page.locator("#journey-facts")).to_contain_text("Vertrag kündigen")
    expect(page.locator("#profile-facts")).to_contain_text("at risk")
    expect(page.locator("#live")).to_have_class(re.compile(r"\bon\b"))
    expect(page.locator("#actions li.action").first).to_be_visible()
    assert page.locator("#actions").get_attribute("aria-live") == "polite"
    page.screenshot(path=str(artifacts / "console-open.png"))

    # --- a vague request: the console asks, the agent picks an option by keyboard ---
    page.fill("#say-input", "I want something new")
    page.press("#say-input", "Enter")
    expect(page.locator("#clarify")).to_be_visible()
    expect(page.locator("#clarify-question")).not_to_be_empty()
    option = page.locator('#clarify-options button[data-intent="buy_book"]')
    option.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#clarify")).to_be_hidden()
    expect(page.locator("#intent-line")).to_contain_text("explicit")
    assert all(c.startswith("books/") for c in _categories(page))

    # --- what the customer says changes the actions ---
    page.fill("#say-input", "I want a new crime novel")
    page.press("#say-input", "Enter")
    expect(page.locator("#intent-line")).to_contain_text("model")  # the new answer is in
    # reasons in the agent's voice and the customer's language (anna: de), quoting the
    # query word the actions mention
    expect(page.locator("#actions")).to_contain_text("passt zu den Worten des Kunden: „crime“")
    page.wait_for_function(
        """() => {
            const sel = '#actions li.action .action-meta span:first-child';
            const cats = [...document.querySelectorAll(sel)].map(e => e.textContent);
            return cats.length > 0 && cats.every(c => c.startsWith('books/'));
        }"""
    )
    assert all(c.startswith("books/") for c in _categories(page))
    expect(page.locator("#intent-line")).to_contain_text("%")
    expect(page.locator("#actions li.action .reasons li").first).to_be_visible()

    # --- keyboard only: Tab from the top reaches the utterance box, then an Accept ---
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.evaluate("window.scrollTo(0, 0)")
    _tab_to(page, "el.id === 'say-input'")
    _tab_to(page, "el.classList.contains('accept')", limit=20)
    accepted_id = page.evaluate("document.activeElement.closest('li.action').dataset.actionId")
    accepted_title = page.evaluate(
        "document.activeElement.closest('li.action').querySelector('.action-title').textContent"
    )
    focus_style = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert focus_style != "none", "the focused button shows no focus outline"
    page.keyboard.press("Enter")

    # the accept is recorded with the agent, and the page shows it
    outcomes = page.locator("#outcomes")
    expect(outcomes.locator("li.outcome-accept").first).to_contain_text("by agent agent-7")
    expect(outcomes.locator("li.outcome-accept").first).to_contain_text(accepted_title)
    ctx = api.get(f"/v1/users/{CUSTOMER}/context", headers={"Authorization": f"Bearer {TEST_KEY}"})
    newest = ctx.json()["recent_events"][0]
    assert (newest["type"], newest["item_id"], newest["agent_id"]) == (
        "accept",
        accepted_id,
        "agent-7",
    )
    assert newest["context"]["channel"] == "contact_center"
    expect(page.locator("#alert")).to_contain_text("Recorded")

    # --- decline with a reason, keyboard only ---
    page.locator("#actions li.action button.decline").first.focus()
    page.keyboard.press("Enter")
    reason = page.locator("#actions li.action .decline-box select").first
    expect(reason).to_be_focused()
    reason.select_option("too_expensive")
    page.keyboard.press("Tab")  # to "Record decline"
    page.keyboard.press("Enter")
    expect(outcomes.locator("li.outcome-decline").first).to_contain_text("Too expensive")

    # --- an event from another channel shows up without a reload, within 2 s ---
    page.evaluate("window.__notReloaded = true")
    event_id = f"web-{uuid.uuid4()}"
    event = {
        "event_id": event_id,
        "user_id": CUSTOMER,
        "type": "purchase",
        "item_id": "bk-0091",
        "context": {"channel": "web", "language": "de"},
    }
    posted = api.post(
        "/v1/events",
        json={"events": [event]},
        headers={"Authorization": f"Bearer {TEST_KEY}"},
    )
    started = time.monotonic()
    assert posted.status_code == 200, posted.text
    expect(page.locator(f'#outcomes li[data-event-id="{event_id}"]')).to_be_visible(timeout=2000)
    assert time.monotonic() - started < 2.0
    expect(page.locator(f'#outcomes li[data-event-id="{event_id}"]')).to_contain_text("Bought")
    expect(page.locator("#stale")).to_be_visible()
    assert page.evaluate("window.__notReloaded") is True

    # --- screenshot (readable at 1280x800) ---
    page.evaluate("document.activeElement && document.activeElement.blur()")
    shot = artifacts / "console.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("WAYPOINT_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, REPO / "docs" / "console.png")
    api.close()


def test_wrong_key_stays_on_sign_in(browser_page: Any, live_server: str) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page.goto(f"{live_server}/console")
    page.fill("#key-input", "not-a-key")
    page.press("#key-input", "Enter")
    expect(page.locator("#signin-error")).to_contain_text("Unknown key")
    expect(page.locator("#workspace")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('waypoint.console.key')") is None


def test_revoked_key_returns_to_sign_in(browser_page: Any, live_server: str) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page.goto(f"{live_server}/console")
    page.fill("#key-input", AGENT_SECRET)
    page.press("#key-input", "Enter")
    expect(page.locator("#empty")).to_be_visible()
    # the key stops working mid-session (e.g. rotated): the next call sends the agent back
    page.evaluate("sessionStorage.setItem('waypoint.console.key', 'revoked')")
    page.reload()
    expect(page.locator("#signin-error")).to_contain_text("no longer accepted")
    expect(page.locator("#signin")).to_be_visible()


def test_degraded_answer_shows_a_banner(browser_page: Any, live_server: str) -> None:
    import json

    from playwright.sync_api import expect

    page = browser_page

    def degrade(route: Any) -> None:
        response = route.fetch()
        body = response.json()
        body.update(degraded=True, degraded_reasons=["user_store_timeout"])
        route.fulfill(response=response, body=json.dumps(body))

    page.route("**/v1/recommend", degrade)
    page.goto(f"{live_server}/console?user=hannah")
    page.fill("#key-input", AGENT_SECRET)
    page.press("#key-input", "Enter")
    banner = page.locator("#degraded")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("user_store_timeout")
    expect(page.locator("#actions li.action").first).to_be_visible()
