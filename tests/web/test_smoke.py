from tests.helpers import auth, post_event, wait_finished


def test_healthz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_event_processed(client, keys, uid):
    body = {"event_id": f"e-{uid}", "source": "lms", "type": "BOOK_CHECKED_OUT",
            "timestamp": "2026-09-01T08:00:00+02:00", "student_id": "s1", "book_id": "b1"}
    r = post_event(client, keys["writer"], body)
    assert r.status_code == 202, r.get_json()
    pk = r.get_json()["id"]
    wait_finished(client, keys["reader"], [pk], timeout=30)
