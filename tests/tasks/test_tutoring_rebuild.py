"""A tutoring rebuild while an event is mid-chain: its records must survive (the shared rebuild rule).

The event's persist stage has committed its session row, its recompute stage has not
run yet (it is `received` with `persisted_at` set). A rebuild that replays only
`processed` events would delete that row and never bring it back: the chain's last
stage only refreshes metrics.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from tests.factories import session_event, tutor_event
from tests.helpers import accepted_ids, get_json, post_batch, wait_finished


def _store_without_dispatch(body: dict) -> int:
    """Store one event as the API would, with its outbox row claimed so no chain picks it up."""
    from tutormax.ingest import store_events
    from tutormax.schemas.events import validate_event
    from tutormax.tasks import chains

    ring, chains.ring = chains.ring, lambda *a, **k: True
    try:
        (stored,) = store_events([validate_event(body)])
    finally:
        chains.ring = ring
    from tutormax.db import session_scope

    with session_scope() as session:
        session.execute(text("UPDATE outbox SET claimed_at = now() WHERE event_pk = :pk"), {"pk": stored.id})
    return stored.id


def test_a_rebuild_keeps_the_records_of_an_event_whose_persist_committed(client, keys, uid):
    from tutormax.tasks import pipeline
    from tutormax.tasks.tutoring import rebuild_tutoring

    tutor = f"t-{uid}"
    start = datetime.now(UTC) - timedelta(days=1)
    ids = accepted_ids(post_batch(client, keys["writer"], [
        tutor_event(uid, tutor), session_event(uid, f"s1-{uid}", tutor, start)]))
    wait_finished(client, keys["reader"], ids)

    pk = _store_without_dispatch(session_event(uid, f"s2-{uid}", tutor, start + timedelta(hours=2)))
    for stage in ("validate", "enrich", "persist"):
        ok, failures, _ = pipeline._run_handler(stage, "tutoring", [pk])
        assert ok == [pk] and not failures, (stage, failures)

    sessions = get_json(client, keys["reader"], f"/api/v1/tutors/{tutor}/sessions")["sessions"]
    assert {s["session_id"] for s in sessions} == {f"s1-{uid}", f"s2-{uid}"}

    rebuild_tutoring()
    sessions = get_json(client, keys["reader"], f"/api/v1/tutors/{tutor}/sessions")["sessions"]
    assert {s["session_id"] for s in sessions} == {f"s1-{uid}", f"s2-{uid}"}

    # The chain then finishes as usual, and the metrics count both sessions.
    ok, failures, finished = pipeline._run_handler("recompute", "tutoring", [pk])
    assert ok == [pk] and len(finished) == 1
    wait_finished(client, keys["reader"], [pk])
    rebuild_tutoring()
    windows = get_json(client, keys["reader"], f"/api/v1/tutors/{tutor}/metrics")["windows"]
    assert windows["7day"]["total_sessions_scheduled"] == 2
