"""Access to the reading endpoints: 401/403, 404s, and teacher-bound keys (SPEC §4)."""

from __future__ import annotations

from tests.helpers import auth, post_batch, wait_finished


def test_unknown_student_and_book_are_404(client, keys, uid):
    response = client.get(f"/api/v1/students/{uid}-nobody/reading-profile", headers=auth(keys["reader"]))
    assert response.status_code == 404
    assert response.get_json()["code"] == 404 and response.get_json()["message"]
    response = client.get(f"/api/v1/books/{uid}-no-such-book", headers=auth(keys["reader"]))
    assert response.status_code == 404
    assert response.get_json()["code"] == 404 and response.get_json()["message"]


def test_a_book_cataloged_but_never_checked_out_gives_no_profile(client, keys, uid):
    response = post_batch(client, keys["writer"], [
        {"event_id": f"{uid}-cat", "source": "library", "type": "BOOK_CATALOGED", "timestamp": "2026-09-01T10:00:00Z",
         "book_id": f"{uid}-b", "title": "T"},
    ])
    wait_finished(client, keys["reader"], [r["id"] for r in response.get_json()["results"]], timeout=60)
    got = client.get(f"/api/v1/books/{uid}-b", headers=auth(keys["reader"]))
    # Neither level nor band: no band.
    assert got.status_code == 200 and got.get_json()["band"] is None
    assert got.get_json()["reading_level"] is None and got.get_json()["author"] is None


def test_keys_without_read_scope(client, keys, uid):
    path = f"/api/v1/students/{uid}-s/reading-profile"
    assert client.get(path).status_code == 401
    assert client.get(path, headers=auth("tmx_not-a-key")).status_code == 401
    assert client.get(path, headers=auth(keys["writer"])).status_code == 403
    assert client.get(f"/api/v1/books/{uid}-b", headers=auth(keys["writer"])).status_code == 403


def test_teacher_keys_read_only_students_of_their_classes(client, keys, uid):
    from tutormax.web.auth import create_api_key

    teacher, other = f"{uid}-t1", f"{uid}-t2"
    teacher_key = create_api_key(f"teacher-{uid}", ["read"], teacher_id=teacher)
    mine, classmate, stranger = f"{uid}-s1", f"{uid}-s2", f"{uid}-s3"
    learning = {"source": "lms", "standard_ids": ["std-1"], "timestamp": "2026-09-01T09:00:00Z"}
    events = [
        # Class c1 is linked to the teacher through s1's assignment; s2 is in c1 without a teacher_id.
        {**learning, "event_id": f"{uid}-l1", "type": "ASSIGNMENT_ASSIGNED", "student_id": mine,
         "class_id": f"{uid}-c1", "assignment_id": "a1", "teacher_id": teacher},
        {**learning, "event_id": f"{uid}-l2", "type": "SUBMISSION_CREATED", "student_id": classmate,
         "class_id": f"{uid}-c1", "assignment_id": "a1"},
        # s3 is only in c2, another teacher's class.
        {**learning, "event_id": f"{uid}-l3", "type": "ASSIGNMENT_ASSIGNED", "student_id": stranger,
         "class_id": f"{uid}-c2", "assignment_id": "a2", "teacher_id": other},
    ] + [
        {"event_id": f"{uid}-co-{s}", "source": "library", "type": "BOOK_CHECKED_OUT",
         "timestamp": "2026-09-02T09:00:00Z", "student_id": s, "book_id": f"{uid}-b"}
        for s in (mine, classmate, stranger)
    ]
    response = post_batch(client, keys["writer"], events)
    assert response.get_json()["accepted"] == 6, response.get_json()
    wait_finished(client, keys["reader"], [r["id"] for r in response.get_json()["results"]], timeout=60)

    def status(key: str, student: str) -> int:
        return client.get(f"/api/v1/students/{student}/reading-profile", headers=auth(key)).status_code

    assert status(teacher_key, mine) == 200
    assert status(teacher_key, classmate) == 200
    assert status(teacher_key, stranger) == 404
    assert status(teacher_key, f"{uid}-nobody") == 404
    # An unbound read key sees every student.
    assert status(keys["reader"], stranger) == 200
    # The catalog is not student data: a teacher key may read it (404 here only because b is uncataloged).
    assert client.get(f"/api/v1/books/{uid}-b", headers=auth(teacher_key)).status_code == 404


def test_ids_containing_a_slash_are_addressable(client, keys, uid):
    student, book_id = f"{uid}/s 1", f"{uid}/b"
    response = post_batch(client, keys["writer"], [
        {"event_id": f"{uid}-cat", "source": "library", "type": "BOOK_CATALOGED", "timestamp": "2026-09-01T10:00:00Z",
         "book_id": book_id, "title": "T", "reading_level": 4.0},
        {"event_id": f"{uid}-co", "source": "library", "type": "BOOK_CHECKED_OUT", "timestamp": "2026-09-02T10:00:00Z",
         "student_id": student, "book_id": book_id},
    ])
    wait_finished(client, keys["reader"], [r["id"] for r in response.get_json()["results"]], timeout=60)
    got = client.get(f"/api/v1/students/{uid}%2Fs%201/reading-profile", headers=auth(keys["reader"]))
    # 4.0 ≤ 4.0 → early_elementary.
    assert got.status_code == 200 and got.get_json()["student_id"] == student
    assert got.get_json()["histogram"] == {"early_elementary": 1}
    got = client.get(f"/api/v1/books/{uid}/b", headers=auth(keys["reader"]))
    assert got.status_code == 200
    assert got.get_json()["book_id"] == book_id and got.get_json()["band"] == "early_elementary"
