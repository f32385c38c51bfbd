"""Fixtures for the browser tests: the real app over real HTTP (gunicorn on the test stack of
tests/conftest.py), data posted through the real API, and headless Chromium at the two widths
the dashboard is made for (1280 px and 390 px).

Every test that takes `page` runs once per width; it fails when the browser reported any error.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests

from tests.browser.chromium import BROWSER_REQUIRED, NO_CHROMIUM, find_chromium
from tests.browser.helpers import ConsoleErrors
from tests.browser.seed import Seed, seed_events
from tests.helpers import auth, wait_for
from tutormax.devservers import free_port
from tutormax.web.auth import create_api_key

WIDTHS = (1280, 390)
# 390 × 844 is a current phone held upright; it is emulated as one (touch, mobile viewport).
VIEWPORTS = {1280: {"width": 1280, "height": 800}, 390: {"width": 390, "height": 844}}


@pytest.fixture(scope="package")
def browser():
    """Headless Chromium of the system, driven by Playwright."""
    path = find_chromium()
    if path is None:
        (pytest.fail if BROWSER_REQUIRED else pytest.skip)(NO_CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="package")
def live_server(stack) -> Iterator[str]:
    """The real app in gunicorn, as the Procfile runs it, on the test stack; its base URL."""
    url = stack.start_web(free_port(), name="browser-web")
    yield url
    stack.stop("browser-web")


@pytest.fixture(scope="package")
def seeded(live_server, keys) -> Seed:
    """A class, its students' grades, a reading profile and a rated tutor, POSTed to the live server
    and waited for until every event is processed and the tutor's metrics are computed."""
    seed, events = seed_events(f"br{uuid.uuid4().hex[:8]}", datetime.now(UTC))
    response = requests.post(f"{live_server}/api/v1/events/batch", json={"events": events},
                             headers=auth(keys["writer"]), timeout=30)
    body = response.json()
    assert response.status_code == 200 and body["accepted"] == len(events), body
    pending = {result["id"] for result in body["results"]}

    def processed() -> bool:
        for pk in list(pending):
            status = requests.get(f"{live_server}/api/v1/events/{pk}", headers=auth(keys["reader"]), timeout=10)
            if status.json()["status"] == "processed":
                pending.discard(pk)
        return not pending

    wait_for(processed, timeout=90, what="the seeded events to be processed")

    def metrics_computed() -> bool:
        windows = requests.get(f"{live_server}/api/v1/tutors/{seed.tutor_id}/metrics", headers=auth(keys["reader"]),
                               timeout=10).json()["windows"]
        return all(w["avg_rating"] == 4.5 and w["engagement_score"] == 52.0 for w in windows.values())

    wait_for(metrics_computed, timeout=60, what="the seeded tutor's metrics")
    return seed


@pytest.fixture(scope="package")
def manager_key(stack) -> str:
    """A `read` key bound to no teacher: a tutor manager's (every class, the tutor pages)."""
    return create_api_key("browser-manager", ["read"])


@pytest.fixture(scope="package")
def teacher_key(stack, seeded) -> str:
    """A `read` key bound to the seeded class's teacher."""
    return create_api_key("browser-teacher", ["read"], teacher_id=seeded.teacher_id)


@pytest.fixture(params=WIDTHS, ids=lambda w: f"{w}px")
def viewport_width(request) -> int:
    """The viewport width of `page`; parametrize it (`@pytest.mark.parametrize("viewport_width", [390])`)
    to run a test at one width only."""
    return request.param


@pytest.fixture()
def console() -> ConsoleErrors:
    """The errors the browser reported on `page` so far (`console.errors`)."""
    return ConsoleErrors()


@pytest.fixture()
def page(browser, live_server, viewport_width, console):
    """A fresh browser context (no cookies) at `viewport_width`, with relative URLs resolved against
    the live server; the test fails if the browser reported any error on it."""
    phone = viewport_width < 600
    context = browser.new_context(base_url=live_server, viewport=VIEWPORTS[viewport_width], is_mobile=phone,
                                  has_touch=phone, device_scale_factor=1, locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(float(os.environ.get("TUTORMAX_BROWSER_TIMEOUT_MS", "15000")))
    tab = context.new_page()
    console.watch(tab)
    try:
        yield tab
    finally:
        context.close()
    assert not console.errors, "the browser reported errors:\n" + "\n".join(console.errors)
