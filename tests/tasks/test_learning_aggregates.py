"""The per-student aggregates behind the class views: exact, idempotent, and read instead of the pairs."""

from __future__ import annotations

import re

from sqlalchemy import event as sa_event
from sqlalchemy import text

from tests.factories import learning_event_on_day as ev
from tests.helpers import get_json as get
from tests.helpers import post_all, rerun_handlers, wait_finished


def views(client, keys, uid: str) -> tuple[dict, dict]:
    reader = keys["reader"]
    return (get(client, reader, f"/api/v1/teachers/{uid}-tA/classes/{uid}-A/dashboard"),
            get(client, reader, f"/api/v1/classes/{uid}-A/risk"))


def stored_vs_pairs(uid: str) -> tuple[list, list]:
    """The class's stored aggregates, and the same aggregates computed afresh from its pairs."""
    from tutormax.db import session_scope

    with session_scope() as session:
        stored = session.execute(text("""
            SELECT s.student_id, s.assigned, s.graded_assigned, s.graded, s.score_sum, t.assignment_count
            FROM learning_class_students s JOIN learning_class_totals t USING (class_id)
            WHERE s.class_id = :c ORDER BY s.student_id"""), {"c": f"{uid}-A"}).all()
        fresh = session.execute(text("""
            SELECT student_id, count(*) FILTER (WHERE assigned),
                   count(*) FILTER (WHERE assigned AND grade_event_pk IS NOT NULL),
                   count(*) FILTER (WHERE grade_event_pk IS NOT NULL),
                   coalesce(sum(grade_value) FILTER (WHERE grade_event_pk IS NOT NULL), 0),
                   (SELECT count(DISTINCT assignment_id) FROM learning_pairs WHERE class_id = :c)
            FROM learning_pairs WHERE class_id = :c GROUP BY student_id ORDER BY student_id"""),
            {"c": f"{uid}-A"}).all()
    return [tuple(r) for r in stored], [tuple(r) for r in fresh]


def test_rollup_mean_is_the_mean_of_the_float_scores(client, keys, uid):
    ids = post_all(client, keys, [
        ev(uid, "g1", "graded", "u1", "A", "a1", ["S1"], "09:00:00", 0.1, teacher="tA"),
        ev(uid, "g2", "graded", "u1", "A", "a2", ["S1"], "10:00:00", 0.2),
    ])
    wait_finished(client, keys["reader"], ids)
    dash, _ = views(client, keys, uid)
    # As before the aggregates: fmean([0.1, 0.2]) = fsum 0.30000000000000004 / 2 = 0.15000000000000002
    # (an exact decimal mean would give 0.15). Nothing assigned → completion null.
    assert (dash["student_count"], dash["assignment_count"], dash["completion_rate"], dash["average_score"]) == (
        1, 2, None, 0.15000000000000002)


def test_aggregates_follow_late_regrades_and_redelivery(client, keys, uid):
    # First batch, arrival order scrambled: u2's grade arrives before its assignment, u1's
    # a2 regrade stamped 09:30 arrives after the 10:00 grade it must not replace.
    first = post_all(client, keys, [
        ev(uid, "g-u2-a1", "graded", "u2", "A", "a1", ["S1"], "11:00:00", 90),
        ev(uid, "as-u1-a1", "assigned", "u1", "A", "a1", ["S1"], "08:00:00", teacher="tA"),
        ev(uid, "as-u1-a2", "assigned", "u1", "A", "a2", ["S1"], "08:01:00"),
        ev(uid, "as-u1-a3", "assigned", "u1", "A", "a3", ["S1"], "08:02:00"),
        ev(uid, "g-u1-a2", "graded", "u1", "A", "a2", ["S1"], "10:00:00", 70),
        ev(uid, "g-u1-a1", "graded", "u1", "A", "a1", ["S1"], "09:00:00", 80),
        ev(uid, "as-u2-a1", "assigned", "u2", "A", "a1", ["S1"], "08:03:00"),
        ev(uid, "c-u3-a4", "created", "u3", "A", "a4", ["S1"], "08:04:00"),
    ])
    wait_finished(client, keys["reader"], first)
    late = post_all(client, keys, [ev(uid, "g-u1-a2-old", "graded", "u1", "A", "a2", ["S1"], "09:30:00", 60)])
    wait_finished(client, keys["reader"], late)

    dash, risk = views(client, keys, uid)
    # Students u1, u2, u3 (created only); assignments a1–a4. Assigned pairs 4 (u1 ×3, u2 ×1), graded
    # among them 3 → 0.75. Latest scores: u1/a1 80, u1/a2 70 (10:00 beats 09:30), u2/a1 90 → mean 80.
    assert (dash["student_count"], dash["assignment_count"], dash["completion_rate"], dash["average_score"]) == (
        3, 4, 0.75, 80.0)
    # u1: by grade time 80 (09:00), 70 (10:00) → trend down; rate 2/3 < median (2/3 + 1)/2; missing 1 < 3.
    # u2: rate 1, one grade. u3 has no assigned or graded pair.
    assert [(s["student_id"], s["reasons"]) for s in risk["students"]] == [
        (f"{uid}-u1", ["score_trend_down", "completion_below_median"])]
    # The median is exact: (2/3 + 1)/2 = 5/6, rounded once to a float. u1's one standard S1: latest 70 (10:00).
    assert risk["students"][0]["details"] == {
        "assigned": 3, "missing": 1, "missing_threshold": 3, "last_two_scores": [80.0, 70.0],
        "completion_rate": 2 / 3, "class_median_completion_rate": 5 / 6, "mean_mastery": 0.7,
        "mastery_standards": 1}

    # A regrade of u1/a1 at 10:30 to 95: order 70 (10:00), 95 (10:30) → no longer down;
    # mean (95 + 70 + 90)/3 = 85.
    regrade = post_all(client, keys, [ev(uid, "g-u1-a1-re", "graded", "u1", "A", "a1", ["S1"], "10:30:00", 95)])
    wait_finished(client, keys["reader"], regrade)
    dash, risk = views(client, keys, uid)
    assert (dash["completion_rate"], dash["average_score"]) == (0.75, 85.0)
    assert [(s["student_id"], s["reasons"], s["details"]["last_two_scores"]) for s in risk["students"]] == [
        (f"{uid}-u1", ["completion_below_median"], [70.0, 95.0])]

    # Redelivering everything, twice, adds nothing to the aggregates and changes no view.
    before = views(client, keys, uid)
    for _ in range(2):
        rerun_handlers(first + late + regrade)
    assert views(client, keys, uid) == before
    stored, fresh = stored_vs_pairs(uid)
    assert stored == fresh
    assert [row[:4] for row in stored] == [(f"{uid}-u1", 3, 2, 2), (f"{uid}-u2", 1, 1, 1), (f"{uid}-u3", 0, 0, 0)]


def test_recompute_reads_one_row_per_student_not_per_pair(client, keys, uid):
    from tutormax.db import get_engine, session_scope
    from tutormax.tasks import learning

    # 2 students × 30 assignments, all assigned: 60 pairs.
    ids = post_all(client, keys, [
        ev(uid, f"as-{s}-{a}", "assigned", s, "A", f"a{a}", ["S1"], f"08:{a:02d}:00", teacher="tA")
        for s in ("u1", "u2") for a in range(30)])
    wait_finished(client, keys["reader"], ids)

    rows: list[int] = []

    def count(conn, cursor, statement, *args):
        if re.match(r"\s*SELECT\b", statement, re.I) and "pg_advisory" not in statement:
            rows.append(cursor.rowcount)

    engine = get_engine()
    sa_event.listen(engine, "after_cursor_execute", count)
    try:
        with session_scope() as session:
            learning.recompute_classes(session, [f"{uid}-A"])
    finally:
        sa_event.remove(engine, "after_cursor_execute", count)
    # One read, two rows (one per student), where the pair-based recompute read all 60 pairs.
    assert rows == [2]
    dash, _ = views(client, keys, uid)
    assert (dash["student_count"], dash["assignment_count"], dash["completion_rate"]) == (2, 30, 0.0)


def test_concurrent_chains_on_the_same_pairs_keep_the_aggregates_exact(client, keys, uid):
    from tests.helpers import post_event

    # Per student k of u0–u2: a1 assigned, a2 assigned, a1 graded 50+k (09:00) and regraded 60+k (09:30),
    # a2 graded 70+k (10:00) and an older grade 10 (09:45) that must not replace it. Every event its own
    # POST and chain, in a fixed scrambled order, so persists of the same pairs race on the workers.
    bodies = []
    for k in range(3):
        bodies += [
            ev(uid, f"as1-{k}", "assigned", f"u{k}", "A", "a1", ["S1"], f"08:0{k}:00", teacher="tA"),
            ev(uid, f"as2-{k}", "assigned", f"u{k}", "A", "a2", ["S1"], f"08:1{k}:00"),
            ev(uid, f"g1-{k}", "graded", f"u{k}", "A", "a1", ["S1"], "09:00:00", 50 + k),
            ev(uid, f"g1r-{k}", "graded", f"u{k}", "A", "a1", ["S1"], "09:30:00", 60 + k),
            ev(uid, f"g2-{k}", "graded", f"u{k}", "A", "a2", ["S1"], "10:00:00", 70 + k),
            ev(uid, f"g2old-{k}", "graded", f"u{k}", "A", "a2", ["S1"], "09:45:00", 10),
        ]
    ids = []
    for body in bodies[3::4] + bodies[1::4] + bodies[::4][::-1] + bodies[2::4]:
        response = post_event(client, keys["writer"], body)
        assert response.status_code == 202
        ids.append(response.get_json()["id"])
    assert len(set(ids)) == len(bodies)
    wait_finished(client, keys["reader"], ids)

    dash, risk = views(client, keys, uid)
    # All 6 assigned pairs graded → 1.0; latest scores 60, 61, 62 (a1) and 70, 71, 72 (a2) → 396/6 = 66;
    # each student's trend goes up (60+k at 09:30, then 70+k at 10:00), so nobody is at risk.
    assert (dash["student_count"], dash["assignment_count"], dash["completion_rate"], dash["average_score"]) == (
        3, 2, 1.0, 66.0)
    assert risk["students"] == []
    stored, fresh = stored_vs_pairs(uid)
    assert stored == fresh
    assert [row[1:4] for row in stored] == [(2, 2, 2)] * 3


def test_chains_racing_on_the_same_new_pairs_add_once(client, keys, uid):
    import threading
    from datetime import datetime, timezone
    from types import SimpleNamespace

    from tutormax.db import session_scope
    from tutormax.tasks import learning

    # Four different chains persisted at the same instant, all creating the same new pairs: chain i
    # assigns u1/a1 and u2/a1 and grades u1/a1 (40 + i) and u1/a2 (80) at 09:0i. Fed straight to the
    # handlers (ids far above the test's real events) so the four persists really overlap. Each chain
    # names its own standard and only chain 0 a teacher: the chains share no other row that would make
    # one persist wait for another before the pairs.
    base = 10**15 + int(uid, 16) % 10**9 * 100
    nine = datetime(2026, 9, 1, 9, tzinfo=timezone.utc)

    def event(pk: int, kind: str, student: str, assignment: str, minute: int, score: float | None = None):
        payload = {"class_id": f"{uid}-A", "student_id": f"{uid}-{student}", "assignment_id": assignment,
                   "standard_ids": [f"{uid}-S{minute}"]}
        if minute == 0:
            payload["teacher_id"] = f"{uid}-tA"
        if score is not None:
            payload["score"] = score
        return SimpleNamespace(id=pk, type=kind, timestamp=nine.replace(minute=minute), payload=payload)

    chains = [[event(base + 10 * i, "ASSIGNMENT_ASSIGNED", "u1", "a1", i),
               event(base + 10 * i + 1, "SUBMISSION_GRADED", "u1", "a1", i, 40 + i),
               event(base + 10 * i + 2, "SUBMISSION_GRADED", "u1", "a2", i, 80),
               event(base + 10 * i + 3, "ASSIGNMENT_ASSIGNED", "u2", "a1", i)] for i in range(4)]
    barrier = threading.Barrier(len(chains))
    errors: list[BaseException] = []

    def deliver(chain):
        try:
            barrier.wait(timeout=10)
            with session_scope() as session:
                learning.persist_facts(session, chain)
            with session_scope() as session:
                learning.lock_classes(session, [f"{uid}-A"])
                learning.recompute_classes(session, [f"{uid}-A"])
        except BaseException as exc:  # reported below; a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=deliver, args=(chain,)) for chain in chains]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    stored, fresh = stored_vs_pairs(uid)
    assert stored == fresh
    # u1: a1 assigned and graded (latest 43 at 09:03), a2 graded 80 → (1, 1, 2, 123); u2: a1 assigned only.
    assert stored == [(f"{uid}-u1", 1, 1, 2, 123, 2), (f"{uid}-u2", 1, 0, 0, 0, 2)]
    dash, _ = views(client, keys, uid)
    # Completion 1 of 2 assigned pairs; mean of 43 and 80 = 61.5.
    assert (dash["student_count"], dash["assignment_count"], dash["completion_rate"], dash["average_score"]) == (
        2, 2, 0.5, 61.5)
