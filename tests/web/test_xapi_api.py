"""POST/PUT /xapi/statements over the real stack (SPEC §3.5): auth, version, all or nothing, idempotency."""

from __future__ import annotations

import base64
import copy
import json
import uuid

import pytest
from sqlalchemy import func, select

from tests.helpers import auth, event_status, post_event, wait_finished
from tests.rules.test_xapi import INVALID
from tests.xapi_statements import LMS, SIMPLE, moodle_47, moodle_48, with_id
from tutormax.db import session_scope
from tutormax.models.events import Event

V = {"X-Experience-API-Version": "1.0.3"}


def basic(key: str, user: str = "moodle") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{key}".encode()).decode()}


def post_statements(client, key: str, body, headers: dict | None = None, **kwargs):
    return client.post("/xapi/statements", json=body, headers={**basic(key), **V, **(headers or {})}, **kwargs)


def put_statement(client, key: str, statement_id: str, body, headers: dict | None = None):
    return client.put(f"/xapi/statements?statementId={statement_id}", json=body,
                      headers={**basic(key), **V, **(headers or {})})


def stored(statement_ids) -> dict[str, Event]:
    with session_scope() as session:
        rows = session.scalars(select(Event).where(Event.source == "xapi", Event.event_id.in_(list(statement_ids))))
        return {row.event_id: row for row in rows}


def count_stored(statement_ids) -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Event).where(
            Event.source == "xapi", Event.event_id.in_(list(statement_ids))))


def graded(uid: str, score: float = 16, **kwargs) -> dict:
    return moodle_47(f"s-{uid}", f"c-{uid}", f"a-{uid}", score={"raw": score, "min": 0, "max": 20, "scaled": 0.1},
                     teacher=f"t-{uid}", **kwargs)


def test_one_statement_is_stored_as_its_learning_event(client, keys, uid):
    statement = with_id(graded(uid))
    response = post_statements(client, keys["writer"], statement)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == [statement["id"]]
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    event = stored([statement["id"]])[statement["id"]]
    wait_finished(client, keys["reader"], [event.id])
    shown = event_status(client, keys["reader"], event.id)
    assert (shown["source"], shown["event_id"], shown["type"], shown["domain"]) == (
        "xapi", statement["id"], "SUBMISSION_GRADED", "learning")
    payload = dict(shown["payload"])
    fingerprint = payload.pop("xapi")
    assert payload == {"student_id": f"s-{uid}", "class_id": f"{LMS}/course/view.php?id=c-{uid}",
                       "assignment_id": f"{LMS}/mod/assign/view.php?id=a-{uid}", "standard_ids": [],
                       "teacher_id": f"t-{uid}", "score": 80.0}
    assert set(fingerprint) == {"fingerprint", "verb"}
    # Names of people (and the free-text response) are nowhere in what was stored.
    assert "Student" not in json.dumps(shown) and "Teacher" not in json.dumps(shown)
    assert shown["timestamp"] == "2026-09-01T10:00:00+00:00"


def test_an_array_gets_generated_uuid4_ids_in_order_and_bearer_works(client, keys, uid):
    statements = [graded(uid, timestamp=None), moodle_48(f"s-{uid}", f"c-{uid}", f"b-{uid}")]
    response = client.post("/xapi/statements", json=statements, headers={**auth(keys["writer"]), **V})
    assert response.status_code == 200, response.get_json()
    ids = response.get_json()
    assert len(ids) == 2 and all(uuid.UUID(i).version == 4 for i in ids)
    rows = stored(ids)
    assert [rows[i].type for i in ids] == ["SUBMISSION_GRADED", "SUBMISSION_CREATED"]
    wait_finished(client, keys["reader"], [rows[i].id for i in ids])


def test_resending_changes_nothing_and_a_different_statement_under_a_taken_id_is_409(client, keys, uid):
    first, second = with_id(graded(uid)), with_id(graded(uid, score=10))
    assert post_statements(client, keys["writer"], [first, second]).status_code == 200
    pks = {i: e.id for i, e in stored([first["id"], second["id"]]).items()}
    # The same statement again (no timestamp change, other LRS-set properties may differ): accepted, nothing new.
    again = post_statements(client, keys["writer"], [first, {**second, "version": "1.0.3"}])
    assert again.status_code == 200 and again.get_json() == [first["id"], second["id"]]
    assert {i: e.id for i, e in stored([first["id"], second["id"]]).items()} == pks
    put = put_statement(client, keys["writer"], first["id"], first)
    assert put.status_code == 204 and put.headers["X-Experience-API-Version"] == "1.0.3"

    fresh = with_id(graded(uid, score=5))
    changed = {**first, "result": {"score": {"raw": 1, "min": 0, "max": 20}}}
    response = post_statements(client, keys["writer"], [fresh, changed])
    assert response.status_code == 409
    assert response.get_json() == {
        "code": 409, "status": "Conflict",
        "message": "A statement id is taken by a different statement; nothing was stored.",
        "errors": {"1": {"id": ["A different statement with this id is stored already."]}}}
    assert count_stored([fresh["id"]]) == 0
    assert put_statement(client, keys["writer"], first["id"], changed).status_code == 409


def test_one_invalid_statement_rejects_the_array_with_its_index_and_field(client, keys, uid):
    good = with_id(graded(uid))
    bad = with_id(graded(uid))
    bad["result"]["score"]["scaled"] = 1.5
    del bad["actor"]["account"]
    response = post_statements(client, keys["writer"], [good, bad, "x"])
    assert response.status_code == 400
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    assert response.get_json() == {
        "code": 400, "status": "Bad Request",
        "message": "Statement 1 is invalid (`errors` lists every invalid statement by index); nothing was stored.",
        "errors": {
            "1": {"actor": {"_schema": ["An Agent needs exactly one identifier of mbox, mbox_sha1sum, openid, "
                                        "account; got 0."]},
                  "result": {"score": {"scaled": [
                      "Must be greater than or equal to -1 and less than or equal to 1."]}}},
            "2": {"_schema": ["A statement must be a JSON object."]}}}
    assert count_stored([good["id"], bad["id"]]) == 0


def test_two_statements_with_one_id_in_an_array_are_400(client, keys, uid):
    first = with_id(graded(uid))
    response = post_statements(client, keys["writer"], [first, {**first, "verb": {"id": "http://v.example/x"}}])
    assert response.status_code == 400
    assert response.get_json()["errors"] == {"1": {"id": ["Statement 0 has the same id."]}}
    assert count_stored([first["id"]]) == 0


def test_version_header_is_required(client, keys, uid):
    headers = {**basic(keys["writer"])}
    response = client.post("/xapi/statements", json=graded(uid), headers=headers)
    assert response.status_code == 400
    assert response.get_json() == {"code": 400, "status": "Bad Request",
                                   "message": "Missing header `X-Experience-API-Version: 1.0.x`."}
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    response = client.post("/xapi/statements", json=graded(uid),
                           headers={**headers, "X-Experience-API-Version": "0.95"})
    assert response.status_code == 400
    assert response.get_json()["message"] == ("Send the header `X-Experience-API-Version: 1.0.x` (this LRS speaks "
                                              "1.0.3); got '0.95'.")
    ok = client.post("/xapi/statements", json=graded(uid), headers={**headers, "X-Experience-API-Version": "1.0.1"})
    assert ok.status_code == 200


def test_auth_basic_with_the_key_as_password(client, keys, uid):
    from tutormax.web.auth import create_api_key, revoke_api_key

    challenge = 'Basic realm="TutorMax"'
    for headers in ({}, basic("tmx_not-a-key"), {"Authorization": "Basic !!!"}, basic(keys["writer"], "")):
        response = client.post("/xapi/statements", json=graded(uid), headers={**V, **headers})
        if headers == basic(keys["writer"], ""):
            assert response.status_code == 200  # any user name, even none
            continue
        assert response.status_code == 401, headers
        assert response.headers["WWW-Authenticate"] == challenge
        assert response.headers["X-Experience-API-Version"] == "1.0.3"
    revoked = create_api_key(f"revoked-{uid}", ["events:write"])
    with session_scope() as session:
        from tutormax.models.auth import ApiKey

        key_id = session.scalar(select(ApiKey.id).where(ApiKey.name == f"revoked-{uid}"))
    assert revoke_api_key(key_id)
    response = post_statements(client, revoked, graded(uid))
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == challenge
    assert response.get_json()["message"] == "Unknown or revoked API key."
    response = post_statements(client, keys["reader"], graded(uid))
    assert response.status_code == 403
    assert response.get_json()["message"] == "This API key lacks the `events:write` scope."


def test_content_type_and_size(client, keys, uid):
    headers = {**basic(keys["writer"]), **V}
    response = client.post("/xapi/statements", data=json.dumps(graded(uid)), headers=headers,
                           content_type="text/plain")
    assert response.status_code == 415
    response = client.post("/xapi/statements", data=b"--b\r\n\r\n--b--", headers=headers,
                           content_type="multipart/mixed; boundary=b")
    assert response.status_code == 415
    assert "multipart/mixed" in response.get_json()["message"]
    big = [with_id(graded(uid)) for _ in range(1500)]
    response = client.post("/xapi/statements", data=json.dumps(big), headers=headers, content_type="application/json")
    assert response.status_code == 413
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    assert count_stored([s["id"] for s in big]) == 0
    response = client.post("/xapi/statements", data=b"[{", headers=headers, content_type="application/json")
    assert response.status_code == 400


def test_put_statement_id_rules(client, keys, uid):
    statement = graded(uid)
    statement_id = str(uuid.uuid4())
    assert put_statement(client, keys["writer"], statement_id.upper(), statement).status_code == 204
    assert list(stored([statement_id])) == [statement_id]
    other = str(uuid.uuid4())
    response = put_statement(client, keys["writer"], other, {**statement, "id": str(uuid.uuid4())})
    assert response.status_code == 400
    assert response.get_json() == {"code": 400, "status": "Bad Request",
                                   "message": "The statement's `id` differs from `statementId`.",
                                   "errors": {"0": {"id": ["Must equal the statementId parameter."]}}}
    response = client.put("/xapi/statements", json=statement, headers={**basic(keys["writer"]), **V})
    assert response.status_code == 400
    assert response.get_json()["errors"] == {
        "statementId": ["Must be a UUID, e.g. 6fbd600f-d17c-4c74-801a-2ec2e53231b7."]}
    assert count_stored([other]) == 0


def test_unmapped_statements_are_stored_processed_and_touch_no_view(client, keys, uid):
    statement = with_id(copy.deepcopy(SIMPLE))
    experienced = with_id(graded(uid))
    experienced["verb"] = {"id": "http://adlnet.gov/expapi/verbs/experienced"}
    assert post_statements(client, keys["writer"], [statement, experienced]).status_code == 200
    rows = stored([statement["id"], experienced["id"]])
    wait_finished(client, keys["reader"], [row.id for row in rows.values()])
    shown = event_status(client, keys["reader"], rows[experienced["id"]].id)
    assert shown["type"] == "XAPI_UNMAPPED" and shown["status"] == "processed"
    assert shown["payload"]["xapi"]["unmapped_reason"] == "verb"
    assert "user@example.com" not in json.dumps(event_status(client, keys["reader"], rows[statement["id"]].id))
    # No view knows the student or the class.
    assert client.get(f"/api/v1/students/s-{uid}/mastery", headers=auth(keys["reader"])).status_code == 404
    assert client.get(f"/api/v1/classes/{LMS.replace('/', '%2F')}%2Fcourse%2Fview.php%3Fid%3Dc-{uid}/risk",
                      headers=auth(keys["reader"])).status_code == 404


def test_source_xapi_is_reserved_on_the_native_endpoint(client, keys, uid):
    body = {"event_id": str(uuid.uuid4()), "source": "xapi", "type": "SUBMISSION_CREATED",
            "timestamp": "2026-09-01T08:00:00Z", "student_id": "s", "class_id": "c", "assignment_id": "a",
            "standard_ids": ["x"]}
    response = post_event(client, keys["writer"], body)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"source": ["`xapi` is reserved for statements sent to /xapi/statements."]}


def test_openapi_documents_the_statement_resource(client):
    spec = client.get("/openapi/openapi.json").get_json()
    operations = spec["paths"]["/xapi/statements"]
    assert set(operations) >= {"post", "put"}
    for operation in operations.values():
        assert {"200", "204"} & set(operations["post"]["responses"]) and "409" in operation["responses"]
        assert operation["security"] == [{"basic": []}, {"bearer": []}]
    assert "XapiStatement" in spec["components"]["schemas"]
    assert spec["components"]["securitySchemes"]["basic"] == {"type": "http", "scheme": "basic"}


def test_the_readme_statement_answers_as_documented(client, keys, uid):
    statement = {"actor": {"account": {"homePage": "https://moodle.example.edu", "name": f"5-{uid}"}},
                 "verb": {"id": "http://adlnet.gov/expapi/verbs/scored"},
                 "object": {"id": "https://moodle.example.edu/mod/assign/view.php?id=12"},
                 "result": {"score": {"raw": 16, "min": 0, "max": 20}},
                 "context": {"contextActivities": {"grouping": [
                     {"id": f"https://moodle.example.edu/course/view.php?id=3-{uid}",
                      "definition": {"type": "http://id.tincanapi.com/activitytype/lms/course"}}]}},
                 "timestamp": "2026-09-01T10:00:00Z"}
    response = post_statements(client, keys["writer"], statement, headers={
        "Authorization": "Basic " + base64.b64encode(f"tutormax:{keys['writer']}".encode()).decode()})
    assert response.status_code == 200
    event = stored(response.get_json())[response.get_json()[0]]
    wait_finished(client, keys["reader"], [event.id])
    assert (event.type, event.payload["score"], event.payload["student_id"]) == ("SUBMISSION_GRADED", 80.0, f"5-{uid}")
    risk = client.get(f"/api/v1/classes/https%3A%2F%2Fmoodle.example.edu%2Fcourse%2Fview.php%3Fid%3D3-{uid}/risk",
                      headers=auth(keys["reader"]))
    assert risk.status_code == 200
    assert risk.get_json()["class_id"] == f"https://moodle.example.edu/course/view.php?id=3-{uid}"


@pytest.mark.parametrize("case", [c for c, _, _ in INVALID])
def test_every_statement_rule_answers_its_exact_400(client, keys, case):
    statement, expected = next((s, e) for c, s, e in INVALID if c == case)
    response = post_statements(client, keys["writer"], [copy.deepcopy(SIMPLE), statement])
    assert response.status_code == 400
    assert response.get_json() == {
        "code": 400, "status": "Bad Request",
        "message": "Statement 1 is invalid (`errors` lists every invalid statement by index); nothing was stored.",
        "errors": {"1": json.loads(json.dumps(expected))}}


def test_an_iri_id_is_one_percent_encoded_path_segment(client, keys):
    response = client.get("/api/v1/students/urn:x%2Fy%3Fz/mastery", headers=auth(keys["reader"]))
    assert response.status_code == 404
    assert response.get_json()["message"] == "No student urn:x/y?z."
