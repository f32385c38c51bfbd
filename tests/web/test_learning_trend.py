"""Class and student trends through the real stack (SPEC §3.1, §4): ISO weeks of the UTC instant, regrades,
the 12-week cut. Expected values worked out by hand."""

from __future__ import annotations

from datetime import date, timedelta

from tests.factories import learning_event as ev
from tests.helpers import auth, post_all, wait_finished
from tests.helpers import get_json as get


def weeks(client, keys, uid: str, class_id: str, student: str | None = None) -> list[tuple]:
    path = f"/api/v1/classes/{uid}-{class_id}" + (f"/students/{uid}-{student}" if student else "") + "/trend"
    body = get(client, keys["reader"], path)
    assert body["class_id"] == f"{uid}-{class_id}"
    if student:
        assert body["student_id"] == f"{uid}-{student}"
    return [(w["week"], w["average_score"], w["grades"]) for w in body["weeks"]]


def test_weeks_are_iso_weeks_of_the_utc_instant(client, keys, uid):
    def grade(n: str, student: str, assignment: str, day: str, time: str, score: float, offset: str = "Z"):
        return ev(uid, n, "graded", student, "W", assignment, ["S1"], day, time, score, teacher="tW", offset=offset)

    first = post_all(client, keys, [
        # Sunday 2026-12-27 23:59 UTC: the last minute of 2026-W52.
        grade("x1-w1", "x1", "w1", "2026-12-27", "23:59:00", 60),
        # Monday 2026-12-28 00:00 UTC: the first instant of 2026-W53 (2026 has 53 ISO weeks).
        grade("x1-w2", "x1", "w2", "2026-12-28", "00:00:00", 80),
        # Monday 04:30 at +05:00 is Sunday 23:30 UTC: 2026-W52, though the local date is in W53.
        grade("x2-w1", "x2", "w1", "2026-12-28", "04:30:00", 70, "+05:00"),
        # Thursday 2026-12-31: still 2026-W53.
        grade("x2-w2", "x2", "w2", "2026-12-31", "10:00:00", 90),
        # Monday 2027-01-04 00:00 UTC: 2027-W01.
        grade("x1-w3", "x1", "w3", "2027-01-04", "00:00:00", 50),
    ])
    wait_finished(client, keys["reader"], first)
    # W52: 60 and 70 → 65 over 2; W53: 80 and 90 → 85 over 2; W01: 50 alone. Oldest first.
    assert weeks(client, keys, uid, "W") == [("2026-W52", 65.0, 2), ("2026-W53", 85.0, 2), ("2027-W01", 50.0, 1)]
    assert weeks(client, keys, uid, "W", "x2") == [("2026-W52", 70.0, 1), ("2026-W53", 90.0, 1)]

    later = post_all(client, keys, [
        # x2/w1 regraded 100 on Tuesday 2027-01-05: the pair's latest grade, so it moves to 2027-W01.
        grade("x2-w1-re", "x2", "w1", "2027-01-05", "09:00:00", 100),
        # x1/w4 graded 40 on 2027-01-06 (W01); a grade for the same pair stamped earlier (2026-12-29, W53)
        # arrives after it and is not the pair's latest: W53 does not count it.
        grade("x1-w4", "x1", "w4", "2027-01-06", "09:00:00", 40),
    ])
    wait_finished(client, keys["reader"], later)
    old = post_all(client, keys, [grade("x1-w4-old", "x1", "w4", "2026-12-29", "09:00:00", 20)])
    wait_finished(client, keys["reader"], old)
    # W52: only x1/w1 60 is left. W53: 80, 90 → 85. W01: x1/w3 50, x2/w1 100, x1/w4 40 → 190/3.
    assert weeks(client, keys, uid, "W") == [
        ("2026-W52", 60.0, 1), ("2026-W53", 85.0, 2), ("2027-W01", 190 / 3, 3)]
    assert weeks(client, keys, uid, "W", "x1") == [
        ("2026-W52", 60.0, 1), ("2026-W53", 80.0, 1), ("2027-W01", 45.0, 2)]
    assert weeks(client, keys, uid, "W", "x2") == [("2026-W53", 90.0, 1), ("2027-W01", 100.0, 1)]


def test_trend_keeps_the_last_twelve_weeks_that_have_grades(client, keys, uid):
    # y1 graded every other week from Monday 2026-01-05 (2026-W02) for 13 grades: W02, W04, …, W26,
    # scores 10, 15, …, 70. The weeks between have no grade and are not listed; the 13th-last (W02) is cut.
    first = date(2026, 1, 5)
    bodies = [ev(uid, f"g{i}", "graded", "y1", "V", f"v{i}", ["S1"], (first + timedelta(weeks=2 * i)).isoformat(),
                 "12:00:00", 10 + 5 * i, teacher="tV") for i in range(13)]
    # Plus an assignment without a grade, and y2 who was only assigned: no week for them.
    bodies += [ev(uid, "as-y2", "assigned", "y2", "V", "v0", ["S1"], "2026-06-30", "12:00:00")]
    wait_finished(client, keys["reader"], post_all(client, keys, bodies))
    expected = [(f"2026-W{2 + 2 * i:02d}", float(10 + 5 * i), 1) for i in range(1, 13)]
    assert expected[0] == ("2026-W04", 15.0, 1) and expected[-1] == ("2026-W26", 70.0, 1)
    assert weeks(client, keys, uid, "V") == expected
    assert weeks(client, keys, uid, "V", "y1") == expected
    assert weeks(client, keys, uid, "V", "y2") == []


def test_student_trend_needs_the_student_in_the_class(client, keys, uid):
    wait_finished(client, keys["reader"], post_all(client, keys, [
        ev(uid, "g1", "graded", "u1", "A", "a1", ["S1"], "2026-09-01", "09:00:00", 40, teacher="tA"),
        ev(uid, "g2", "graded", "u2", "B", "b1", ["S1"], "2026-09-01", "09:00:00", 40, teacher="tB")]))
    # u2 exists, but not in class A.
    response = client.get(f"/api/v1/classes/{uid}-A/students/{uid}-u2/trend", headers=auth(keys["reader"]))
    assert response.status_code == 404
    assert response.get_json()["message"] == f"No events of student {uid}-u2 in class {uid}-A."
    assert client.get(f"/api/v1/classes/{uid}-Z/trend", headers=auth(keys["reader"])).status_code == 404
