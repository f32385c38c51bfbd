"""Learning views through the HTTP API on the real stack; expected values worked out by hand from SPEC §3.1."""

from __future__ import annotations

import pytest

from tests.factories import learning_event_on_day as ev
from tests.helpers import get_json as get
from tests.helpers import post_all, post_event, wait_finished

DAY = "2026-09-01"  # the day of every event here (learning_event_on_day)


def at_risk(dash: dict) -> list[tuple]:
    """The dashboard's at-risk students as (student_id, reasons, severity, priority), in its order."""
    rows = [(s["student_id"], s["reasons"], s["severity"], s["priority"]) for s in dash["at_risk_students"]]
    assert all(set(s) == {"student_id", "reasons", "severity", "priority"} for s in dash["at_risk_students"])
    return rows


def class_a(uid: str) -> tuple[list[dict], list[dict], dict]:
    """Odd class A: 3 students u1–u3, assignments a1–a3 assigned to everyone, teacher tA.

    Returns (first batch, later single events, the u2/a2 original grade posted last).
    """
    first = [ev(uid, f"as-{s}-{a}", "assigned", s, "A", a, ["S1", "S2"], f"08:{i:02d}:00",
                teacher="tA" if i == 0 else None)
             for i, (s, a) in enumerate((s, a) for s in ("u1", "u2", "u3") for a in ("a1", "a2", "a3"))]
    first += [
        ev(uid, "g-u1-a1", "graded", "u1", "A", "a1", ["S1"], "09:00:00", 80),
        ev(uid, "g-u1-a2", "graded", "u1", "A", "a2", ["S1", "S2"], "10:00:00", 90),
        # 13:00+02:00 is 11:00Z: later than u1's 10:00 grade.
        ev(uid, "g-u1-a3", "graded", "u1", "A", "a3", ["S2", "S2"], "13:00:00", 70, offset="+02:00"),
        ev(uid, "g-u2-a1", "graded", "u2", "A", "a1", ["S1"], "09:30:00", 60),
        ev(uid, "c-u3-a1", "created", "u3", "A", "a1", ["S1"], "09:45:00"),
    ]
    regrade = [ev(uid, "g-u2-a2-regrade", "graded", "u2", "A", "a2", ["S1", "S2"], "12:00:00", 75)]
    original = ev(uid, "g-u2-a2-original", "graded", "u2", "A", "a2", ["S1", "S2"], "10:30:00", 50)
    return first, regrade, original


def post_class_a(client, keys, uid: str) -> None:
    first, regrade, original = class_a(uid)
    ids = post_all(client, keys, first)
    # The regrade (12:00) is posted, and processed, before the original grade (10:30).
    ids += post_all(client, keys, regrade)
    wait_finished(client, keys["reader"], ids)
    r = post_event(client, keys["writer"], original)
    assert r.status_code == 202, r.get_json()
    ids.append(r.get_json()["id"])
    # A duplicate of an already stored grade: accepted as duplicate, stores nothing.
    dup = post_event(client, keys["writer"], first[9])
    assert dup.status_code == 202 and dup.get_json()["duplicate"] is True
    wait_finished(client, keys["reader"], ids)


def test_odd_class_dashboard_mastery_risk_and_timeline(client, keys, uid):
    post_class_a(client, keys, uid)
    p = lambda s: f"{uid}-{s}"  # noqa: E731

    dash = get(client, keys["reader"], f"/api/v1/teachers/{p('tA')}/classes/{p('A')}/dashboard")
    # 9 assigned pairs; graded among them: u1 a1,a2,a3 + u2 a1,a2 = 5 → 5/9.
    # Graded pairs' latest scores: u1 80, 90, 70; u2 60, 75 (regrade beats 50) → 375/5 = 75.
    assert dash["class_id"] == p("A") and dash["teacher_id"] == p("tA")
    assert (dash["student_count"], dash["assignment_count"]) == (3, 3)
    assert dash["completion_rate"] == pytest.approx(5 / 9)
    assert dash["average_score"] == pytest.approx(75.0)
    # Rates: u1 3/3, u2 2/3, u3 0 → odd median 2/3. u1: grades by time 80, 90, 70 → down.
    # u2: 60 (09:30), 75 (12:00) → up; missing 1 < min(3, 3). u3: missing 3 ≥ 3; 0 < 2/3.
    # Severity u3: m 3/3 → 35, c 2/3 − 0 → 13.33; no grade, no mastery → 48.33 → 48, high.
    # u1: t = drop 20/30 → 13.33; m 0, c 0; mean mastery (S1 0.9 + S2 0.7)/2 = 0.8 ≥ 0.7 → 13, low.
    # (u2 has severity 12 from m 1/3 but no reason: not listed.) Highest severity first.
    assert at_risk(dash) == [
        (p("u3"), ["missing_submissions", "completion_below_median"], 48, "high"),
        (p("u1"), ["score_trend_down"], 13, "low"),
    ]
    # S1: u1 latest 90 (10:00) → 0.9, u2 latest 75 (12:00) → 0.75; mean 0.825 over 2.
    # S2: u1 latest 70 (11:00Z) → 0.7, u2 0.75; mean 0.725 over 2.
    assert [(m["standard_id"], m["students"]) for m in dash["mastery_by_standard"]] == [(p("S1"), 2), (p("S2"), 2)]
    assert [m["average_mastery"] for m in dash["mastery_by_standard"]] == [pytest.approx(0.825),
                                                                         pytest.approx(0.725)]
    # 16 events, newest first: 12:00 u2 regrade, 11:00Z u1 a3, 10:30 u2 original, 10:00 u1 a2,
    # 09:45 u3 created, 09:30 u2 a1, 09:00 u1 a1, then the nine assignments 08:08 … 08:00.
    recent = dash["recent_activity"]
    assert len(recent) == 16
    assert [(r["event_type"], r["student_id"], r["assignment_id"], r["score"], r["timestamp"]) for r in recent[:7]] == [
        ("SUBMISSION_GRADED", p("u2"), p("a2"), 75.0, f"{DAY}T12:00:00+00:00"),
        ("SUBMISSION_GRADED", p("u1"), p("a3"), 70.0, f"{DAY}T11:00:00+00:00"),
        ("SUBMISSION_GRADED", p("u2"), p("a2"), 50.0, f"{DAY}T10:30:00+00:00"),
        ("SUBMISSION_GRADED", p("u1"), p("a2"), 90.0, f"{DAY}T10:00:00+00:00"),
        ("SUBMISSION_CREATED", p("u3"), p("a1"), None, f"{DAY}T09:45:00+00:00"),
        ("SUBMISSION_GRADED", p("u2"), p("a1"), 60.0, f"{DAY}T09:30:00+00:00"),
        ("SUBMISSION_GRADED", p("u1"), p("a1"), 80.0, f"{DAY}T09:00:00+00:00"),
    ]
    assert [r["timestamp"] for r in recent[7:]] == [f"{DAY}T08:{m:02d}:00+00:00" for m in range(8, -1, -1)]
    assert {r["event_type"] for r in recent[7:]} == {"ASSIGNMENT_ASSIGNED"}

    # u2/S1: 60 (09:30), 50 (10:30), 75 (12:00) → latest 0.75; 3 attempts; 185/3/100.
    # u2/S2: 50, 75 → 0.75; 2 attempts; 0.625. The regrade arrived first and still wins.
    mastery = get(client, keys["reader"], f"/api/v1/students/{p('u2')}/mastery")
    assert mastery["student_id"] == p("u2")
    assert [(m["standard_id"], m["attempts"], m["last_assessed_at"]) for m in mastery["mastery"]] == [
        (p("S1"), 3, f"{DAY}T12:00:00+00:00"), (p("S2"), 2, f"{DAY}T12:00:00+00:00")]
    assert [m["mastery_score"] for m in mastery["mastery"]] == [pytest.approx(0.75), pytest.approx(0.75)]
    assert [m["average_score"] for m in mastery["mastery"]] == [pytest.approx(185 / 300), pytest.approx(0.625)]
    # u1/S2: 90 (10:00), 70 (11:00Z; S2 listed twice on that event counts once) → 0.7, 2, 0.8.
    u1 = get(client, keys["reader"], f"/api/v1/students/{p('u1')}/mastery")["mastery"]
    assert [(m["standard_id"], m["attempts"]) for m in u1] == [(p("S1"), 2), (p("S2"), 2)]
    assert [(m["mastery_score"], m["average_score"]) for m in u1] == [
        (pytest.approx(0.9), pytest.approx(0.85)), (pytest.approx(0.7), pytest.approx(0.8))]
    # u3 is known (assigned, submitted) but never graded → 200 with [].
    assert get(client, keys["reader"], f"/api/v1/students/{p('u3')}/mastery") == {"student_id": p("u3"),
                                                                                  "mastery": []}

    risk = get(client, keys["reader"], f"/api/v1/classes/{p('A')}/risk")
    assert risk["class_id"] == p("A")
    assert [(s["student_id"], s["reasons"], s["severity"], s["priority"], s["explanations"])
            for s in risk["students"]] == [
        (p("u3"), ["missing_submissions", "completion_below_median"], 48, "high",
         ["3 of 3 assigned pairs not graded", "completion 0 % vs class median 67 %"]),
        (p("u1"), ["score_trend_down"], 13, "low", ["last grade 70 after 90 (−20)"])]
    u3 = risk["students"][0]["details"]
    assert (u3["assigned"], u3["missing"], u3["missing_threshold"], u3["completion_rate"]) == (3, 3, 3, 0.0)
    assert u3["class_median_completion_rate"] == pytest.approx(2 / 3)
    assert (u3["mean_mastery"], u3["mastery_standards"]) == (None, 0)
    u1 = risk["students"][1]["details"]
    assert (u1["last_two_scores"], u1["mean_mastery"], u1["mastery_standards"]) == ([90.0, 70.0], 0.8, 2)

    # u2's timeline: 12:00 regrade, 10:30 original, 09:30 a1, then a3/a2/a1 assigned at 08:05/08:04/08:03.
    timeline = get(client, keys["reader"], f"/api/v1/classes/{p('A')}/students/{p('u2')}/timeline")
    assert (timeline["student_id"], timeline["class_id"]) == (p("u2"), p("A"))
    assert [(e["event_type"][:10], e["assignment_id"], e["score"], e["timestamp"][11:16])
            for e in timeline["events"]] == [
        ("SUBMISSION", p("a2"), 75.0, "12:00"), ("SUBMISSION", p("a2"), 50.0, "10:30"),
        ("SUBMISSION", p("a1"), 60.0, "09:30"), ("ASSIGNMENT", p("a3"), None, "08:05"),
        ("ASSIGNMENT", p("a2"), None, "08:04"), ("ASSIGNMENT", p("a1"), None, "08:03")]
    assert timeline["events"][0]["standard_ids"] == [p("S1"), p("S2")]
    limited = get(client, keys["reader"], f"/api/v1/classes/{p('A')}/students/{p('u2')}/timeline?limit=2")
    assert [e["timestamp"][11:16] for e in limited["events"]] == ["12:00", "10:30"]


def class_b(uid: str) -> list[dict]:
    """Even class B: 4 students v1–v4, teacher tB linked by one event only."""
    events = []
    assigned = {"v1": ["b1", "b2", "b3", "b4", "b5"], "v2": ["b1", "b2"], "v3": ["b1"], "v4": ["b1", "b2"]}
    minute = 0
    for student, assignments in assigned.items():
        for a in assignments:
            events.append(ev(uid, f"as-{student}-{a}", "assigned", student, "B", a, ["S3"], f"08:{minute:02d}:00",
                             teacher="tB" if minute == 3 else None))
            minute += 1
    events += [
        ev(uid, "g-v1-b1", "graded", "v1", "B", "b1", ["S3"], "09:30:00", 100),
        ev(uid, "g-v2-b1", "graded", "v2", "B", "b1", ["S3"], "09:00:00", 70),
        # b3 is not assigned to v2: it counts for the average and the trend, not for completion.
        ev(uid, "g-v2-b3", "graded", "v2", "B", "b3", ["S3"], "12:00:00", 40),
        ev(uid, "g-v4-b1", "graded", "v4", "B", "b1", ["S3"], "10:00:00", 90),
        ev(uid, "g-v4-b2", "graded", "v4", "B", "b2", ["S3", "S4"], "11:00:00", 85),
    ]
    return events


def test_even_class_dashboard(client, keys, uid):
    bodies = class_b(uid)
    # Arrival order reversed: the views depend on timestamps only.
    ids = post_all(client, keys, bodies[::-1])
    wait_finished(client, keys["reader"], ids)
    p = lambda s: f"{uid}-{s}"  # noqa: E731

    dash = get(client, keys["reader"], f"/api/v1/teachers/{p('tB')}/classes/{p('B')}/dashboard")
    # Assigned pairs 5+2+1+2 = 10; graded among them v1 b1, v2 b1, v4 b1, v4 b2 = 4 → 0.4.
    # Graded pairs: 100, 70, 40, 90, 85 → 385/5 = 77. Assignments b1–b5 → 5.
    assert (dash["student_count"], dash["assignment_count"]) == (4, 5)
    assert dash["completion_rate"] == pytest.approx(0.4)
    assert dash["average_score"] == pytest.approx(77.0)
    # Rates v1 1/5, v2 1/2, v3 0/1, v4 2/2 → sorted 0, .2, .5, 1 → median (.2+.5)/2 = .35.
    # v1: missing 4 ≥ min(3, 5); .2 < .35. v2: missing 1 < min(3, 2) = 2; 70 → 40 down.
    # v3: missing 1 ≥ min(3, 1) = 1; 0 < .35. v4: 90 (10:00) → 85 (11:00) down.
    # Severities (nobody has two standards, so no mastery part):
    # v3: m 1/1 → 35, c .35 → 7 → 42, high. v2: m 1/2 → 17.5, t min(1, 30/30) → 20 → 37.5 → 38 (half up).
    # v1: m 4/5 → 28, c .35 − .2 → 3 → 31. v4: t 5/30 → 3.33 → 3, low.
    assert at_risk(dash) == [
        (p("v3"), ["missing_submissions", "completion_below_median"], 42, "high"),
        (p("v2"), ["score_trend_down"], 38, "medium"),
        (p("v1"), ["missing_submissions", "completion_below_median"], 31, "medium"),
        (p("v4"), ["score_trend_down"], 3, "low"),
    ]
    # S3: v1 1.0, v2 0.4 (40 at 12:00 is latest), v4 0.85 → 2.25/3 = 0.75 over 3; S4: v4 0.85 over 1.
    assert [(m["standard_id"], m["students"]) for m in dash["mastery_by_standard"]] == [(p("S3"), 3), (p("S4"), 1)]
    assert [m["average_mastery"] for m in dash["mastery_by_standard"]] == [pytest.approx(0.75),
                                                                         pytest.approx(0.85)]
    # 15 events: the 20 newest are all of them; newest 12:00 v2 b3, then 11:00 v4 b2.
    assert len(dash["recent_activity"]) == 15
    assert [(r["student_id"], r["score"]) for r in dash["recent_activity"][:2]] == [(p("v2"), 40.0), (p("v4"), 85.0)]
    risk = get(client, keys["reader"], f"/api/v1/classes/{p('B')}/risk")
    assert [s["explanations"] for s in risk["students"]] == [
        ["1 of 1 assigned pairs not graded", "completion 0 % vs class median 35 %"],
        ["last grade 40 after 70 (−30)"],
        ["4 of 5 assigned pairs not graded", "completion 20 % vs class median 35 %"],
        ["last grade 85 after 90 (−5)"],
    ]
    v2 = risk["students"][1]["details"]
    assert (v2["assigned"], v2["missing"], v2["missing_threshold"], v2["last_two_scores"]) == (2, 1, 2, [70.0, 40.0])
    assert v2["class_median_completion_rate"] == pytest.approx(0.35)


def test_recent_activity_keeps_twenty_newest(client, keys, uid):
    # 25 assignments to one student at 08:00 … 08:24; the dashboard shows 08:24 … 08:05.
    bodies = [ev(uid, f"as-{i}", "assigned", "w1", "C", f"c{i}", ["S1"], f"08:{i:02d}:00", teacher="tC")
              for i in range(25)]
    wait_finished(client, keys["reader"], post_all(client, keys, bodies))
    dash = get(client, keys["reader"], f"/api/v1/teachers/{uid}-tC/classes/{uid}-C/dashboard")
    assert [r["timestamp"][11:16] for r in dash["recent_activity"]] == [f"08:{m:02d}" for m in range(24, 4, -1)]
    # Assigned 25, nothing graded: completion 0, no average; missing 25 ≥ 3; alone, rate 0 = median.
    # Severity: m 25/25 → 35 alone → medium.
    assert (dash["completion_rate"], dash["average_score"]) == (0.0, None)
    assert at_risk(dash) == [(f"{uid}-w1", ["missing_submissions"], 35, "medium")]
    assert dash["mastery_by_standard"] == []
