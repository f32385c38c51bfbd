"""Ingestion through the HTTP API: 202/duplicate semantics and every bad input of SPEC §2."""

from __future__ import annotations

import threading

import pytest

from tests.factories import checkout
from tests.helpers import auth, post_batch, post_event


def graded(uid: str, n: int = 1, **extra) -> dict:
    return {"event_id": f"{uid}-g{n}", "source": "lms", "type": "SUBMISSION_GRADED",
            "timestamp": "2026-09-01T08:00:00Z", "student_id": f"s-{uid}", "class_id": f"c-{uid}",
            "assignment_id": f"a-{uid}", "standard_ids": ["MATH.1"], "score": 90, **extra}


def test_accepts_event_with_202_and_its_id(client, keys, uid):
    response = post_event(client, keys["writer"], checkout(uid))
    assert response.status_code == 202
    body = response.get_json()
    assert body["event_id"] == f"{uid}-1" and body["source"] == "library"
    assert body["type"] == "BOOK_CHECKED_OUT" and body["duplicate"] is False
    assert isinstance(body["id"], int)


def test_duplicate_answers_202_with_first_id_and_stores_nothing(client, keys, uid):
    first = post_event(client, keys["writer"], checkout(uid)).get_json()
    # Same (source, event_id), different content: still the same event.
    again = post_event(client, keys["writer"], checkout(uid, book_id="other"))
    assert again.status_code == 202
    assert again.get_json() == {**first, "duplicate": True}
    stored = client.get(f"/api/v1/events/{first['id']}", headers=auth(keys["reader"])).get_json()
    assert stored["payload"]["book_id"] == f"b-{uid}"


def test_same_event_id_from_another_source_is_a_new_event(client, keys, uid):
    first = post_event(client, keys["writer"], checkout(uid)).get_json()
    other = post_event(client, keys["writer"], checkout(uid, source="other-library")).get_json()
    assert other["duplicate"] is False and other["id"] != first["id"]


def test_concurrent_identical_posts_store_one_event(app, keys, uid):
    barrier = threading.Barrier(8)
    answers: list[dict] = []

    def post():
        client = app.test_client()
        barrier.wait()
        response = post_event(client, keys["writer"], checkout(uid))
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [code for code, _ in answers] == [202] * 8
    assert sorted(body["duplicate"] for _, body in answers) == [False] + [True] * 7
    assert len({body["id"] for _, body in answers}) == 1


@pytest.mark.parametrize("change, field", [
    ({"event_id": None}, "event_id"),
    ({"event_id": ""}, "event_id"),
    ({"event_id": "x" * 129}, "event_id"),
    ({"source": "s" * 65}, "source"),
    ({"timestamp": "2026-09-01T08:00:00"}, "timestamp"),          # no offset
    ({"timestamp": "2026-09-01"}, "timestamp"),                   # a date, not a date-time
    ({"timestamp": "yesterday"}, "timestamp"),
    ({"score": 100.5}, "score"),                                  # over 100
    ({"score": -1}, "score"),
    ({"score": "90"}, "score"),                                   # wrong type
    ({"score": True}, "score"),
    ({"standard_ids": []}, "standard_ids"),                       # ≥ 1 required
    ({"standard_ids": "MATH.1"}, "standard_ids"),
    ({"student_id": 42}, "student_id"),
    ({"nickname": "Ann"}, "nickname"),                            # unknown field
    ({"type": "SUBMISSION_EXPLODED"}, "type"),
])
def test_bad_field_gets_422_with_its_message(client, keys, uid, change, field):
    event = graded(uid)
    for name, value in change.items():
        if value is None:
            event.pop(name)
        else:
            event[name] = value
    response = post_event(client, keys["writer"], event)
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == 422 and body["status"] == "Unprocessable Entity" and body["message"]
    assert body["errors"][field], body["errors"]


@pytest.mark.parametrize("missing", ["student_id", "class_id", "assignment_id", "event_id", "source", "timestamp"])
def test_missing_required_field_is_named(client, keys, uid, missing):
    event = graded(uid)
    event.pop(missing)
    response = post_event(client, keys["writer"], event)
    assert response.status_code == 422
    assert response.get_json()["errors"][missing] == ["Missing data for required field."]


def test_type_inference_for_learning_events(client, keys, uid):
    with_score = graded(uid)
    with_score.pop("type")
    assert post_event(client, keys["writer"], with_score).get_json()["type"] == "SUBMISSION_GRADED"
    submission = graded(uid, 2)
    submission.pop("type")
    submission.pop("score")
    assert post_event(client, keys["writer"], submission).get_json()["type"] == "SUBMISSION_CREATED"


def test_body_over_one_mebibyte_is_413(client, keys, uid):
    event = checkout(uid, book_id="b" * (1024 * 1024))
    response = post_event(client, keys["writer"], event)
    assert response.status_code == 413
    assert response.get_json()["code"] == 413


def test_malformed_json_is_400(client, keys):
    response = client.post("/api/v1/events", data="{not json", content_type="application/json",
                           headers=auth(keys["writer"]))
    assert response.status_code == 400
    assert response.get_json()["status"] == "Bad Request"


def test_non_json_content_type_is_415(client, keys, uid):
    response = client.post("/api/v1/events", data="event_id=1", content_type="text/plain",
                           headers=auth(keys["writer"]))
    assert response.status_code == 415


def test_json_that_is_not_an_object_is_422(client, keys):
    response = client.post("/api/v1/events", json=[1, 2], headers=auth(keys["writer"]))
    assert response.status_code == 422
    assert "_schema" in response.get_json()["errors"]


def test_batch_stores_valid_events_and_reports_each_item(client, keys, uid):
    events = [checkout(uid, 1), {**checkout(uid, 2), "timestamp": "2026-09-01T08:00:00"},
              checkout(uid, 3), checkout(uid, 1)]
    response = post_batch(client, keys["writer"], events)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["accepted"], body["duplicates"], body["invalid"]) == (2, 1, 1)
    results = body["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3]
    assert [r["status"] for r in results] == ["accepted", "invalid", "accepted", "duplicate"]
    assert "timestamp" in results[1]["errors"] and "id" not in results[1]
    assert results[3]["id"] == results[0]["id"]
    # The valid ones are really stored.
    for r in (results[0], results[2]):
        assert client.get(f"/api/v1/events/{r['id']}", headers=auth(keys["reader"])).status_code == 200
    # Posting the batch again: everything valid is now a duplicate.
    again = post_batch(client, keys["writer"], events).get_json()
    assert (again["accepted"], again["duplicates"], again["invalid"]) == (0, 3, 1)


@pytest.mark.parametrize("body, status", [
    ({"events": []}, 422),
    ({"events": "nope"}, 422),
    ({"items": []}, 422),
    ({"events": [{}], "extra": 1}, 422),
])
def test_malformed_batches(client, keys, body, status):
    response = client.post("/api/v1/events/batch", json=body, headers=auth(keys["writer"]))
    assert response.status_code == status
    assert "events" in response.get_json()["errors"]


def test_batch_over_1000_events_is_422(client, keys, uid):
    events = [checkout(uid, n) for n in range(1001)]
    response = post_batch(client, keys["writer"], events)
    assert response.status_code == 422
    assert "1000" in response.get_json()["errors"]["events"][0]


def test_unknown_event_id_is_404(client, keys):
    response = client.get("/api/v1/events/999999999", headers=auth(keys["reader"]))
    assert response.status_code == 404
    assert response.get_json()["message"]
