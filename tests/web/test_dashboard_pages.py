"""Dashboard pages on the real stack: events posted with the writer key, pages read after `processed`.

Expected values are worked out by hand from SPEC §3.1–3.3 in the comments.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

from tests.factories import learning_event
from tests.helpers import auth, post_batch, sign_in, wait_finished, wait_for
from tutormax.web.auth import create_api_key

DAY = "2026-10-05"


class TableParser(HTMLParser):
    """Rows of the table with a given id: each row a list of (tag, class, text) cells."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.depth, self.rows, self.cell = table_id, 0, [], None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attrs = dict(attrs)
        if tag == "table" and (self.depth or attrs.get("id") == self.table_id):
            self.depth += 1
        elif self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag in ("td", "th"):
            self.cell = [tag, attrs.get("class") or "", ""]

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.depth:
            self.depth -= 1
        elif self.depth and tag in ("td", "th") and self.cell:
            self.rows[-1].append((self.cell[0], self.cell[1], " ".join(self.cell[2].split())))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell[2] += " " + data


def table(html: str, table_id: str) -> list[list[tuple[str, str, str]]]:
    parser = TableParser(table_id)
    parser.feed(html)
    assert parser.rows, f"no table #{table_id}"
    return parser.rows


def triage_items(html: str, list_id: str) -> list[str]:
    """The text of each item of the triage list with that id, whitespace collapsed."""
    body = html.split(f'id="{list_id}"', 1)[1].split("</ol>", 1)[0]
    items = [item.split(">", 1)[1] for item in body.split('<li class="priority-')[1:]]
    return [" ".join(re.sub(r"<[^>]+>", "", item).split()) for item in items]


def texts(rows: list[list[tuple[str, str, str]]]) -> list[list[str]]:
    return [[text for _, _, text in row] for row in rows]


def learning(uid: str, n: str, kind: str, student: str, class_id: str, assignment: str, standards: list[str],
             time: str, score: float | None = None, teacher: str | None = None) -> dict:
    return learning_event(uid, n, kind, student, class_id, assignment, standards, DAY, time, score, teacher)


def post_and_wait(client, keys, events: list[dict]) -> None:
    response = post_batch(client, keys["writer"], events)
    body = response.get_json()
    assert response.status_code == 200 and body["accepted"] == len(events), body
    wait_finished(client, keys["reader"], [r["id"] for r in body["results"]], timeout=60)


def small_class(uid: str) -> list[dict]:
    """Class A of teacher tA: u1–u3, a1 and a2 assigned to all; class B of teacher tB.

    Hand-worked from SPEC §3.1:
    - 6 assigned pairs; graded: u1/a1 80, u1/a2 90, u2/a1 70, u2/a2 50 → completion 4/6 = 67%;
      average score (80 + 90 + 70 + 50) / 4 = 72.5.
    - u3: nothing graded → missing 2 ≥ min(3, 2) → missing_submissions; rates u1 1, u2 1, u3 0,
      median 1 → u3 completion_below_median. u2: 70 (09:30) then 50 (10:30) → score_trend_down.
      u1: 80 then 90, complete → not flagged. At risk: 2.
    - Mastery (latest ÷ 100): u1 S1 0.8 (a1), S2 0.9 (a2); u2 S1 0.7, S2 0.5; u3 none → empty cells.
      Bands: ≥0.8 mastered, ≥0.6 approaching, else needs-support.
      Average mastery: S1 (0.8 + 0.7) / 2 = 75%, S2 (0.9 + 0.5) / 2 = 70%.
    - Completion histogram: u3 in 0–20%, u1 and u2 in 80–100%.
    """
    events = [learning(uid, f"as-{s}-{a}", "assigned", s, "A", a, ["S1"] if a == "a1" else ["S2"],
                       f"08:0{i}:00", teacher="tA" if i == 0 else None)
              for i, (s, a) in enumerate((s, a) for s in ("u1", "u2", "u3") for a in ("a1", "a2"))]
    events += [
        learning(uid, "g-u1-a1", "graded", "u1", "A", "a1", ["S1"], "09:00:00", 80),
        learning(uid, "g-u1-a2", "graded", "u1", "A", "a2", ["S2"], "10:00:00", 90),
        learning(uid, "g-u2-a1", "graded", "u2", "A", "a1", ["S1"], "09:30:00", 70),
        learning(uid, "g-u2-a2", "graded", "u2", "A", "a2", ["S2"], "10:30:00", 50),
        learning(uid, "c-u3-a1", "created", "u3", "A", "a1", ["S1"], "09:45:00"),
        learning(uid, "as-v1-b1", "assigned", "v1", "B", "b1", ["S1"], "08:00:00", teacher="tB"),
    ]
    return events


def test_teacher_pages_class_grid_student_and_access(app, client, keys, uid):
    # u2 checks out one book of level 3.0 → early_elementary (2.0 < 3.0 ≤ 4.0): histogram {early: 1},
    # dominant and recent early elementary, 1 banded checkout < 4 → insufficient data, stability 1/1 = 1.
    reading = [
        {"event_id": f"{uid}-cat", "source": "library", "type": "BOOK_CATALOGED", "timestamp": f"{DAY}T07:00:00Z",
         "book_id": f"{uid}-book", "title": "A book", "reading_level": 3.0},
        {"event_id": f"{uid}-co", "source": "library", "type": "BOOK_CHECKED_OUT", "timestamp": f"{DAY}T12:00:00Z",
         "student_id": f"{uid}-u2", "book_id": f"{uid}-book"},
    ]
    post_and_wait(client, keys, small_class(uid) + reading)
    teacher = app.test_client()
    sign_in(teacher, create_api_key(f"{uid}-teacher", ["read"], teacher_id=f"{uid}-tA"))

    home = teacher.get("/dashboard/").get_data(as_text=True)
    assert "Your classes" in home and f"(teacher {uid}-tA)" in home
    # Only class A: 3 students, 67% complete, average 72.5, 2 at risk; no tutor form for a teacher.
    assert f"{uid}-A</a>" in home and f"{uid}-B" not in home
    assert "The tutor roster" not in home and "Tutors</a>" not in home
    assert [r[:5] for r in texts(table(home, "classes"))[1:]] == [[f"{uid}-A", "3", "67%", "72.5", "2"]]
    # A page past the end shows the last (here the only) page instead of failing.
    assert f"{uid}-A</a>" in teacher.get(f"/dashboard/?page={10 ** 20}").get_data(as_text=True)

    other = teacher.get(f"/dashboard/classes/{uid}-B")
    assert other.status_code == 404 and "404" in other.get_data(as_text=True)

    page = teacher.get(f"/dashboard/classes/{uid}-A")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    # Triage (SPEC §3.1), severity = 100 × (0.35·m + 0.20·t + 0.20·c + 0.25·k):
    # u3: m = 2/2 = 1, t = 0 (no grade), c = median 1 − rate 0 = 1, k = 0 (no standard graded)
    #     → 35 + 20 = 55: high, leads "needs attention".
    # u2: m = 0, t = min(1, (70 − 50)/30) = 2/3, c = 0 (rate 1 = median), k = (0.7 − (0.7 + 0.5)/2)/0.7 = 1/7
    #     (mean mastery 0.6 is not below 0.6: no low_mastery reason) → 13.33 + 3.57 = 16.9 → 17: low priority.
    for figure, value in (("student-count", "3"), ("assignment-count", "2"), ("completion-rate", "67%"),
                          ("average-score", "72.5"), ("attention-count", "1")):
        assert f'id="{figure}">{value}</span>' in html, figure
    assert triage_items(html, "attention") == [
        f"{uid}-u3 high priority severity 55 Missing submissions: 2 of 2 assigned pairs not graded "
        "Completion below class median: completion 0 % vs class median 100 %"]
    assert triage_items(html, "watch-list") == [
        f"{uid}-u2 low priority severity 17 Score trending down: last grade 50 after 70 (−20)"]
    # The page leads with triage, then the grid, then the trend.
    assert html.index('id="attention"') < html.index('id="mastery-grid"') < html.index('id="class-trend"')
    # All grades fall on Monday 2026-10-05, ISO week 2026-W41: latest per pair 80, 90, 70, 50 → mean 72.5.
    assert texts(table(html, "class-trend"))[1:] == [["2026-W41", "72.5", "4"]]
    grid = table(html, "mastery-grid")
    # Headers are sort links; the grid is sorted by student (▲), a second click sorts descending.
    assert texts(grid)[0] == ["Student ▲ , sort descending", f"{uid}-S1 , sort ascending",
                              f"{uid}-S2 , sort ascending", "Completion , sort ascending"]
    assert grid[1][1:] == [("td", "cell band-mastered", "80%"), ("td", "cell band-mastered", "90%"),
                           ("td", "num", "100%")]
    assert grid[2][1:] == [("td", "cell band-approaching", "70%"), ("td", "cell band-needs-support", "50%"),
                           ("td", "num", "100%")]
    assert grid[3][1:] == [("td", "cell", "not assessed"), ("td", "cell", "not assessed"), ("td", "num", "0%")]
    # The charts: inline SVG, labelled, their numbers also in text.
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart"' in html
    assert 'aria-label="Average mastery per standard"' in html
    assert f"<desc>{uid}-S1: 75%; {uid}-S2: 70%</desc>" in html
    assert "<desc>0%–20%: 1; 20%–40%: 0; 40%–60%: 0; 60%–80%: 0; 80%–100%: 2</desc>" in html
    assert "<script" not in html

    # Sorted by S2, descending: u1 90, u2 50, then u3 (not assessed) last; by student descending: u3, u2, u1.
    by_s2 = teacher.get(f"/dashboard/classes/{uid}-A?sort=-{uid}-S2").get_data(as_text=True)
    assert [row[0] for row in texts(table(by_s2, "mastery-grid"))[1:]] == [f"{uid}-u1", f"{uid}-u2", f"{uid}-u3"]
    assert 'aria-sort="descending"' in by_s2
    by_s2_up = teacher.get(f"/dashboard/classes/{uid}-A?sort={uid}-S2").get_data(as_text=True)
    assert [row[0] for row in texts(table(by_s2_up, "mastery-grid"))[1:]] == [f"{uid}-u2", f"{uid}-u1", f"{uid}-u3"]
    by_student = teacher.get(f"/dashboard/classes/{uid}-A?sort=-student").get_data(as_text=True)
    assert [row[0] for row in texts(table(by_student, "mastery-grid"))[1:]] == [f"{uid}-u3", f"{uid}-u2", f"{uid}-u1"]

    student = teacher.get(f"/dashboard/classes/{uid}-A/students/{uid}-u2")
    html = student.get_data(as_text=True)
    assert student.status_code == 200
    assert triage_items(html, "triage") == [
        f"{uid}-u2 low priority severity 17 Score trending down: last grade 50 after 70 (−20)"]
    # u2's latest grades 70 and 50 in 2026-W41 → 60; the class 72.5.
    assert texts(table(html, "student-trend"))[1:] == [["2026-W41", "60", "72.5"]]
    assert [r[:4] for r in texts(table(html, "mastery"))[1:]] == [[f"{uid}-S1", "70%", "1", "70%"],
                                                                   [f"{uid}-S2", "50%", "1", "50%"]]
    # Newest first: the 10:30 grade, the 09:30 grade, then the two assignments (08:03, 08:02).
    assert [r[1:5] for r in texts(table(html, "timeline"))[1:]] == [
        ["Submission graded", f"{uid}-a2", f"{uid}-S2", "50"],
        ["Submission graded", f"{uid}-a1", f"{uid}-S1", "70"],
        ["Assignment assigned", f"{uid}-a2", f"{uid}-S2", "—"],
        ["Assignment assigned", f"{uid}-a1", f"{uid}-S1", "—"],
    ]
    profile = " ".join(html.split("id=\"reading-profile\"", 1)[1].split("</dl>", 1)[0].split())
    assert "<dt>Dominant band</dt><dd>early elementary</dd>" in profile
    assert "<dt>Trend</dt><dd>insufficient data</dd>" in profile and "<dt>Stability</dt><dd>1</dd>" in profile
    assert "<desc>beginner: 0; early elementary: 1; late elementary: 0; middle school: 0; advanced: 0</desc>" in html

    u1 = teacher.get(f"/dashboard/classes/{uid}-A/students/{uid}-u1").get_data(as_text=True)
    assert "No checkouts yet." in u1
    assert teacher.get(f"/dashboard/classes/{uid}-A/students/{uid}-v1").status_code == 404
    assert teacher.get(f"/dashboard/classes/{uid}-B/students/{uid}-v1").status_code == 404


def test_ids_are_escaped(app, client, keys, uid):
    class_id, student = "<img src=x onerror=alert(1)>", '"><svg onload=alert(2)>'
    event = learning(uid, "x", "graded", "s", "c", "a", ["S"], "09:00:00", 90, teacher="t")
    event.update(class_id=f"{uid}-{class_id}", student_id=f"{uid}-{student}", standard_ids=[f"{uid}-<b>S"])
    post_and_wait(client, keys, [event])
    reader = app.test_client()
    sign_in(reader, keys["reader"])
    page = reader.get(f"/dashboard/classes/{uid}-{class_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<img src=x" not in html and "<svg onload" not in html and "<b>S" not in html
    assert f"{uid}-&lt;img src=x onerror=alert(1)&gt;" in html
    assert f"{uid}-&#34;&gt;&lt;svg onload=alert(2)&gt;" in html and f"{uid}-&lt;b&gt;S" in html
    missing = reader.get("/dashboard/classes/<script>alert(3)")
    assert missing.status_code == 404
    assert "&lt;script&gt;alert(3)" in missing.get_data(as_text=True)
    assert "<script>" not in missing.get_data(as_text=True)


def test_tutor_page_metrics_table_history_chart_and_teacher_403(app, client, keys, uid):
    tutor, now = f"{uid}-t", datetime.now(UTC)
    starts = [now - timedelta(days=2), now - timedelta(days=1)]
    events = [{"event_id": f"{uid}-tutor", "source": "tp", "type": "TUTOR_UPSERTED", "timestamp": now.isoformat(),
               "tutor_id": tutor, "name": "Ada", "email": f"{uid}@example.com",
               "onboarding_date": (date.today() - timedelta(days=10)).isoformat(), "status": "active",
               "subjects": ["math", "physics"]}]
    events += [{"event_id": f"{uid}-s{n}", "source": "tp", "type": "SESSION_COMPLETED",
                "timestamp": (start + timedelta(hours=1)).isoformat(), "session_id": f"{uid}-s{n}",
                "tutor_id": tutor, "student_id": f"{uid}-st", "session_number": n, "scheduled_start": start.isoformat(),
                "actual_start": start.isoformat(), "duration_minutes": 60, "subject": "math",
                "engagement_score": 80, "learning_objectives_met": True}
               for n, start in enumerate(starts, start=1)]
    events += [{"event_id": f"{uid}-f{n}", "source": "tp", "type": "FEEDBACK_SUBMITTED",
                "timestamp": (start + timedelta(hours=2)).isoformat(), "feedback_id": f"{uid}-f{n}",
                "session_id": f"{uid}-s{n}", "tutor_id": tutor, "student_id": f"{uid}-st", "overall_rating": rating,
                "free_text_feedback": text}
               for (n, start), rating, text in zip(enumerate(starts, start=1), (5, 4), ("Clear <b>help</b>", None))]
    post_and_wait(client, keys, events)

    # Every window holds both sessions: avg rating (5 + 4) / 2 = 4.5 (green); the first session is rated 5 ≥ 4
    # → 100% (green); no reschedule 0% (green); no no-show (green); objectives 100% (green); engagement =
    # 0.4·min(0 logins ÷ 2 × 100, 100) + 0.4·80 + 0.2·100 on time = 52 (red) → 5 green, 1 red → Needs Attention.
    def computed():
        body = client.get(f"/api/v1/tutors/{tutor}/metrics", headers=auth(keys["reader"])).get_json()
        return all(w["avg_rating"] == 4.5 and w["engagement_score"] == 52.0 for w in body["windows"].values())

    wait_for(computed, timeout=30, what="tutor metrics")
    reader = app.test_client()
    sign_in(reader, keys["reader"])
    page = reader.get(f"/dashboard/tutors/{tutor}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    metrics = {row[0]: row[1:] for row in texts(table(html, "metrics"))}
    assert metrics["Metric"] == ["7day", "30day", "90day"]
    # The page marks each flag the tier counted (the metrics' green_flags / red_flags).
    assert metrics["Performance tier"] == ["Needs Attention 1 red · 5 green"] * 3
    assert metrics["Average rating (1–5)"] == ["4.5 green"] * 3
    assert metrics["Engagement score (0–100)"] == ["52 red"] * 3
    assert metrics["First-session success"] == ["100% green"] * 3
    assert metrics["Tutor reschedule rate"] == ["0% green"] * 3
    assert metrics["No-shows"] == ["0 green"] * 3
    assert metrics["Learning objectives met"] == ["100% green"] * 3
    assert metrics["Sessions scheduled"] == ["2"] * 3
    # Today's history row of the 30day window is a point on each line chart.
    assert 'aria-label="Average rating, 30day window, daily"' in html
    today = datetime.now(UTC).date().isoformat()
    assert f"<title>{today}: 4.5</title></circle>" in html and f"<title>{today}: 52</title></circle>" in html
    sessions = texts(table(html, "sessions"))
    assert [row[0] for row in sessions[1:]] == [f"{uid}-s2", f"{uid}-s1"]
    assert sessions[2][6:] == ["5/5", "Clear <b>help</b>"] and "Clear &lt;b&gt;help&lt;/b&gt;" in html

    lookup = reader.get(f"/dashboard/tutors?tutor_id={tutor}")
    assert lookup.status_code == 302 and lookup.headers["Location"] == f"/dashboard/tutors/{tutor}"
    assert reader.get(f"/dashboard/tutors/{uid}-nobody").status_code == 404

    # The roster: search is case-insensitive on id or name; the 30-day red flag is marked in its cell.
    roster = reader.get(f"/dashboard/tutors?q={uid.upper()}-T")
    rows = texts(table(roster.get_data(as_text=True), "roster"))
    assert roster.status_code == 200 and len(rows) == 2
    assert rows[1][:2] == [f"{tutor} Ada", "Needs Attention"]
    assert rows[1][2:9] == ["2", "4.5", "100%", "0%", "0", "52 red", "100%"]
    assert rows[1][9] == "Needs Attention / Needs Attention"
    by_rating = reader.get(f"/dashboard/tutors?q={uid}&sort=-avg_rating").get_data(as_text=True)
    header = by_rating.split('aria-sort="descending"', 1)[1].split("</th>", 1)[0]
    assert "Average rating (1–5)" in header and f"{tutor}</a>" in by_rating
    none = reader.get(f"/dashboard/tutors?q={uid}&tier=At+Risk").get_data(as_text=True)
    assert "No tutor matches these filters." in none and 'id="roster"' not in none
    bad = reader.get("/dashboard/tutors?sort=bogus&limit=3")
    assert bad.status_code == 400 and bad.mimetype == "text/html" and "sort: Must be one of" in bad.get_data(
        as_text=True)

    teacher = app.test_client()
    sign_in(teacher, create_api_key(f"{uid}-teacher", ["read"], teacher_id=f"{uid}-tA"))
    forbidden = teacher.get(f"/dashboard/tutors/{tutor}")
    assert forbidden.status_code == 403 and "Teacher-bound keys cannot read tutor records." in forbidden.get_data(
        as_text=True)
