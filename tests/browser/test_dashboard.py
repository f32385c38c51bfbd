"""The dashboard in headless Chromium, as a teacher and as a tutor manager sign in and click through it.

Each test runs at 1280 px and at 390 px; every page's links are fetched, the browser must report no
error, and a screenshot of each page is kept in var/screenshots/<page>-<width>.png.
Expected figures are worked out by hand in the docstring of `Seed` (tests/browser/seed.py).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.helpers import check_links, focused, horizontal_overflow, screenshot, sign_in, tab_to, widest
from tests.browser.seed import Seed


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


def cells(row: Locator) -> list[str]:
    """The whitespace-normalised texts of the header and data cells of one table row."""
    return [" ".join(text.split()) for text in row.locator("th, td").all_inner_texts()]


def test_the_sign_in_page_is_where_the_bare_address_leads(page: Page):
    page.goto("/")
    assert path_of(page) == "/dashboard/login"
    assert parse_qs(urlsplit(page.url).query) == {"next": ["/dashboard/"]}
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    # The key field has the focus, so a person can paste at once.
    assert page.evaluate("document.activeElement.id") == "api_key"
    # The brand (home) and the skip link (this page).
    assert check_links(page) == ["/dashboard/", "/dashboard/login?next=/dashboard/"]
    screenshot(page, "sign-in")


def test_a_teacher_signs_in_and_opens_a_class_and_a_student(page: Page, seeded: Seed, teacher_key: str):
    sign_in(page, teacher_key)
    assert path_of(page) == "/dashboard/"
    expect(page.get_by_role("heading", level=1)).to_have_text("Your classes")
    # Only the teacher's class: 3 students, 67% complete, average 72.5, 2 at risk.
    rows = page.locator("#classes tbody tr")
    expect(rows).to_have_count(1)
    assert cells(rows.first)[:5] == [seeded.class_id, "3", "67%", "72.5", "2"]
    assert f"/dashboard/classes/{seeded.class_id}" in check_links(page)
    screenshot(page, "teacher-home")

    page.get_by_role("link", name=seeded.class_id, exact=True).click()
    assert path_of(page) == f"/dashboard/classes/{seeded.class_id}"
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Class {seeded.class_id}")
    figures = {name: page.locator(f"#{name}").inner_text() for name in
               ("student-count", "assignment-count", "completion-rate", "average-score", "attention-count")}
    assert figures == {"student-count": "3", "assignment-count": "2", "completion-rate": "67%",
                       "average-score": "72.5", "attention-count": "1"}
    u1, u2, u3 = seeded.students
    # Triage first: u3 (severity 55, high) needs attention; u2 (17, low) waits behind a disclosure.
    attention = page.locator("#attention > li")
    expect(attention).to_have_count(1)
    assert " ".join(attention.first.inner_text().split()) == (
        f"{u3} high priority severity 55 Missing submissions: 2 of 2 assigned pairs not graded "
        "Completion below class median: completion 0 % vs class median 100 %")
    expect(page.locator("#watch-list")).to_be_hidden()
    page.get_by_text("Low priority (1)").click()
    expect(page.locator("#watch-list > li")).to_have_text([f"{u2} low priority severity 17 Score trending down: "
                                                           "last grade 50 after 70 (−20)"], use_inner_text=True)
    # Sorting the grid by S2 (a link) puts u1 (90) before u2 (50) and the unassessed u3 last.
    page.get_by_role("link", name=f"{seeded.prefix}-S2").click()
    page.get_by_role("link", name=f"{seeded.prefix}-S2").click()  # a second click sorts descending
    expect(page.locator("#mastery-grid tbody th")).to_have_text([u1, u2, u3])
    links = check_links(page)
    for student in (u2, u3):
        assert f"/dashboard/classes/{seeded.class_id}/students/{student}" in links
    screenshot(page, "teacher-class")

    page.get_by_role("link", name=u2, exact=True).first.click()
    assert path_of(page) == f"/dashboard/classes/{seeded.class_id}/students/{u2}"
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Student {u2} in class {seeded.class_id}")
    assert f"/dashboard/classes/{seeded.class_id}" in check_links(page)
    screenshot(page, "teacher-student")

    # Another teacher's class and the tutor pages are not this key's to read.
    assert page.request.get(f"/dashboard/classes/{seeded.other_class_id}").status == 404
    assert page.request.get(f"/dashboard/tutors/{seeded.tutor_id}").status == 403


def test_a_manager_signs_in_and_opens_a_tutor_a_class_and_a_student(page: Page, seeded: Seed, manager_key: str):
    sign_in(page, manager_key)
    assert path_of(page) == "/dashboard/"
    expect(page.get_by_role("heading", level=1)).to_have_text("All classes")
    check_links(page)
    screenshot(page, "manager-home")

    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Tutors").click()
    page.wait_for_url("**/dashboard/tutors")
    expect(page.get_by_role("heading", level=1)).to_have_text("Tutors")
    page.get_by_label("Search id or name").fill(seeded.tutor_id.upper())  # case-insensitive
    page.get_by_role("button", name="Show").click()
    rows = page.locator("#roster tbody tr")
    expect(rows).to_have_count(1)
    # Engagement 52 < 60 is the 30-day window's one red flag, marked in its cell.
    red = rows.first.locator("td.flag-red")
    expect(red).to_have_count(1)
    assert " ".join(red.inner_text().split()) == "52 red"
    check_links(page)
    screenshot(page, "manager-roster")

    rows.first.get_by_role("link", name=seeded.tutor_id).click()
    page.wait_for_url(f"**/dashboard/tutors/{seeded.tutor_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Tutor {seeded.tutor_id} {seeded.tutor_name}")
    # 5 green flags and engagement 52 (red) in every window → Needs Attention, and the page says which.
    tier = page.locator("#metrics tr").filter(has=page.get_by_role("rowheader", name="Performance tier", exact=True))
    assert cells(tier) == ["Performance tier"] + ["Needs Attention 1 red · 5 green"] * 3
    engagement = page.locator("#metrics tr").filter(
        has=page.get_by_role("rowheader", name="Engagement score (0–100)", exact=True))
    expect(engagement.locator("td.flag-red")).to_have_count(3)
    check_links(page)
    screenshot(page, "manager-tutor")

    page.goto(f"/dashboard/classes/{seeded.class_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Class {seeded.class_id}")
    check_links(page)
    screenshot(page, "manager-class")

    page.goto(f"/dashboard/classes/{seeded.class_id}/students/{seeded.reader_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Student {seeded.reader_id} in class {seeded.class_id}")
    check_links(page)
    screenshot(page, "manager-student")


@pytest.mark.parametrize("viewport_width", [1280])
def test_the_first_tab_reaches_the_skip_link_which_moves_to_the_content(page: Page, manager_key: str):
    sign_in(page, manager_key)
    assert tab_to(page, "a.skip") == 1
    skip = focused(page)
    assert (skip["text"], skip["focus_visible"], skip["indicated"]) == ("Skip to content", True, True)
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard/#main")
    # The next Tab lands in the content, past the header's sign-out button.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null"), focused(page)


@pytest.mark.parametrize("viewport_width", [390])
def test_no_page_scrolls_sideways_on_a_phone(page: Page, seeded: Seed, manager_key: str):
    sign_in(page, manager_key)
    pages = {"home": "/dashboard/", "roster": "/dashboard/tutors", "class": f"/dashboard/classes/{seeded.class_id}",
             "student": f"/dashboard/classes/{seeded.class_id}/students/{seeded.reader_id}",
             "tutor": f"/dashboard/tutors/{seeded.tutor_id}"}
    paths = list(pages.values())
    overflow = {}
    for name, path in pages.items():
        page.goto(path)
        overflow[path] = horizontal_overflow(page)
        screenshot(page, f"phone-{name}")
        assert overflow[path] == 0, (path, widest(page))
    assert overflow == dict.fromkeys(paths, 0)


@pytest.mark.parametrize("viewport_width", [1280])
def test_the_keyboard_reaches_the_mastery_grid_and_scrolls_it(page: Page, seeded: Seed, teacher_key: str):
    sign_in(page, teacher_key, f"/dashboard/classes/{seeded.class_id}")
    assert tab_to(page, "#mastery-grid-region") > 0
    region = focused(page)
    assert (region["id"], region["focus_visible"], region["indicated"]) == ("mastery-grid-region", True, True)
    # The focus ring: 3 px, the ink color (#1d2329: 15.6:1 on white, WCAG asks 3:1).
    assert region["outline"] == "3px solid rgb(29, 35, 41)"
