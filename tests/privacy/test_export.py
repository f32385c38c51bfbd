"""SPEC §4 "Privacy": export of everything about a student or tutor (real stack)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from click.testing import CliRunner

from tests.factories import checkout, feedback_event, learning_event_on_day, session_event, tutor_event
from tests.helpers import auth, post_all, wait_finished, wait_for

UTC = timezone.utc


def post_person(client, keys, uid: str) -> tuple[str, str, list[int]]:
    """A student in two classes, with a checkout and a session with feedback; returns (student, tutor, pks)."""
    student, tutor = f"{uid}-student", f"{uid}-tutor"
    start = datetime.now(UTC) - timedelta(days=2)
    bodies = [
        learning_event_on_day(uid, "a1", "assigned", "student", "c1", "a1", ["std"], "08:00:00", teacher="t"),
        learning_event_on_day(uid, "g1", "graded", "student", "c1", "a1", ["std"], "09:00:00", score=80),
        learning_event_on_day(uid, "a2", "assigned", "student", "c2", "a2", ["std"], "08:00:00"),
        checkout(uid, 1, student=student),
        tutor_event(uid, tutor),
    ]
    pks = post_all(client, keys, bodies)
    wait_finished(client, keys["reader"], pks)
    more = post_all(client, keys, [
        session_event(uid, f"{uid}-sess", tutor, start),
    ])
    wait_finished(client, keys["reader"], more)
    last = post_all(client, keys, [
        feedback_event(uid, f"{uid}-sess", tutor, 5, start + timedelta(hours=2), free_text_feedback="very kind"),
    ])
    wait_finished(client, keys["reader"], last)
    wait_for(lambda: client.get(f"/api/v1/tutors/{tutor}/metrics", headers=auth(keys["reader"])).status_code == 200
             and _has_metrics(tutor), what="tutor metrics")
    return student, tutor, pks + more + last


def _has_metrics(tutor: str) -> bool:
    from sqlalchemy import func, select

    from tutormax.db import session_scope
    from tutormax.models.tutoring import TutorMetrics

    with session_scope() as session:
        return session.scalar(select(func.count()).where(TutorMetrics.tutor_id == tutor)) > 0


def test_export_holds_every_fact_about_a_student(client, keys, uid):
    student, _tutor, pks = post_person(client, keys, uid)
    response = client.get(f"/api/v1/admin/subjects/student/{student}/export", headers=auth(keys["admin"]))
    assert response.status_code == 200
    document = response.get_json()
    assert document["kind"] == "student" and document["id"] == student
    types = sorted(e["type"] for e in document["events"])
    assert types == ["ASSIGNMENT_ASSIGNED", "ASSIGNMENT_ASSIGNED", "BOOK_CHECKED_OUT", "FEEDBACK_SUBMITTED",
                     "SESSION_COMPLETED", "SUBMISSION_GRADED"]
    views = document["views"]
    assert {row["class_id"] for row in views["learning_pairs"]} == {f"{uid}-c1", f"{uid}-c2"}
    assert views["learning_mastery"][0]["latest_score"] == 80
    assert len(views["reading_checkouts"]) == 1 and views["reading_profiles"][0]["total_checkouts"] == 1
    assert views["tutoring_feedback"][0]["free_text_feedback"] == "very kind"
    assert [e["fields"]["student_id"] for e in document["profile_stream"]] == [student]
    assert document["dead_letters"] == []


def test_export_of_a_tutor_and_by_the_cli(client, keys, uid):
    _student, tutor, _pks = post_person(client, keys, uid)
    body = client.get(f"/api/v1/admin/subjects/tutor/{tutor}/export", headers=auth(keys["admin"])).get_json()
    assert body["views"]["tutors"][0]["email"] == f"tutor-{uid}@example.com"
    assert {"tutoring_sessions", "tutoring_feedback", "tutor_metrics"} <= set(body["views"])
    assert sorted(e["type"] for e in body["events"]) == ["FEEDBACK_SUBMITTED", "SESSION_COMPLETED", "TUTOR_UPSERTED"]

    from tutormax.cli import main

    result = CliRunner().invoke(main, ["privacy", "export", "--tutor", tutor])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["views"]["tutors"][0]["tutor_id"] == tutor


def test_export_refuses_unknown_people_kinds_and_keys(client, keys, uid):
    admin = auth(keys["admin"])
    assert client.get(f"/api/v1/admin/subjects/student/{uid}-nobody/export", headers=admin).status_code == 404
    assert client.get(f"/api/v1/admin/subjects/teacher/{uid}/export", headers=admin).status_code == 404
    assert client.get(f"/api/v1/admin/subjects/student/{uid}/export", headers=auth(keys["reader"])).status_code == 403
    assert client.get(f"/api/v1/admin/subjects/student/{uid}/export").status_code == 401
