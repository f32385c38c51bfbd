"""Issue 10's hostile inputs, each with the exact 4xx a client sees, nothing stored, and a healthy API after.

Every case is sent as raw bytes (so NaN, duplicate keys, lone surrogates and deep nesting
reach the server as written). After each one the `events` row count is checked (a
batch stores exactly its valid items) and a valid event sent next must be processed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from sqlalchemy import text

from tests.factories import checkout
from tests.helpers import auth, wait_finished, wait_for

NOT_FOUND = {"code": 404, "status": "Not Found",
             "message": "The requested URL was not found on the server. If you entered the URL manually please "
                        "check your spelling and try again."}


def invalid_event(errors: dict) -> dict:
    return {"code": 422, "status": "Unprocessable Entity", "message": "The event is invalid.", "errors": errors}


def bad_json(reason: str) -> dict:
    return {"code": 400, "status": "Bad Request", "message": f"The request body is not valid JSON: {reason}."}


def bad_query(errors: dict) -> dict:
    return {"code": 422, "status": "Unprocessable Entity", "errors": errors,
            "message": "The request was well-formed but was unable to be followed due to semantic errors."}


OUT_OF_UTC_RANGE = ["Must lie between 0001-01-02T00:00:00Z and 9999-12-30T23:59:59Z once converted to UTC."]
NUL = ["Must not contain NUL characters (\\u0000)."]
SURROGATE = ["Must not contain unpaired UTF-16 surrogates (\\ud800–\\udfff)."]


def positive_int(maximum: int = 2**31 - 1) -> list[str]:
    return [f"Must be greater than or equal to 1 and less than or equal to {maximum}."]


# --- events, as JSON text: `{uid}` makes ids unique per test ---------------------------------

def graded(uid: str, timestamp: str = "2026-09-01T08:00:00Z") -> str:
    """A graded submission's JSON text, left open so a case appends its hostile fields and the `}`."""
    return ('{"event_id": "%s-g", "source": "lms", "type": "SUBMISSION_GRADED", "timestamp": "%s", '
            '"student_id": "s-%s", "class_id": "c-%s", "assignment_id": "a-1", "standard_ids": ["M.1"]'
            % (uid, timestamp, uid, uid))


def session(uid: str, **fields: object) -> str:
    body = {"event_id": f"{uid}-s", "source": "tutoring", "type": "SESSION_COMPLETED",
            "timestamp": "2026-09-01T08:00:00Z", "session_id": f"se-{uid}", "tutor_id": f"t-{uid}",
            "student_id": f"s-{uid}", "session_number": 1, "scheduled_start": "2026-09-01T08:00:00Z",
            "duration_minutes": 45, "subject": "math", **fields}
    return json.dumps(body)


def activity(uid: str, metadata_text: str) -> str:
    return ('{"event_id": "%s-act", "source": "tutoring", "type": "TUTOR_ACTIVITY",'
            ' "timestamp": "2026-09-01T08:00:00Z",'
            ' "tutor_id": "t-%s", "activity_type": "login", "metadata": %s}' % (uid, uid, metadata_text))


def batch_registered(uid: str, expected: int) -> str:
    return json.dumps({"event_id": f"{uid}-b", "source": "essays", "type": "BATCH_REGISTERED",
                       "timestamp": "2026-09-01T08:00:00Z", "batch_id": f"bt-{uid}", "user_id": f"u-{uid}",
                       "essay_ids": ["e1"], "expected_essay_count": expected})


def deep(levels: int) -> str:
    return '{"a": ' * levels + "1" + "}" * levels


@dataclass(frozen=True)
class EventCase:
    """A hostile event body and what a single POST answers; `per_item` is the batch item's errors
    (None when the parser refuses the whole body, so the batch gets the same answer as a single POST)."""

    id: str
    body: object  # a function uid -> JSON text
    status: int
    answer: dict
    per_item: dict | None = None


EVENT_CASES = [
    # 3. NUL or an unpaired surrogate in any string field.
    EventCase("nul-in-id", lambda u: graded(u) + ', "score": 80, "teacher_id": "t\\u0000x"}', 422,
              invalid_event({"teacher_id": NUL}), {"teacher_id": NUL}),
    EventCase("lone-surrogate", lambda u: graded(u) + ', "score": 80, "rubric_tags": ["\\udfff"]}', 422,
              invalid_event({"rubric_tags": {"0": SURROGATE}}), {"rubric_tags": {"0": SURROGATE}}),
    EventCase("nul-in-metadata-key", lambda u: activity(u, '{"x\\u0000": 1}'), 422,
              invalid_event({"metadata": NUL}), {"metadata": NUL}),
    # 4. Timestamps outside the datetime range once converted to UTC.
    EventCase("timestamp-after-9999", lambda u: graded(u, "9999-12-31T23:30:00-01:00") + ', "score": 80}', 422,
              invalid_event({"timestamp": OUT_OF_UTC_RANGE}), {"timestamp": OUT_OF_UTC_RANGE}),
    EventCase("timestamp-before-0001", lambda u: session(u, scheduled_start="0001-01-01T00:30:00+01:00"), 422,
              invalid_event({"scheduled_start": OUT_OF_UTC_RANGE}), {"scheduled_start": OUT_OF_UTC_RANGE}),
    # 5. Deep nesting: the parser refuses the body; moderate nesting in `metadata` is refused per field.
    EventCase("nested-10000-arrays", lambda u: "[" * 10000 + "]" * 10000, 400,
              bad_json("nested deeper than 32 levels")),
    EventCase("nested-10000-in-metadata", lambda u: activity(u, deep(10000)), 400,
              bad_json("nested deeper than 32 levels")),
    EventCase("nested-20-in-metadata", lambda u: activity(u, deep(20)), 422,
              invalid_event({"metadata": ["Must not nest deeper than 16 levels."]}),
              {"metadata": ["Must not nest deeper than 16 levels."]}),
    # 6. NaN and Infinity are not JSON.
    EventCase("nan-in-metadata", lambda u: activity(u, '{"response_time_minutes": NaN}'), 400,
              bad_json("NaN is not a JSON number")),
    EventCase("infinity-in-metadata", lambda u: activity(u, '{"x": -Infinity}'), 400,
              bad_json("-Infinity is not a JSON number")),
    # 7. A number too big for a double, written as a 400-digit integer (and as 1e400).
    EventCase("score-400-digits", lambda u: graded(u) + ', "score": 1' + "0" * 400 + "}", 400,
              bad_json("a number is too large for a double")),
    EventCase("score-1e400", lambda u: graded(u) + ', "score": 1e400}', 400,
              bad_json("a number is too large for a double")),
    # 8. Integers past their column's range are refused, not accepted and dead-lettered later.
    EventCase("session-number-2**70", lambda u: session(u, session_number=2**70), 422,
              invalid_event({"session_number": positive_int()}), {"session_number": positive_int()}),
    EventCase("duration-2**31", lambda u: session(u, duration_minutes=2**31), 422,
              invalid_event({"duration_minutes": positive_int()}), {"duration_minutes": positive_int()}),
    EventCase("expected-essay-count-2**70", lambda u: batch_registered(u, 2**70), 422,
              invalid_event({"expected_essay_count": positive_int()}), {"expected_essay_count": positive_int()}),
    # 9. Duplicate keys: two parsers could disagree on which one wins.
    EventCase("duplicate-key", lambda u: graded(u) + ', "score": 85, "score": 90}', 400,
              bad_json('duplicate key "score" in an object')),
]


def events_count() -> int:
    from tutormax.db import session_scope

    with session_scope() as db:
        return db.execute(text("SELECT count(*) FROM events")).scalar()


def post_raw(client, key: str, path: str, body: str):
    return client.post(path, data=body.encode(), headers={**auth(key), "Content-Type": "application/json"})


def assert_still_serving(client, keys, uid: str, also: list[int] = ()) -> None:
    """A valid event sent next is accepted and processed (with any valid batch items)."""
    response = client.post("/api/v1/events", json=checkout(uid, "next"), headers=auth(keys["writer"]))
    assert response.status_code == 202, response.get_json()
    wait_finished(client, keys["reader"], [response.get_json()["id"], *also])


@pytest.mark.parametrize("case", EVENT_CASES, ids=lambda c: c.id)
def test_hostile_event_is_refused_and_nothing_is_stored(client, keys, uid, case):
    before = events_count()
    response = post_raw(client, keys["writer"], "/api/v1/events", case.body(uid))
    assert (response.status_code, response.get_json()) == (case.status, case.answer)
    assert events_count() == before
    assert_still_serving(client, keys, uid)


@pytest.mark.parametrize("case", EVENT_CASES, ids=lambda c: c.id)
def test_hostile_item_in_a_batch(client, keys, uid, case):
    before = events_count()
    body = '{"events": [%s, %s]}' % (json.dumps(checkout(uid, "valid-item")), case.body(uid))
    response = post_raw(client, keys["writer"], "/api/v1/events/batch", body)
    if case.per_item is None:
        # The body itself is refused: the batch gets the single POST's answer and stores nothing.
        assert (response.status_code, response.get_json()) == (case.status, case.answer)
        assert events_count() == before
        assert_still_serving(client, keys, uid)
        return
    # SPEC §4: the valid item is stored and processed, the hostile one is answered invalid.
    assert response.status_code == 200
    answer = response.get_json()
    valid_id = answer["results"][0].get("id")
    assert answer == {"accepted": 1, "duplicates": 0, "invalid": 1, "results": [
        {"index": 0, "status": "accepted", "id": valid_id},
        {"index": 1, "status": "invalid", "errors": case.per_item},
    ]}
    assert isinstance(valid_id, int)
    assert events_count() == before + 1
    assert_still_serving(client, keys, uid, also=[valid_id])


INTERNAL = {"X-Internal-API-Key": "test-internal-key", "X-Service-ID": "essay-service"}
OFFSET_PAST_INT32 = bad_query({"offset": ["Must be greater than or equal to 0 and less than or equal to 2147483647."]})


@pytest.mark.parametrize("method, path, headers_for, status, answer", [
    # 1. Integers past bigint in paths and queries.
    ("GET", "/api/v1/events/9223372036854775808", "reader", 404, NOT_FOUND),
    ("GET", "/api/v1/events/0", "reader", 404, NOT_FOUND),
    ("POST", "/api/v1/admin/dead-letters/9223372036854775808/replay", "admin", 404, NOT_FOUND),
    ("DELETE", "/api/v1/admin/dead-letters/9223372036854775808", "admin", 404, NOT_FOUND),
    ("GET", "/api/v1/admin/dead-letters?offset=9223372036854775808", "admin", 422, OFFSET_PAST_INT32),
    ("GET", "/internal/v1/batches/user/u1?offset=9223372036854775808", "internal", 422, OFFSET_PAST_INT32),
    # 2. NUL in any string id of a path (and ids longer than any id can be).
    ("GET", "/api/v1/students/a%00b/mastery", "reader", 404, NOT_FOUND),
    ("GET", "/api/v1/students/a%00b/reading-profile", "reader", 404, NOT_FOUND),
    ("GET", "/api/v1/books/bk%00", "reader", 404, NOT_FOUND),
    ("GET", "/api/v1/tutors/%00/metrics", "reader", 404, NOT_FOUND),
    ("GET", "/api/v1/tutors/%00", "reader", 404, NOT_FOUND),
    ("GET", "/api/v1/classes/c%00/risk", "reader", 404, NOT_FOUND),
    ("GET", "/api/v1/classes/c%00/trend", "reader", 404, NOT_FOUND),
    ("GET", "/api/v1/classes/c1/students/s%00/trend", "reader", 404, NOT_FOUND),
    ("GET", "/api/v1/classes/c1/students/s%00/timeline", "reader", 404, NOT_FOUND),
    ("GET", "/api/v1/teachers/t%00/classes/c1/dashboard", "reader", 404, NOT_FOUND),
    ("GET", "/internal/v1/batches/%00/status", "internal", 404, NOT_FOUND),
    ("GET", "/internal/v1/batches/user/%00", "internal", 404, NOT_FOUND),
    ("GET", "/api/v1/tutors/" + "t" * 129, "reader", 404, NOT_FOUND),
    ("GET", "/api/v1/admin/subjects/student/a%00b/export", "admin", 404, NOT_FOUND),
    ("DELETE", "/api/v1/admin/subjects/student/a%00b", "admin", 404, NOT_FOUND),
    ("DELETE", "/api/v1/admin/subjects/tutor/" + "t" * 129, "admin", 404, NOT_FOUND),
    ("GET", "/api/v1/admin/erasures/9223372036854775808", "admin", 404, NOT_FOUND),
])
def test_hostile_path_or_query_is_refused_before_any_query(client, keys, uid, method, path, headers_for, status,
                                                           answer):
    headers = INTERNAL if headers_for == "internal" else auth(keys[headers_for])
    response = client.open(path, method=method, headers=headers)
    assert (response.status_code, response.get_json()) == (status, answer)
    assert_still_serving(client, keys, uid)


def test_unsupported_method_is_405_with_allow(client, keys):
    response = client.put("/api/v1/events", json={}, headers=auth(keys["writer"]))
    assert response.status_code == 405
    assert response.headers["Allow"] == "OPTIONS, POST"
    assert response.get_json() == {"code": 405, "status": "Method Not Allowed",
                                   "message": "The method is not allowed for the requested URL."}


def test_unusable_correlation_id_is_replaced(client, keys, uid):
    response = client.post("/api/v1/events", json=checkout(uid), headers={
        **auth(keys["writer"]), "X-Correlation-ID": "é" * 10})
    stored = client.get(f"/api/v1/events/{response.get_json()['id']}", headers=auth(keys["reader"])).get_json()
    assert stored["correlation_id"] != "é" * 10 and len(stored["correlation_id"]) == 32


def test_a_bug_stays_a_500_with_the_correlation_id(app, keys, monkeypatch, caplog):
    """The last-resort handler turns only data the database refuses into 4xx; anything else is a logged 500."""
    from tutormax.web import events

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(events, "store_events", broken)
    app.testing = False  # answer as production does instead of raising into the test
    try:
        response = app.test_client().post("/api/v1/events", json=checkout("bug"), headers={
            **auth(keys["writer"]), "X-Correlation-ID": "corr-500-test"})
    finally:
        app.testing = True
    assert response.status_code == 500
    assert response.get_json() == {"code": 500, "status": "Internal Server Error",
                                   "message": "Internal error; quote correlation id corr-500-test when reporting it."}
    failed = [r for r in caplog.records if r.getMessage() == "request failed"]
    assert failed and failed[-1].correlation_id == "corr-500-test" and failed[-1].exc_info[0] is RuntimeError


def test_value_the_database_refuses_is_422_not_500(app, keys, monkeypatch):
    """Defence in depth: were validation to miss a value, PostgreSQL's data exception is the client's 422."""
    from tutormax.web import events

    def store_unvalidated(validated, correlation):
        from tutormax.db import session_scope

        with session_scope() as db:
            db.execute(text("SELECT CAST(:n AS integer)"), {"n": str(2**40)})

    monkeypatch.setattr(events, "store_events", store_unvalidated)
    response = app.test_client().post("/api/v1/events", json=checkout("db"), headers=auth(keys["writer"]))
    assert (response.status_code, response.get_json()) == (422, {
        "code": 422, "status": "Unprocessable Entity",
        "message": "A value in the request cannot be stored or compared by the database."})


def test_tutor_email_never_reaches_the_worker_log_or_the_dead_letter(stack, client, keys, uid):
    """A handler fails on a row holding a tutor's email: the log and the dead letter name the
    statement and the constraint, never the email (SPEC §3.3: stored, never logged)."""
    from tutormax.db import session_scope

    email, name = f"canary-{uid}@example.org", f"Canary {uid}"
    constraint = f"ck_canary_{uid}"
    with session_scope() as db:
        # Only this email is refused: the persist stage's upsert fails on exactly this row.
        db.execute(text(f"ALTER TABLE tutors ADD CONSTRAINT {constraint} CHECK (email <> '{email}') NOT VALID"))
    try:
        event = {"event_id": f"{uid}-tutor", "source": "tutoring", "type": "TUTOR_UPSERTED",
                 "timestamp": "2026-09-01T08:00:00Z", "tutor_id": f"t-{uid}", "name": name, "email": email,
                 "onboarding_date": "2026-01-15", "status": "active", "subjects": ["math"]}
        response = client.post("/api/v1/events", json=event, headers=auth(keys["writer"]))
        assert response.status_code == 202
        pk = response.get_json()["id"]
        wait_finished(client, keys["reader"], [pk], status="dead_lettered")
    finally:
        with session_scope() as db:
            db.execute(text(f"ALTER TABLE tutors DROP CONSTRAINT {constraint}"))
    letters = client.get("/api/v1/admin/dead-letters?limit=1000", headers=auth(keys["admin"])).get_json()
    letter = next(d for d in letters["dead_letters"] if d["event_pk"] == pk)
    assert letter["reason"] == "processing_error" and letter["stage"] == "persist"
    # What failed, by name: the statement and the constraint.
    assert "IntegrityError" in letter["error"] and f'constraint "{constraint}"' in letter["error"]
    assert "[statement: INSERT INTO tutors]" in letter["error"]
    assert email not in letter["error"] and name not in letter["error"]

    # The failure itself is in the log (so this grep looks at the right place) …
    wait_for(lambda: constraint in (stack.workdir / "pipeline.log").read_text(errors="replace"),
             timeout=10, what="the failure in the worker log")
    worker_log = (stack.workdir / "pipeline.log").read_text(errors="replace")
    # … but not the tutor's email or name.
    assert email not in worker_log and name not in worker_log


def test_every_event_field_uses_a_house_type():
    """The rules above hold for every field because every input field is one of the house types
    (a plain fields.String or fields.Integer would let NUL or 2**70 through again)."""
    from marshmallow import fields

    from tutormax.schemas import common
    from tutormax.schemas.events import SCHEMAS

    house = (common.String, common.StrictInteger, common.StrictNumber, common.StrictBoolean,
             common.OffsetDateTime, common.DateOrDateTime, common.JsonValue)

    def offenders(schema, prefix: str) -> list[str]:
        found = []
        for name, field in schema().fields.items():
            while isinstance(field, fields.List):
                field = field.inner
            if isinstance(field, fields.Nested):
                found += offenders(type(field.schema), f"{prefix}{name}.")
            elif not isinstance(field, house):
                found.append(f"{prefix}{name}: {type(field).__name__}")
        return found

    assert [o for event_type, schema in SCHEMAS.items() for o in offenders(schema, f"{event_type}.")] == []
