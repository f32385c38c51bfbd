"""Internal batch status API through the real stack (SPEC §3.4, §4, §9).

Events are POSTed with the writer key and read back through
/internal/v1/batches with the service headers, once they are `processed`.
Expected values are worked out by hand from SPEC in the comments.
"""

from __future__ import annotations

import pytest

from tests.factories import Essays, utc
from tests.helpers import (
    INTERNAL,
    auth,
    batch_status,
    essays_by_id,
    send,
    status_body,
    user_batches,
)


@pytest.fixture()
def make(uid) -> Essays:
    return Essays(uid)


def test_batch_through_every_phase_completes_successfully(client, keys, uid, make):
    batch, user = f"b-{uid}", f"u-{uid}"
    send(client, keys, make.registered(batch, user, ["e1", "e2"], minute=0, course_code="ENG5",
                                       requested_pipeline="cj_assessment"))
    body = status_body(client, batch)
    # Registered, no result yet: processing, no essay past spellcheck.
    assert (body["overall_status"], body["internal_status"], body["current_phase"]) == (
        "processing", "processing_pipelines", "spellcheck")
    assert (body["user_id"], body["essay_count"], body["course_code"], body["created_at"]) == (
        user, 2, "ENG5", utc(0))
    assert [e["essay_id"] for e in body["essays"]] == ["e1", "e2"]

    send(client, keys, make.spellcheck(batch, "e1", "SPELLCHECKED_SUCCESS", 1, corrections_made=3),
         make.spellcheck(batch, "e2", "SUCCESS", 2, corrected_text_storage_id="st-2"))
    body = status_body(client, batch)
    # Both spellchecks completed (status contains SUCCESS), no assessment yet → cj_assessment runs.
    assert (body["overall_status"], body["current_phase"]) == ("processing", "cj_assessment")
    essays = essays_by_id(body)
    assert (essays["e1"]["spellcheck_status"], essays["e1"]["spellcheck_corrections_made"]) == ("completed", 3)
    assert essays["e2"]["corrected_text_storage_id"] == "st-2"

    send(client, keys, make.assessment(batch, [
        {"essay_id": "e1", "rank": 2, "bt_score": -0.3, "normalized_score": 0.4, "letter_grade": "C"},
        {"essay_id": "anchor-1", "rank": 1, "bt_score": 1.2, "is_anchor": True},  # ignored
        {"essay_id": "e2", "rank": 3, "bt_score": -0.9},
    ], 3, comparison_count=12))
    body = status_body(client, batch)
    # Every essay terminal in both phases, no phase outcome yet: still processing, no current phase.
    assert (body["overall_status"], body["internal_status"], body["current_phase"]) == (
        "processing", "processing_pipelines", None)
    essays = essays_by_id(body)
    assert set(essays) == {"e1", "e2"}  # the anchor is not an essay of the batch
    assert (essays["e1"]["cj_rank"], essays["e1"]["cj_score"], essays["e1"]["letter_grade"]) == (2, -0.3, "C")
    assert (essays["e2"]["cj_assessment_status"], essays["e2"]["comparison_count"]) == ("completed", 12)

    send(client, keys, make.outcome(batch, "spellcheck", "completed_successfully", ["e1", "e2"], [], 4))
    body = status_body(client, batch)
    # 2 completed + 0 failed >= 2 essays, no failure → completed_successfully at minute 4.
    assert (body["overall_status"], body["completed_essay_count"], body["failed_essay_count"]) == (
        "completed_successfully", 2, 0)
    assert (body["processing_started_at"], body["processing_completed_at"]) == (utc(4), utc(4))

    send(client, keys, make.outcome(batch, "cj_assessment", "completed_successfully", ["e1", "e2"], [], 5),
         make.completed(batch, "completed_successfully", 2, 0, 6))
    body = status_body(client, batch)
    # The pipeline's final word: same status, completed at minute 6; latest fact minute 6.
    assert (body["overall_status"], body["internal_status"], body["error_detail"]) == (
        "completed_successfully", "completed_successfully", None)
    assert (body["processing_completed_at"], body["last_updated"], body["current_phase"]) == (utc(6), utc(6), None)


def test_batch_completed_with_failures(client, keys, uid, make):
    batch, user = f"b-{uid}", f"u-{uid}"
    send(client, keys,
         make.registered(batch, user, ["e1", "e2", "e3"], minute=0),
         make.spellcheck(batch, "e1", "SUCCESS", 1),
         make.spellcheck(batch, "e2", "SUCCESS", 1),
         make.spellcheck(batch, "e3", "SPELLCHECK_FAILED", 1, error_detail={"code": "EMPTY_TEXT"}),
         make.outcome(batch, "spellcheck", "completed_with_failures", ["e1", "e2"], ["e3"], 2))
    body = status_body(client, batch)
    # 2 completed + 1 failed >= 3 with both kinds → completed_with_failures.
    assert (body["overall_status"], body["internal_status"]) == ("completed_with_failures", "completed_with_failures")
    assert (body["completed_essay_count"], body["failed_essay_count"], body["essay_count"]) == (2, 1, 3)
    e3 = essays_by_id(body)["e3"]
    assert (e3["spellcheck_status"], e3["spellcheck_error_detail"]) == ("failed", {"code": "EMPTY_TEXT"})
    assert body["error_detail"] is None


def test_batch_failed_critically_carries_its_error_detail(client, keys, uid, make):
    batch, user = f"b-{uid}", f"u-{uid}"
    send(client, keys,
         make.registered(batch, user, ["e1", "e2"], minute=0),
         make.outcome(batch, "spellcheck", "completed_successfully", ["e1"], [], 1),  # 1 + 0 < 2: processing
         make.outcome(batch, "cj_assessment", "failed_critically", [], ["e2"], 2))
    body = status_body(client, batch)
    # A phase failing critically fails the batch: client status `failed`, counts max(1,0)=1 and max(0,1)=1.
    assert (body["overall_status"], body["internal_status"]) == ("failed", "failed_critically")
    assert (body["completed_essay_count"], body["failed_essay_count"]) == (1, 1)
    assert body["error_detail"] == {
        "error_code": "PROCESSING_ERROR",
        "message": "Phase cj_assessment failed critically",
        "operation": "batch_phase_outcome",
        "details": {"batch_id": batch, "phase": "cj_assessment", "status": "failed_critically",
                    "failed_essay_ids": ["e2"]},
    }
    assert body["processing_completed_at"] == utc(2)


def test_results_before_their_batch_are_attached_when_it_registers(client, keys, uid, make):
    batch, user = f"b-{uid}", f"u-{uid}"
    send(client, keys,
         make.spellcheck(batch, "e1", "SUCCESS", 5, corrections_made=1),
         make.assessment(batch, [{"essay_id": "e1", "rank": 1, "bt_score": 0.5},
                                 {"essay_id": "anchor", "rank": 2, "bt_score": 0.1, "is_anchor": True}], 6))
    # Not registered yet: not a batch for the API, nor in the user's list.
    assert batch_status(client, batch).status_code == 404
    listing = user_batches(client, user).get_json()
    assert listing["pagination"]["total"] == 0 and listing["batches"] == []

    send(client, keys, make.registered(batch, user, ["e1", "e2"], minute=1))
    body = status_body(client, batch)
    essays = essays_by_id(body)
    # e1's results arrived first and are attached; e2 has none yet, so spellcheck is still running.
    assert set(essays) == {"e1", "e2"}
    assert (essays["e1"]["spellcheck_status"], essays["e1"]["cj_rank"]) == ("completed", 1)
    assert essays["e2"]["spellcheck_status"] is None
    assert (body["overall_status"], body["current_phase"], body["created_at"]) == ("processing", "spellcheck", utc(1))
    assert [b["batch_id"] for b in user_batches(client, user).get_json()["batches"]] == [batch]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, {"error": "Missing authentication"}),
        ({"X-Internal-API-Key": "test-internal-key"}, {"error": "Missing authentication"}),
        ({"X-Service-ID": "essay-service"}, {"error": "Missing authentication"}),
        ({"X-Internal-API-Key": "", "X-Service-ID": "essay-service"}, {"error": "Missing authentication"}),
        ({"X-Internal-API-Key": "wrong-key", "X-Service-ID": "essay-service"}, {"error": "Invalid credentials"}),
        ({"X-Internal-API-Key": "test-internal-key-", "X-Service-ID": "essay-service"},
         {"error": "Invalid credentials"}),
        ({"X-Internal-API-Key": "test-internal-key", "X-Service-ID": "billing-service"},
         {"error": "Invalid credentials"}),
    ],
)
def test_every_auth_failure_has_its_exact_body(client, keys, uid, headers, expected):
    for response in (batch_status(client, f"b-{uid}", headers), user_batches(client, f"u-{uid}", "", headers)):
        assert response.status_code == 401
        assert response.get_json() == expected


def test_bearer_keys_do_not_open_the_internal_api(client, keys, uid):
    response = batch_status(client, f"b-{uid}", auth(keys["all"]))
    assert (response.status_code, response.get_json()) == (401, {"error": "Missing authentication"})
    # The second allowed service is accepted: past auth, the unknown batch is a 404.
    other_service = {"X-Internal-API-Key": "test-internal-key", "X-Service-ID": "report-service"}
    assert batch_status(client, f"b-{uid}", other_service).status_code == 404


def test_another_users_batch_is_not_found(client, keys, uid, make):
    batch, owner = f"b-{uid}", f"u-{uid}"
    send(client, keys, make.registered(batch, owner, ["e1"]))
    assert batch_status(client, batch, {**INTERNAL, "X-User-ID": owner}).status_code == 200
    response = batch_status(client, batch, {**INTERNAL, "X-User-ID": f"intruder-{uid}"})
    assert response.status_code == 404
    assert "message" in response.get_json()
    assert user_batches(client, owner, "", {**INTERNAL, "X-User-ID": f"intruder-{uid}"}).status_code == 404
    assert user_batches(client, owner, "", {**INTERNAL, "X-User-ID": owner}).status_code == 200


def test_user_batches_pagination_and_status_filter(client, keys, uid, make):
    user = f"u-{uid}"
    old, middle, new = f"b1-{uid}", f"b2-{uid}", f"b3-{uid}"
    send(client, keys,
         make.registered(middle, user, ["e1"], minute=20),
         make.registered(new, user, ["e1"], minute=30),
         make.registered(old, user, ["e1"], minute=10),
         make.registered(f"other-{uid}", f"someone-else-{uid}", ["e1"], minute=40),  # another user's
         # old: 1 + 0 >= 1 → completed_successfully; the others stay processing.
         make.outcome(old, "spellcheck", "completed_successfully", ["e1"], [], 11))

    def page(query: str) -> tuple[list[str], dict]:
        response = user_batches(client, user, query)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        return [b["batch_id"] for b in body["batches"]], body["pagination"]

    # Newest registration first: minute 30, 20, 10.
    assert page("") == ([new, middle, old], {"limit": 20, "offset": 0, "total": 3})
    assert page("?limit=2&offset=0") == ([new, middle], {"limit": 2, "offset": 0, "total": 3})
    assert page("?limit=2&offset=2") == ([old], {"limit": 2, "offset": 2, "total": 3})
    assert page("?offset=5") == ([], {"limit": 20, "offset": 5, "total": 3})
    assert page("?status=processing") == ([new, middle], {"limit": 20, "offset": 0, "total": 2})
    assert page("?status=completed_successfully&limit=1") == ([old], {"limit": 1, "offset": 0, "total": 1})
    assert page("?status=failed") == ([], {"limit": 20, "offset": 0, "total": 0})
    assert page("?limit=20&offset=0&status=") == ([new, middle, old], {"limit": 20, "offset": 0, "total": 3})
    # Each listed batch is the full status body.
    body = user_batches(client, user, "?status=completed_successfully").get_json()["batches"][0]
    assert (body["overall_status"], body["essay_count"], [e["essay_id"] for e in body["essays"]]) == (
        "completed_successfully", 1, ["e1"])


@pytest.mark.parametrize("query", ["?limit=0", "?limit=101", "?offset=-1", "?limit=abc", "?status=done"])
def test_user_batches_bad_query_is_422(client, uid, query):
    response = user_batches(client, f"u-{uid}", query)
    assert response.status_code == 422
    assert response.get_json()["errors"]


def test_internal_routes_are_documented(client):
    spec = client.get("/openapi/openapi.json").get_json()
    status_op = spec["paths"]["/internal/v1/batches/{batch_id}/status"]["get"]
    list_path = spec["paths"]["/internal/v1/batches/user/{user_id}"]
    list_op = list_path["get"]
    for operation in (status_op, list_op):
        assert operation["security"] == [{"internalApiKey": [], "serviceId": []}]
        assert {"200", "401", "404"} <= set(operation["responses"])
    assert spec["components"]["securitySchemes"]["internalApiKey"]["name"] == "X-Internal-API-Key"
    # Query arguments on the operation, the optional X-User-ID header on the path.
    names = {p["name"] for p in list_op["parameters"] + list_path.get("parameters", [])}
    assert names >= {"limit", "offset", "status", "X-User-ID"}
