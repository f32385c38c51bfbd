"""Bad input, unknown classes and students, and teacher-key isolation for the learning API."""

from __future__ import annotations

import pytest

from tests.factories import learning_event_on_day as ev
from tests.helpers import auth, post_all, post_event, wait_finished
from tests.helpers import get_json as get


def graded_body(uid: str, **changes) -> dict:
    body = ev(uid, "bad", "graded", "u1", "A", "a1", ["S1"], "09:00:00", 80)
    body.update(changes)
    return body


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"score": 100.5}, "score", id="grade-over-100"),
        pytest.param({"score": -1}, "score", id="grade-below-0"),
        pytest.param({"score": "90"}, "score", id="grade-as-string"),
        pytest.param({"standard_ids": []}, "standard_ids", id="empty-standard-ids"),
        pytest.param({"timestamp": "2026-09-01T09:00:00"}, "timestamp", id="timestamp-without-offset"),
        pytest.param({"class_id": ""}, "class_id", id="empty-class-id"),
        pytest.param({"teacher_id": 7}, "teacher_id", id="teacher-id-not-a-string"),
    ],
)
def test_bad_learning_event_gets_422_with_the_field(client, keys, uid, changes, field):
    response = post_event(client, keys["writer"], graded_body(uid, **changes))
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]


def test_event_without_type_and_score_or_standards_gets_422(client, keys, uid):
    # No `type`, no `score`, no `standard_ids` → no inference possible (SPEC §2).
    body = graded_body(uid)
    for name in ("type", "score", "standard_ids"):
        body.pop(name)
    response = post_event(client, keys["writer"], body)
    assert response.status_code == 422
    assert "type" in response.get_json()["errors"]


def test_type_inferred_from_score(client, keys, uid):
    # A body with `score` and no `type` is SUBMISSION_GRADED and reaches the mastery view.
    body = graded_body(uid)
    body.pop("type")
    response = post_event(client, keys["writer"], body)
    assert response.status_code == 202 and response.get_json()["type"] == "SUBMISSION_GRADED"
    wait_finished(client, keys["reader"], [response.get_json()["id"]])
    mastery = get(client, keys["reader"], f"/api/v1/students/{uid}-u1/mastery")["mastery"]
    assert [(m["standard_id"], m["mastery_score"], m["attempts"]) for m in mastery] == [(f"{uid}-S1", 0.8, 1)]


@pytest.mark.parametrize("limit", ["0", "501", "-3", "many"])
def test_timeline_limit_out_of_range_gets_422(client, keys, uid, limit):
    response = client.get(f"/api/v1/classes/{uid}-A/students/{uid}-u1/timeline?limit={limit}",
                          headers=auth(keys["reader"]))
    assert response.status_code == 422, response.get_json()
    assert "limit" in response.get_json()["errors"]


@pytest.fixture()
def two_classes(client, keys, uid) -> str:
    """Class A (teacher tA: u1 graded, u2 assigned) and class B (teacher tB: v1 graded)."""
    bodies = [
        ev(uid, "a1", "assigned", "u1", "A", "a1", ["S1"], "08:00:00", teacher="tA"),
        ev(uid, "a2", "graded", "u1", "A", "a1", ["S1"], "09:00:00", 80),
        ev(uid, "a3", "assigned", "u2", "A", "a1", ["S1"], "08:01:00"),
        ev(uid, "b1", "graded", "v1", "B", "b1", ["S1"], "09:00:00", 60, teacher="tB"),
    ]
    wait_finished(client, keys["reader"], post_all(client, keys, bodies))
    return uid


def test_unknown_class_and_student_get_404(client, keys, two_classes):
    uid = two_classes
    reader = keys["reader"]
    get(client, reader, f"/api/v1/classes/{uid}-nope/risk", 404)
    get(client, reader, f"/api/v1/classes/{uid}-nope/students/{uid}-u1/timeline", 404)
    # Known class, but the student has no event in it.
    get(client, reader, f"/api/v1/classes/{uid}-A/students/{uid}-v1/timeline", 404)
    get(client, reader, f"/api/v1/classes/{uid}-A/students/{uid}-nobody/timeline", 404)
    get(client, reader, f"/api/v1/students/{uid}-nobody/mastery", 404)
    get(client, reader, f"/api/v1/teachers/{uid}-tA/classes/{uid}-nope/dashboard", 404)
    # The class exists but is linked to tA, not tB.
    get(client, reader, f"/api/v1/teachers/{uid}-tB/classes/{uid}-A/dashboard", 404)
    body = get(client, reader, f"/api/v1/teachers/{uid}-tA/classes/{uid}-A/dashboard", 200)
    assert body["student_count"] == 2
    # A known class with no flagged student: 200 with an empty list. u1 1/1, u2 0/1 → median 0.5:
    # u2 is below it and missing 1 ≥ min(3, 1), so u2 is flagged; u1 is not.
    risk = get(client, reader, f"/api/v1/classes/{uid}-A/risk")
    assert [s["student_id"] for s in risk["students"]] == [f"{uid}-u2"]
    assert get(client, reader, f"/api/v1/classes/{uid}-B/risk") == {"class_id": f"{uid}-B", "students": []}


def test_missing_or_wrong_key(client, keys, two_classes):
    uid = two_classes
    assert client.get(f"/api/v1/classes/{uid}-A/risk").status_code == 401
    assert client.get(f"/api/v1/classes/{uid}-A/risk", headers=auth(keys["writer"])).status_code == 403


def test_teacher_key_sees_only_its_classes_and_students(client, keys, two_classes):
    from tutormax.web.auth import create_api_key

    uid = two_classes
    teacher_a = create_api_key(f"{uid}-teacher-a", ["read"], teacher_id=f"{uid}-tA")
    # Its own class and students: 200.
    dash = get(client, teacher_a, f"/api/v1/teachers/{uid}-tA/classes/{uid}-A/dashboard")
    assert (dash["student_count"], dash["average_score"]) == (2, 80.0)
    get(client, teacher_a, f"/api/v1/classes/{uid}-A/risk")
    get(client, teacher_a, f"/api/v1/classes/{uid}-A/students/{uid}-u1/timeline")
    assert get(client, teacher_a, f"/api/v1/students/{uid}-u2/mastery")["mastery"] == []
    # Another teacher's dashboard, class, timeline and student: 404, as if they did not exist.
    get(client, teacher_a, f"/api/v1/teachers/{uid}-tB/classes/{uid}-B/dashboard", 404)
    get(client, teacher_a, f"/api/v1/teachers/{uid}-tA/classes/{uid}-B/dashboard", 404)
    get(client, teacher_a, f"/api/v1/classes/{uid}-B/risk", 404)
    get(client, teacher_a, f"/api/v1/classes/{uid}-B/students/{uid}-v1/timeline", 404)
    get(client, teacher_a, f"/api/v1/students/{uid}-v1/mastery", 404)
    # The unbound reader key sees class B.
    assert get(client, keys["reader"], f"/api/v1/students/{uid}-v1/mastery")["mastery"][0]["mastery_score"] == 0.6


def test_openapi_documents_the_learning_endpoints(client):
    spec = client.get("/openapi/openapi.json").get_json()
    for path in ("/api/v1/teachers/{teacher_id}/classes/{class_id}/dashboard",
                 "/api/v1/students/{student_id}/mastery",
                 "/api/v1/classes/{class_id}/students/{student_id}/timeline",
                 "/api/v1/classes/{class_id}/risk"):
        assert "get" in spec["paths"][path], path
    limit = [p for p in spec["paths"]["/api/v1/classes/{class_id}/students/{student_id}/timeline"]["get"]["parameters"]
             if p["name"] == "limit"]
    assert limit and limit[0]["schema"]["maximum"] == 500
