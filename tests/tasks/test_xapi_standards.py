"""Standards of statements' grades (SPEC §3.5) through the real pipeline: from the statement, else from the
class's assignment (also when the assignment's standards arrive after its grades), else none (rollups and
risk only); a rebuild gives the same views."""

from __future__ import annotations

import base64

from sqlalchemy import select

from tests.helpers import auth, get_json, post_all, wait_finished
from tests.xapi_statements import LMS_COURSE, OBJECTIVE
from tutormax.db import session_scope
from tutormax.models.events import Event

V = {"X-Experience-API-Version": "1.0.3"}


def statement(uid: str, student: str, assignment: str, raw: float, time: str, standards: tuple[str, ...] = (),
              statement_id: str | None = None) -> dict:
    """A grade out of 20 in class `urn:<uid>:c` (ids without `/`, so they are plain path segments)."""
    body = {
        "actor": {"name": "Pat", "account": {"homePage": "https://lms.example", "name": f"{uid}-{student}"}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/scored"},
        "object": {"id": f"urn:{uid}:{assignment}"},
        "result": {"score": {"raw": raw, "min": 0, "max": 20}},
        "context": {"instructor": {"account": {"homePage": "https://lms.example", "name": f"{uid}-t"}},
                    "contextActivities": {
                        "grouping": {"id": f"urn:{uid}:c", "definition": {"type": LMS_COURSE}},
                        "category": [{"id": s, "definition": {"type": OBJECTIVE}} for s in standards]}},
        "timestamp": f"2026-09-01T{time}Z",
    }
    if statement_id:
        body["id"] = statement_id
    return body


def assigned(uid: str, n: str, student: str, assignment: str, standards: list[str]) -> dict:
    return {"event_id": f"{uid}-{n}", "source": "lms", "type": "ASSIGNMENT_ASSIGNED",
            "timestamp": "2026-09-01T08:00:00Z", "student_id": f"{uid}-{student}", "class_id": f"urn:{uid}:c",
            "assignment_id": f"urn:{uid}:{assignment}", "standard_ids": standards, "teacher_id": f"{uid}-t"}


def send_statements(client, keys, statements: list[dict]) -> list[int]:
    basic = base64.b64encode(f"lms:{keys['writer']}".encode()).decode()
    response = client.post("/xapi/statements", json=statements, headers={"Authorization": f"Basic {basic}", **V})
    assert response.status_code == 200, response.get_json()
    with session_scope() as session:
        pks = list(session.scalars(select(Event.id).where(Event.source == "xapi",
                                                          Event.event_id.in_(response.get_json()))))
    wait_finished(client, keys["reader"], pks)
    return pks


def send_native(client, keys, events: list[dict]) -> None:
    wait_finished(client, keys["reader"], post_all(client, keys, events))


def views(client, keys, uid: str) -> tuple:
    reader = keys["reader"]
    mastery = client.get(f"/api/v1/students/{uid}-s1/mastery", headers=auth(reader))
    return (get_json(client, reader, f"/api/v1/teachers/{uid}-t/classes/urn:{uid}:c/dashboard"),
            mastery.get_json() if mastery.status_code == 200 else None,
            get_json(client, reader, f"/api/v1/classes/urn:{uid}:c/risk"))


def mastery_rows(view: tuple) -> list[tuple]:
    return [(m["standard_id"], m["mastery_score"], m["attempts"]) for m in (view[1] or {"mastery": []})["mastery"]]


def test_standards_from_the_statement_else_the_assignment_else_none(client, keys, uid):
    from tutormax.tasks.learning import rebuild_learning

    send_native(client, keys, [assigned(uid, "as1", "s1", "a1", ["S1", "S2"]),
                               assigned(uid, "as2", "s1", "a2", ["S3"])])
    send_statements(client, keys, [
        statement(uid, "s1", "a1", 16, "09:00:00"),                    # → S1, S2 (the assignment's)
        statement(uid, "s1", "a2", 10, "09:30:00", standards=("urn:S9",)),  # → its own
        statement(uid, "s1", "a3", 5, "10:00:00"),                     # no standard anywhere
    ])
    before = views(client, keys, uid)
    assert mastery_rows(before) == [("S1", 0.8, 1), ("S2", 0.8, 1), ("urn:S9", 0.5, 1)]
    dashboard = before[0]
    # The standardless grade of a3 still counts in the rollup: mean of 80, 50, 25.
    assert (dashboard["assignment_count"], dashboard["average_score"]) == (3, 155 / 3)
    assert dashboard["completion_rate"] == 1.0
    assert sorted(m["standard_id"] for m in dashboard["mastery_by_standard"]) == ["S1", "S2", "urn:S9"]
    rebuild_learning()
    assert views(client, keys, uid) == before


def test_mastery_catches_up_when_the_assignments_standards_arrive_after_its_grades(client, keys, uid):
    from tutormax.tasks.learning import rebuild_learning

    send_statements(client, keys, [statement(uid, "s1", "a1", 12, "09:00:00"),
                                   statement(uid, "s1", "a1", 18, "11:00:00")])
    early = views(client, keys, uid)
    assert mastery_rows(early) == []  # graded, but on no standard yet
    assert early[0]["average_score"] == 90.0 and early[0]["mastery_by_standard"] == []

    send_native(client, keys, [assigned(uid, "as1", "s1", "a1", ["S1"])])
    caught_up = views(client, keys, uid)
    assert mastery_rows(caught_up) == [("S1", 0.9, 2)]
    assert [(m["standard_id"], m["students"]) for m in caught_up[0]["mastery_by_standard"]] == [("S1", 1)]
    # A second student's assignment adds a standard: the first student's grades take it too, once.
    send_native(client, keys, [assigned(uid, "as2", "s2", "a1", ["S1", "S2"]),
                               assigned(uid, "as1b", "s1", "a1", ["S1"])])
    later = views(client, keys, uid)
    assert mastery_rows(later) == [("S1", 0.9, 2), ("S2", 0.9, 2)]
    # A grade arriving after the standards takes them at once.
    send_statements(client, keys, [statement(uid, "s1", "a1", 4, "12:00:00")])
    final = views(client, keys, uid)
    assert mastery_rows(final) == [("S1", 0.2, 3), ("S2", 0.2, 3)]
    rebuild_learning()
    assert views(client, keys, uid) == final
