"""Fixtures for the browser tests: the real app over real HTTP (gunicorn on the test stack of
tests/conftest.py), data posted through the real API, and headless Chromium at the two widths
the dashboard is made for (1280 px and 390 px).

Every test that takes `page` runs once per width; it fails when the browser reported any error.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
import requests

from tests.browser.chromium import BROWSER_REQUIRED, NO_CHROMIUM, find_chromium
from tests.browser.helpers import ConsoleErrors
from tests.factories import learning_event
from tests.helpers import auth, wait_for
from tutormax.devservers import free_port
from tutormax.web.auth import create_api_key

WIDTHS = (1280, 390)
# 390 × 844 is a current phone held upright; it is emulated as one (touch, mobile viewport).
VIEWPORTS = {1280: {"width": 1280, "height": 800}, 390: {"width": 390, "height": 844}}
LEARNING_DAY = "2026-10-05"


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


@dataclass(frozen=True)
class Seed:
    """What `seeded` posted; ids are unique to the test run.

    Class `class_id` of teacher `teacher_id` (hand-worked from SPEC §3.1, as in tests/web/test_dashboard_pages.py):
    students u1–u3 with a1, a2 assigned; graded u1/a1 80, u1/a2 90, u2/a1 70, u2/a2 50 → 3 students, 2 assignments,
    completion 4/6 = 67%, average score 72.5; at risk u2 (score trending down 70 → 50) and u3 (nothing graded).
    `other_class_id` belongs to another teacher. `reader_id` (u2) checked out one book of level 3.0.
    Tutor `tutor_id` ("Ada"): two sessions rated 5 and 4 in the last two days → 5 green flags, engagement 52 red →
    "Needs Attention" in every window.
    """

    prefix: str
    teacher_id: str
    class_id: str
    other_class_id: str
    students: tuple[str, str, str]
    reader_id: str
    tutor_id: str
    tutor_name: str


def _seed_events(prefix: str, now: datetime) -> tuple[Seed, list[dict]]:
    def learning(n: str, kind: str, student: str, class_id: str, assignment: str, standard: str, time: str,
                 score: float | None = None, teacher: str | None = None) -> dict:
        return learning_event(prefix, n, kind, student, class_id, assignment, [standard], LEARNING_DAY, time, score,
                              teacher)

    events = [learning(f"as-{s}-{a}", "assigned", s, "A", a, "S1" if a == "a1" else "S2", f"08:0{i}:00",
                       teacher="tA" if i == 0 else None)
              for i, (s, a) in enumerate((s, a) for s in ("u1", "u2", "u3") for a in ("a1", "a2"))]
    events += [
        learning("g-u1-a1", "graded", "u1", "A", "a1", "S1", "09:00:00", 80),
        learning("g-u1-a2", "graded", "u1", "A", "a2", "S2", "10:00:00", 90),
        learning("g-u2-a1", "graded", "u2", "A", "a1", "S1", "09:30:00", 70),
        learning("g-u2-a2", "graded", "u2", "A", "a2", "S2", "10:30:00", 50),
        learning("c-u3-a1", "created", "u3", "A", "a1", "S1", "09:45:00"),
        learning("as-v1-b1", "assigned", "v1", "B", "b1", "S1", "08:00:00", teacher="tB"),
        {"event_id": f"{prefix}-cat", "source": "library", "type": "BOOK_CATALOGED",
         "timestamp": f"{LEARNING_DAY}T07:00:00Z", "book_id": f"{prefix}-book", "title": "A book",
         "reading_level": 3.0},
        {"event_id": f"{prefix}-co", "source": "library", "type": "BOOK_CHECKED_OUT",
         "timestamp": f"{LEARNING_DAY}T12:00:00Z", "student_id": f"{prefix}-u2", "book_id": f"{prefix}-book"},
    ]
    tutor = f"{prefix}-tutor"
    starts = [now - timedelta(days=2), now - timedelta(days=1)]
    events.append({"event_id": f"{prefix}-tutor", "source": "tp", "type": "TUTOR_UPSERTED",
                   "timestamp": now.isoformat(), "tutor_id": tutor, "name": "Ada", "email": f"{prefix}@example.com",
                   "onboarding_date": (date.today() - timedelta(days=10)).isoformat(), "status": "active",
                   "subjects": ["math", "physics"]})
    for n, (start, rating) in enumerate(zip(starts, (5, 4)), start=1):
        events.append({"event_id": f"{prefix}-s{n}", "source": "tp", "type": "SESSION_COMPLETED",
                       "timestamp": (start + timedelta(hours=1)).isoformat(), "session_id": f"{prefix}-s{n}",
                       "tutor_id": tutor, "student_id": f"{prefix}-st", "session_number": n,
                       "scheduled_start": start.isoformat(), "actual_start": start.isoformat(),
                       "duration_minutes": 60, "subject": "math", "engagement_score": 80,
                       "learning_objectives_met": True})
        events.append({"event_id": f"{prefix}-f{n}", "source": "tp", "type": "FEEDBACK_SUBMITTED",
                       "timestamp": (start + timedelta(hours=2)).isoformat(), "feedback_id": f"{prefix}-f{n}",
                       "session_id": f"{prefix}-s{n}", "tutor_id": tutor, "student_id": f"{prefix}-st",
                       "overall_rating": rating})
    seed = Seed(prefix=prefix, teacher_id=f"{prefix}-tA", class_id=f"{prefix}-A", other_class_id=f"{prefix}-B",
                students=(f"{prefix}-u1", f"{prefix}-u2", f"{prefix}-u3"), reader_id=f"{prefix}-u2", tutor_id=tutor,
                tutor_name="Ada")
    return seed, events


@pytest.fixture(scope="package")
def seeded(live_server, keys) -> Seed:
    """A class, its students' grades, a reading profile and a rated tutor, POSTed to the live server
    and waited for until every event is processed and the tutor's metrics are computed."""
    seed, events = _seed_events(f"br{uuid.uuid4().hex[:8]}", datetime.now(UTC))
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
