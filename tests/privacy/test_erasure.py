"""SPEC §4 "Privacy": erasure over the real stack (web, workers, PostgreSQL, Redis).

The views after erasing a student are compared with a twin world: the same log posted
under other ids without that student's events, their shared sessions carrying the pseudonym.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from click.testing import CliRunner
from sqlalchemy import String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from tests.factories import (
    catalog,
    checkout,
    feedback_event,
    learning_event_on_day,
    session_event,
    tutor_event,
)
from tests.helpers import auth, metric, post_all, post_event, wait_finished, wait_for

UTC = timezone.utc
START = (datetime.now(UTC) - timedelta(days=2)).replace(microsecond=0)
VOLATILE = {"computed_at", "updated_at", "last_event_id", "id", "event_pk", "version", "derived_at",
            "is_active_today", "event_id"}


def world(p: str, with_x: bool, alias: str | None = None) -> list[list[dict]]:
    """The log of one world, in waves (a session needs its tutor, a feedback its session)."""
    x = "xavier"

    def le(n, kind, student, cls, assignment, std, time, score=None, teacher=None):
        return learning_event_on_day(p, n, kind, student, cls, assignment, [std], time, score, teacher)

    learning = [
        le("1", "assigned", "yves", "c1", "a1", "s1", "08:00:00", teacher="t"),
        le("3", "graded", "yves", "c1", "a1", "s1", "09:00:00", score=60),
        le("4", "assigned", "yves", "c1", "a2", "s2", "08:00:00"),
        le("6", "graded", "yves", "c1", "a2", "s2", "10:00:00", score=50),
        le("8", "assigned", "zoe", "c2", "b1", "s1", "08:00:00", teacher="t"),
        le("10", "graded", "zoe", "c2", "b1", "s1", "09:30:00", score=40),
    ]
    x_learning = [
        le("2", "assigned", x, "c1", "a1", "s1", "08:00:00", teacher="t"),
        le("5", "graded", x, "c1", "a1", "s1", "09:00:00", score=90),
        le("7", "assigned", x, "c1", "a3", "s3", "08:00:00"),
        le("9", "assigned", x, "c2", "b1", "s1", "08:00:00"),
        le("11", "graded", x, "c2", "b1", "s1", "09:00:00", score=70),
        le("12", "assigned", x, "c2", "b2", "s2", "08:00:00", teacher="t2"),
        le("13", "assigned", x, "c3", "d1", "s1", "08:00:00", teacher="t"),
    ]
    reading = [catalog(p, 1, f"{p}-book", "2026-08-01T00:00:00Z", reading_level=3),
               checkout(p, "r1", student=f"{p}-yves", book=f"{p}-book")]
    x_reading = [checkout(p, "r2", student=f"{p}-{x}", book=f"{p}-book"),
                 checkout(p, "r3", student=f"{p}-{x}", book=f"{p}-book", timestamp="2026-09-02T08:00:00Z")]
    tutor = f"{p}-T"
    x_id = f"{p}-{x}" if with_x else alias
    sessions = [session_event(p, f"{p}-s1", tutor, START, student_id=x_id, session_number=1),
                session_event(p, f"{p}-s2", tutor, START + timedelta(hours=3), student_id=f"{p}-yves")]
    text_x = {"free_text_feedback": "Xavier found it wonderful"} if with_x else {}
    feedback = [feedback_event(p, f"{p}-s1", tutor, 5, START + timedelta(hours=2), student_id=x_id, **text_x),
                feedback_event(p, f"{p}-s2", tutor, 3, START + timedelta(hours=5), student_id=f"{p}-yves",
                               free_text_feedback="ok")]
    first = learning + reading + [tutor_event(p, tutor, START - timedelta(days=1))]
    if with_x:
        first += x_learning + x_reading
    return [first, sessions, feedback]


def post_world(client, keys, waves: list[list[dict]]) -> list[int]:
    pks = []
    for wave in waves:
        ids = post_all(client, keys, wave)
        wait_finished(client, keys["reader"], ids)
        pks += ids
    return pks


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def views(client, keys, p: str) -> str:
    """Every view the twin worlds share, as JSON text with the world's prefix replaced."""
    reader = auth(keys["reader"])
    paths = [
        f"/api/v1/teachers/{p}-t/classes/{p}-c1/dashboard", f"/api/v1/teachers/{p}-t/classes/{p}-c2/dashboard",
        f"/api/v1/teachers/{p}-t2/classes/{p}-c2/dashboard", f"/api/v1/teachers/{p}-t/classes/{p}-c3/dashboard",
        f"/api/v1/classes/{p}-c1/risk", f"/api/v1/classes/{p}-c2/risk", f"/api/v1/classes/{p}-c1/trend",
        f"/api/v1/students/{p}-yves/mastery", f"/api/v1/students/{p}-zoe/mastery",
        f"/api/v1/students/{p}-yves/reading-profile", f"/api/v1/tutors/{p}-T", f"/api/v1/tutors/{p}-T/metrics",
        f"/api/v1/tutors/{p}-T/sessions",
    ]
    answers = {}
    for path in paths:
        response = client.get(path, headers=reader)
        answers[path.replace(p, "P")] = (response.status_code, _strip(response.get_json()))
    return json.dumps(answers, sort_keys=True).replace(p, "P")


def rows_naming(needle: str) -> list[str]:
    """Every (table.column) of PostgreSQL whose text holds `needle`."""
    import tutormax.models  # noqa: F401
    from tutormax.db import Base, session_scope

    found = []
    with session_scope() as session:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if isinstance(column.type, String | Text | JSONB | ARRAY):
                    n = session.scalar(text(f'SELECT count(*) FROM {table.name} WHERE CAST("{column.name}" AS text) '
                                            "LIKE :pattern"), {"pattern": f"%{needle}%"})
                    if n:
                        found.append(f"{table.name}.{column.name}")
    return found


def redis_naming(needle: str) -> list[str]:
    """Every Redis key whose name or content holds `needle`."""
    from tutormax.redis_client import get_redis

    client = get_redis()
    found = []
    for key in client.scan_iter(count=1000):
        name = key.decode() if isinstance(key, bytes) else key
        kind = client.type(key)
        kind = kind.decode() if isinstance(kind, bytes) else kind
        if kind == "string":
            content = [client.get(key)]
        elif kind == "hash":
            content = list(client.hgetall(key).items())
        elif kind == "list":
            content = client.lrange(key, 0, -1)
        elif kind == "set":
            content = list(client.smembers(key))
        elif kind == "zset":
            content = client.zrange(key, 0, -1)
        elif kind == "stream":
            content = client.xrange(key)
        else:
            content = []
        if needle in name or needle.encode() in repr(content).encode() or needle in repr(content):
            found.append(name)
    return found


def erase(client, keys, kind: str, subject_id: str) -> dict:
    response = client.delete(f"/api/v1/admin/subjects/{kind}/{subject_id}", headers=auth(keys["admin"]))
    assert response.status_code == 202, response.get_json()
    erasure_id = response.get_json()["erasure_id"]

    def done():
        body = client.get(f"/api/v1/admin/erasures/{erasure_id}", headers=auth(keys["admin"])).get_json()
        return body if body["status"] == "done" else None

    return wait_for(done, timeout=60, what="erasure done")


def rebuild_all() -> None:
    from tutormax.config import DOMAINS
    from tutormax.registry import rebuilder_for

    for domain in DOMAINS:
        fn = rebuilder_for(domain)
        if fn is not None:
            fn()


def test_erasing_a_student_leaves_what_a_log_without_them_gives(client, keys, uid):
    from tutormax.privacy import pseudonym

    twin = f"{uid}w"
    student = f"{uid}-xavier"
    alias = pseudonym("student", student)
    # A feedback about a session that never comes: dead-lettered (unknown_session) while the rest runs.
    ghost = post_event(client, keys["writer"], feedback_event(uid, f"{uid}-ghost", f"{uid}-T", 4, START,
                                                              student_id=student)).get_json()["id"]
    post_world(client, keys, world(uid, with_x=True))
    post_world(client, keys, world(twin, with_x=False, alias=alias))
    wait_finished(client, keys["reader"], [ghost], status="dead_lettered")
    letters = client.get("/api/v1/admin/dead-letters?limit=1000", headers=auth(keys["admin"])).get_json()
    letter_id = next(dl["id"] for dl in letters["dead_letters"] if dl["event_pk"] == ghost)

    exported = client.get(f"/api/v1/admin/subjects/student/{student}/export", headers=auth(keys["admin"])).get_json()
    assert len(exported["events"]) == 7 + 2 + 2 + 1  # learning, checkouts, session and feedback, the ghost
    assert [dl["event_pk"] for dl in exported["dead_letters"]] == [ghost]
    assert len(exported["profile_stream"]) >= 1

    done = erase(client, keys, "student", student)
    counts = done["counts"]
    assert counts["events_deleted"] == 7 + 2 + 1 and counts["events_pseudonymized"] == 2
    assert counts["dead_letters_deleted"] == 1 and counts["view_rows_pseudonymized"] == 2
    assert counts["classes_recomputed"] == 3 and counts["redis_entries_deleted"] >= 1
    assert done["requested_by"] == "test-admin"

    assert rows_naming(student) == []
    assert redis_naming(student) == []
    assert rows_naming("Xavier found it") == []
    expected = wait_for(lambda: views(client, keys, twin) if '"total_sessions_scheduled": 2' in views(
        client, keys, twin) else None, what="the twin's tutor metrics")
    assert wait_for(lambda: views(client, keys, uid) == expected or None, timeout=15,
                    what="views equal to the twin's") is True

    rebuild_all()
    assert views(client, keys, uid) == expected
    assert rows_naming(student) == []

    # Late, duplicate and replayed events about them change nothing.
    dropped = metric(client, "tutormax_events_dropped_erased_total")
    late = learning_event_on_day(uid, "late", "graded", "xavier", "c1", "a2", ["s2"], "11:00:00", score=10)
    again = learning_event_on_day(uid, "5", "graded", "xavier", "c1", "a1", ["s1"], "09:00:00", score=90)
    for body in (late, again):
        response = post_event(client, keys["writer"], body)
        assert response.status_code == 202 and response.get_json()["id"] is None
    assert metric(client, "tutormax_events_dropped_erased_total") == dropped + 2
    replay = client.post(f"/api/v1/admin/dead-letters/{letter_id}/replay", headers=auth(keys["admin"]))
    assert replay.status_code == 404
    assert views(client, keys, uid) == expected
    assert rows_naming(student) == []
    assert client.get(f"/api/v1/admin/subjects/student/{student}/export",
                      headers=auth(keys["admin"])).status_code == 404


def test_erasing_a_tutor_keeps_their_sessions_pseudonymized(client, keys, uid):
    from tutormax.privacy import pseudonym

    post_world(client, keys, world(uid, with_x=True))
    tutor = f"{uid}-T"
    wait_for(lambda: client.get(f"/api/v1/tutors/{tutor}/metrics", headers=auth(keys["reader"])).status_code == 200,
             what="tutor metrics")
    done = erase(client, keys, "tutor", tutor)
    assert done["counts"]["events_deleted"] == 1 and done["counts"]["events_pseudonymized"] == 4
    reader = auth(keys["reader"])
    assert client.get(f"/api/v1/tutors/{tutor}", headers=reader).status_code == 404
    assert client.get(f"/api/v1/tutors/{tutor}/metrics", headers=reader).status_code == 404
    assert rows_naming(tutor) == []
    # A debounced recompute already scheduled for the tutor is a broker message naming them until
    # it runs (within the debounce delay) and finds its lock gone.
    wait_for(lambda: redis_naming(tutor) == [], timeout=20, what="no Redis key naming the tutor")
    # The students keep their history, with the tutor pseudonymized.
    yves = client.get(f"/api/v1/admin/subjects/student/{uid}-yves/export", headers=auth(keys["admin"])).get_json()
    assert [s["tutor_id"] for s in yves["views"]["tutoring_sessions"]] == [pseudonym("tutor", tutor)]
    rebuild_all()
    assert rows_naming(tutor) == []
    assert client.get(f"/api/v1/tutors/{tutor}/metrics", headers=reader).status_code == 404

    # Twice, and an unknown person: done with zero counts.
    for subject in (tutor, f"{uid}-nobody"):
        counts = erase(client, keys, "tutor", subject)["counts"]
        assert counts.pop("passes") == 2 and counts.pop("first_pass_ms") >= 0
        assert not any(counts.values())


def test_erasure_cli_and_bad_input(client, keys, uid):
    from tutormax.cli import main

    post_world(client, keys, world(uid, with_x=True))
    refused = CliRunner().invoke(main, ["privacy", "erase", "--student", f"{uid}-yves"], input="n\n")
    assert refused.exit_code != 0 and "erasure" not in refused.output
    result = CliRunner().invoke(main, ["privacy", "erase", "--student", f"{uid}-yves", "--yes"])
    assert result.exit_code == 0, result.output
    assert "done" in result.output and "events_deleted: 5" in result.output
    assert rows_naming(f"{uid}-yves") == []

    admin, reader = auth(keys["admin"]), auth(keys["reader"])
    assert client.delete(f"/api/v1/admin/subjects/student/{uid}-zoe", headers=reader).status_code == 403
    assert client.delete(f"/api/v1/admin/subjects/teacher/{uid}-t", headers=admin).status_code == 404
    assert client.get("/api/v1/admin/erasures/987654321", headers=admin).status_code == 404
    assert client.get("/api/v1/admin/erasures/99999999999999999999", headers=admin).status_code == 404
    assert client.get("/api/v1/admin/erasures/1", headers=reader).status_code == 403


def test_a_later_pass_removes_what_a_stale_pipeline_stage_wrote_after_the_first(client, keys, uid):
    """What the verification pass is for: a stage that loaded the student's event before the first
    pass and wrote its facts after it (here written by hand) is undone by the next pass."""
    from tutormax.db import session_scope
    from tutormax.tasks.learning import persist_facts, recompute_classes
    from tutormax.tasks.privacy import erase as erase_pass

    post_world(client, keys, world(uid, with_x=True))
    student = f"{uid}-xavier"
    with session_scope() as session:
        stale = session.execute(text("SELECT id, type, timestamp, payload FROM events "
                                     "WHERE payload ->> 'student_id' = :s AND type = 'SUBMISSION_GRADED'"),
                                {"s": student}).all()
    with session_scope() as session:
        assert erase_pass(session, "student", student)["events_deleted"] == 9
    after_first = views(client, keys, uid)
    with session_scope() as session:
        persist_facts(session, stale)
        recompute_classes(session, [f"{uid}-c1", f"{uid}-c2"])
    assert rows_naming(student) != []
    with session_scope() as session:
        found = erase_pass(session, "student", student)
    assert found["view_rows_deleted"] > 0 and found["events_deleted"] == 0
    assert rows_naming(student) == []
    assert views(client, keys, uid) == after_first
