"""Triage through the real stack (SPEC §3.1, §4): severity, priority, explanations, the risk list's order,
the `priority` filter, and mastery from another class moving a class's triage. Worked out by hand."""

from __future__ import annotations

from tests.factories import learning_event_on_day as ev
from tests.helpers import auth, post_all, wait_finished
from tests.helpers import get_json as get


def triage(client, keys, uid: str, class_id: str, query: str = "") -> list[tuple]:
    body = get(client, keys["reader"], f"/api/v1/classes/{uid}-{class_id}/risk{query}")
    return [(s["student_id"].removeprefix(f"{uid}-"), s["reasons"], s["severity"], s["priority"], s["explanations"])
            for s in body["students"]]


def at_risk(client, keys, uid: str, class_id: str, teacher: str) -> list[tuple]:
    dash = get(client, keys["reader"], f"/api/v1/teachers/{uid}-{teacher}/classes/{uid}-{class_id}/dashboard")
    return [(s["student_id"].removeprefix(f"{uid}-"), s["reasons"], s["severity"], s["priority"])
            for s in dash["at_risk_students"]]


def class_t(uid: str) -> list[dict]:
    """Class T: five students, each assigned t1 and t2 (standard S1)."""
    students = ("Zed", "amy", "kim", "lee", "ned")
    bodies = [ev(uid, f"as-{s}-{a}", "assigned", s, "T", a, ["S1"], f"08:0{i}:00", teacher="tT")
              for i, s in enumerate(students) for a in ("t1", "t2")]
    bodies += [
        ev(uid, "g-kim-1", "graded", "kim", "T", "t1", ["S1"], "09:00:00", 80),
        ev(uid, "g-kim-2", "graded", "kim", "T", "t2", ["S1"], "10:00:00", 50),
        ev(uid, "g-lee-1", "graded", "lee", "T", "t1", ["S1"], "09:00:00", 70),
        ev(uid, "g-lee-2", "graded", "lee", "T", "t2", ["S1"], "10:00:00", 64),
        ev(uid, "g-ned-1", "graded", "ned", "T", "t1", ["S1"], "09:00:00", 90),
        ev(uid, "g-ned-2", "graded", "ned", "T", "t2", ["S2"], "10:00:00", 30),
    ]
    return bodies


def test_risk_list_order_ties_and_priority_filter(client, keys, uid):
    wait_finished(client, keys["reader"], post_all(client, keys, class_t(uid)))
    # Rates: Zed 0/2, amy 0/2, kim 2/2, lee 2/2, ned 2/2 → sorted 0, 0, 1, 1, 1 → median 1.
    # Zed, amy: missing 2 ≥ min(3, 2); 0 < 1. m 1 → 35, c 1 − 0 → 20 → 55, high (the same for both).
    # ned: 90 → 30, drop 60 → t 1 → 20; S1 0.9 and S2 0.3 → mean 0.6 (not below 0.6, no reason),
    #      k (0.7 − 0.6)/0.7 → 25/7 = 3.57 → 23.57 → 24, medium.
    # kim: 80 → 50, drop 30 → t 1 → 20 → exactly 20, medium (S1 only: one standard, no k).
    # lee: 70 → 64, drop 6 → t 0.2 → 4, low.
    # Ties by student_id, code point order: "Zed" before "amy" ('Z' is 90, 'a' 97), whatever the locale.
    high = [("Zed", ["missing_submissions", "completion_below_median"], 55, "high",
             ["2 of 2 assigned pairs not graded", "completion 0 % vs class median 100 %"]),
            ("amy", ["missing_submissions", "completion_below_median"], 55, "high",
             ["2 of 2 assigned pairs not graded", "completion 0 % vs class median 100 %"])]
    medium = [("ned", ["score_trend_down"], 24, "medium", ["last grade 30 after 90 (−60)"]),
              ("kim", ["score_trend_down"], 20, "medium", ["last grade 50 after 80 (−30)"])]
    low = [("lee", ["score_trend_down"], 4, "low", ["last grade 64 after 70 (−6)"])]
    assert triage(client, keys, uid, "T") == high + medium + low
    assert triage(client, keys, uid, "T", "?priority=high") == high
    assert triage(client, keys, uid, "T", "?priority=medium") == medium
    assert triage(client, keys, uid, "T", "?priority=low") == low
    # The dashboard lists the same students in the same order.
    assert at_risk(client, keys, uid, "T", "tT") == [row[:4] for row in high + medium + low]

    response = client.get(f"/api/v1/classes/{uid}-T/risk?priority=urgent", headers=auth(keys["reader"]))
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"priority": ["Must be one of: high, medium, low."]}


def test_a_grade_in_another_class_moves_the_triage(client, keys, uid):
    # Class A: u1 and u2 assigned a1 (S1) and a2 (S2), all graded; u1 50 and 50, u2 90 and 90.
    first = post_all(client, keys, [
        ev(uid, "as-u1-a1", "assigned", "u1", "A", "a1", ["S1"], "08:00:00", teacher="tA"),
        ev(uid, "as-u1-a2", "assigned", "u1", "A", "a2", ["S2"], "08:01:00"),
        ev(uid, "as-u2-a1", "assigned", "u2", "A", "a1", ["S1"], "08:02:00"),
        ev(uid, "as-u2-a2", "assigned", "u2", "A", "a2", ["S2"], "08:03:00"),
        ev(uid, "g-u1-a1", "graded", "u1", "A", "a1", ["S1"], "09:00:00", 50),
        ev(uid, "g-u1-a2", "graded", "u1", "A", "a2", ["S2"], "10:00:00", 50),
        ev(uid, "g-u2-a1", "graded", "u2", "A", "a1", ["S1"], "09:00:00", 90),
        ev(uid, "g-u2-a2", "graded", "u2", "A", "a2", ["S2"], "10:00:00", 90),
    ])
    wait_finished(client, keys["reader"], first)
    # u1: nothing missing, 50 → 50 is no drop, rate 1 = median. Mastery S1 0.5, S2 0.5 → mean 0.5 < 0.6:
    # low_mastery; k (0.7 − 0.5)/0.7 = 2/7 → 25 × 2/7 = 7.14 → 7, low. u2: mean 0.9, nothing.
    assert triage(client, keys, uid, "A") == [
        ("u1", ["low_mastery"], 7, "low", ["mean mastery 50 % over 2 standards"])]
    assert at_risk(client, keys, uid, "A", "tA") == [("u1", ["low_mastery"], 7, "low")]

    # u1 is graded 100 on S1 in class B (11:00, later): S1's mastery becomes 1.0 everywhere.
    # In A: mean (1.0 + 0.5)/2 = 0.75 → no reason, k 0: u1 leaves A's list though nothing happened in A.
    wait_finished(client, keys["reader"], post_all(client, keys, [
        ev(uid, "g-u1-b1", "graded", "u1", "B", "b1", ["S1"], "11:00:00", 100, teacher="tB")]))
    assert triage(client, keys, uid, "A") == []
    assert at_risk(client, keys, uid, "A", "tA") == []
    # In B u1 has one standard (S1 1.0), one grade, nothing assigned: no reason.
    assert triage(client, keys, uid, "B") == []

    # Then 10 on S2 in B (12:00): S2 → 0.1. A: mean (1.0 + 0.1)/2 = 0.55 < 0.6; k 0.15/0.7 = 3/14 → 5.36 → 5.
    # B: u1 graded on S1 and S2 there too → the same mean; 100 → 10 is a drop of 90 → t 1 → 20; 25.36 → 25.
    wait_finished(client, keys["reader"], post_all(client, keys, [
        ev(uid, "g-u1-b2", "graded", "u1", "B", "b2", ["S2"], "12:00:00", 10)]))
    assert triage(client, keys, uid, "A") == [
        ("u1", ["low_mastery"], 5, "low", ["mean mastery 55 % over 2 standards"])]
    assert triage(client, keys, uid, "B") == [
        ("u1", ["score_trend_down", "low_mastery"], 25, "medium",
         ["last grade 10 after 100 (−90)", "mean mastery 55 % over 2 standards"])]
    risk_a = get(client, keys["reader"], f"/api/v1/classes/{uid}-A/risk")["students"][0]["details"]
    assert (risk_a["mean_mastery"], risk_a["mastery_standards"]) == (0.55, 2)

    # A rebuild recomputes every class from the event log: the same triage.
    from tutormax.tasks.learning import rebuild_learning

    before = [triage(client, keys, uid, c) for c in ("A", "B")]
    rebuild_learning()
    assert [triage(client, keys, uid, c) for c in ("A", "B")] == before


def test_risk_and_trend_of_another_teachers_class_are_404(client, keys, uid):
    from tutormax.web.auth import create_api_key

    wait_finished(client, keys["reader"], post_all(client, keys, [
        ev(uid, "g1", "graded", "u1", "A", "a1", ["S1"], "09:00:00", 40, teacher="tA")]))
    mine, other = (create_api_key(f"teacher-{t}", ["read"], teacher_id=f"{uid}-{t}") for t in ("tA", "tX"))
    # Not yours and unknown get the same answer.
    for path, message in ((f"/api/v1/classes/{uid}-A/risk", f"No class {uid}-A."),
                          (f"/api/v1/classes/{uid}-A/trend", f"No class {uid}-A."),
                          (f"/api/v1/classes/{uid}-A/students/{uid}-u1/trend",
                           f"No events of student {uid}-u1 in class {uid}-A.")):
        assert client.get(path, headers=auth(mine)).status_code == 200, path
        for key, path_asked in ((other, path), (keys["reader"], path.replace(f"{uid}-A", f"{uid}-nope"))):
            response = client.get(path_asked, headers=auth(key))
            assert response.status_code == 404, path_asked
            assert response.get_json()["message"] == message.replace(f"{uid}-A", path_asked.split("/")[4])
