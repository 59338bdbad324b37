"""The experiments admin page in a real headless Chromium against a real server.

Runs the app under uvicorn on a free localhost port in a background thread, and drives the
page with Playwright's sync API. Uses the system Chromium at /usr/bin/chromium (never a
downloaded browser) and is skipped when it is absent.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from service.settings import Settings
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, TEST_KEY, serve_in_thread

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no system Chromium at /usr/bin/chromium"),
]


@pytest.fixture
def server(settings: Settings) -> Iterator[str]:
    with serve_in_thread(settings) as url:
        yield url


def _traffic(base: str, exp_id: str, users: int = 80) -> None:
    """Some decisions and clicks, so the results have intervals to draw."""
    rng = random.Random(3)
    headers = {"Authorization": f"Bearer {TEST_KEY}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
        events: list[dict[str, Any]] = []
        for i in range(users):
            body = {"user_id": f"br-{i}", "intent": "cancel_contract", "limit": 1}
            ans = http.post("/v1/recommend", json=body).json()
            assert ans["experiment"] and ans["experiment"]["id"] == exp_id, ans
            if ans["actions"] and rng.random() < 0.4:
                events.append(
                    {
                        "event_id": f"br-click-{i}",
                        "user_id": f"br-{i}",
                        "type": "click",
                        "item_id": ans["actions"][0]["id"],
                        "request_id": ans["request_id"],
                    }
                )
        assert http.post("/v1/events", json={"events": events}).status_code == 200


def _wait_live(base: str, exp_id: str) -> None:
    """Wait until the server's worker serves the running experiment (reload every 0.2 s)."""
    headers = {"Authorization": f"Bearer {TEST_KEY}"}
    deadline = time.monotonic() + 10
    with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
        while time.monotonic() < deadline:
            body = {"user_id": "probe", "intent": "cancel_contract", "limit": 1}
            if http.post("/v1/recommend", json=body).json()["experiment"]:
                return
            time.sleep(0.1)
    raise AssertionError(f"{exp_id} never went live")


def test_admin_creates_validates_starts_and_shows_results(server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            external: list[str] = []
            page.on(
                "request",
                lambda r: None if r.url.startswith(server) else external.append(r.url),
            )
            page.set_default_timeout(15_000)
            page.goto(f"{server}/admin/experiments")

            # sign in: a wrong key is refused, the admin key is accepted
            page.get_by_label("Admin key").fill("not-a-key")
            page.keyboard.press("Enter")
            expect(page.locator("#signin-error")).to_contain_text("Unknown key")
            page.get_by_label("Admin key").fill(TEST_KEY)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", name="Experiments")).to_be_visible()
            expect(page.locator("#list-empty")).to_be_visible()

            # create with weights that do not add up: the server's message is shown
            page.locator("#list-view").get_by_role("link", name="New experiment").click()
            expect(page.get_by_role("heading", name="New experiment")).to_be_visible()
            page.locator("#f-id").fill("browser-test")
            page.locator("#f-description").fill("value weight up, from the browser")
            page.get_by_label("Variant 1 id (control)").fill("a")
            page.get_by_label("Variant 1 weight").fill("0.5")
            page.get_by_label("Variant 2 id").fill("b")
            page.get_by_label("Variant 2 weight").fill("0.4")
            page.get_by_label("Variant 2 parameters (json)").fill(
                '{"ranking_weights": {"value": 1.5}}'
            )
            expect(page.locator("#weight-sum")).to_contain_text("must be 1")
            page.get_by_role("button", name="Create experiment").click()
            errors = page.locator("#form-errors")
            expect(errors).to_be_visible()
            expect(errors).to_contain_text("variant weights must sum to 1")
            expect(errors).to_contain_text("0.9")
            expect(page.locator("#f-variants")).to_have_attribute("aria-invalid", "true")

            # fix it and create
            page.get_by_label("Variant 2 weight").fill("0.5")
            page.get_by_role("button", name="Create experiment").click()
            expect(page.locator("#alert")).to_contain_text("Created browser-test")
            row = page.locator('tr[data-id="browser-test"]')
            expect(row.locator(".badge")).to_have_text("draft")

            # start it (keyboard: focus the button and press Enter)
            start = row.get_by_role("button", name="Start browser-test")
            start.focus()
            page.keyboard.press("Enter")
            expect(row.locator(".badge")).to_have_text("running")

            _wait_live(server, "browser-test")
            _traffic(server, "browser-test")

            # results: table, SRM verdict, history and the chart
            row.get_by_role("link", name="Results of browser-test").click()
            expect(page.get_by_role("heading", name="Results · browser-test")).to_be_visible()
            chart = page.locator("#chart svg")
            expect(chart).to_be_visible()
            expect(chart.locator("g.arm")).to_have_count(2)
            expect(chart.locator("line.ci")).to_have_count(2)
            expect(chart.locator("circle.point")).to_have_count(2)
            expect(page.locator('#results-body tr[data-arm="a"]')).to_contain_text("control")
            users = page.locator('#results-body tr[data-arm="b"] td').first
            assert int(users.inner_text()) > 0
            expect(page.locator("#srm-verdict")).to_be_visible()
            expect(page.locator("#history-body")).to_contain_text("started")
            expect(page.locator("#history-body")).to_contain_text("demo")
            # another metric redraws the chart
            page.get_by_label("Metric", exact=True).select_option("value")
            expect(page.locator("#chart-caption")).to_contain_text("Value per user")
            # signing out shows the sign-in form again, empty, with the focus in it
            page.get_by_role("button", name="Sign out").click()
            expect(page.locator("#signin")).to_be_visible()
            expect(page.get_by_label("Admin key")).to_have_value("")
            expect(page.get_by_label("Admin key")).to_be_focused()
            expect(page.locator("#signin-error")).to_be_hidden()
            assert external == [], external
        finally:
            browser.close()
