"""The profile stream under redelivery: a change is appended once, an unchanged recompute appends nothing.

The pipeline is driven for real (POST, workers); the redelivery itself is simulated
in-process by running the recompute handler and the publisher again, as a worker
would after a broker redelivery or a crash between commit and XADD.
"""

from __future__ import annotations

from datetime import timedelta

from tests.helpers import auth, post_event, wait_finished, wait_for


def checkout_processed(client, keys, uid: str, student: str) -> int:
    response = post_event(client, keys["writer"], {
        "event_id": f"{uid}-co", "source": "library", "type": "BOOK_CHECKED_OUT",
        "timestamp": "2026-09-01T08:00:00Z", "student_id": student, "book_id": f"{uid}-b"})
    assert response.status_code == 202, response.get_json()
    pk = response.get_json()["id"]
    wait_finished(client, keys["reader"], [pk], timeout=60)
    return pk


def test_a_redelivered_recompute_appends_nothing(client, keys, uid, consumer):
    from sqlalchemy import select

    from tutormax.db import session_scope
    from tutormax.models.events import Event
    from tutormax.tasks.reading import recompute_reading

    student = f"{uid}-s"
    pk = checkout_processed(client, keys, uid, student)
    wait_for(lambda: consumer.poll() or consumer.event_ids(student), timeout=30, what="the first entry")
    profile = client.get(f"/api/v1/students/{student}/reading-profile", headers=auth(keys["reader"])).get_json()

    # The recompute handler run again for the same event (as after a redelivery) finds no change.
    with session_scope() as session:
        recompute_reading(session, session.scalars(select(Event).where(Event.id == pk)).all())

    consumer.poll(block_ms=500)
    assert consumer.event_ids(student) == [str(pk)]
    again = client.get(f"/api/v1/students/{student}/reading-profile", headers=auth(keys["reader"])).get_json()
    assert again == profile


def test_a_pending_change_is_appended_exactly_once(client, keys, uid, consumer):
    from sqlalchemy import select

    from tutormax.db import session_scope, utcnow
    from tutormax.models.reading import ProfilePublication
    from tutormax.tasks.profile_stream import append_to_stream, publish_pending

    student = f"{uid}-s"
    pk = checkout_processed(client, keys, uid, student)
    wait_for(lambda: consumer.poll() or consumer.event_ids(student), timeout=30, what="the first entry")

    # A change committed by a worker that then died between XADD and deleting its pending row.
    fake_pk = pk + 1_000_000
    with session_scope() as session:
        row = ProfilePublication(student_id=student, version=99, event_pk=fake_pk, changed_at=utcnow(),
                                 created_at=utcnow() - timedelta(minutes=1))
        session.add(row)
    assert append_to_stream([row]) == 1
    # Whoever drains it next (this call, or any worker's drain of orphans) must not append it again.
    assert append_to_stream([row]) == 0
    publish_pending([row.id])
    publish_pending()

    consumer.poll(block_ms=500)
    assert consumer.event_ids(student) == [str(pk), str(fake_pk)]
    with session_scope() as session:
        left = session.scalars(select(ProfilePublication).where(ProfilePublication.student_id == student)).all()
    assert left == []
