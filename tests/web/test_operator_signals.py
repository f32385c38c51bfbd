"""Operator signals on /metrics (SPEC §4), seen the way Prometheus sees them, over the real stack.

tests/conftest.py runs TUTORMAX_OUTBOX_STALE_SECONDS=3, so beat sweeps the outbox every
1.5 s; one worker (`pipeline`) consumes ingest, enrich and persist, another (`recompute`)
the recompute queues and maintenance.
"""

from __future__ import annotations

import time
from datetime import datetime

from sqlalchemy import delete, text

from tests.helpers import auth, event_status, metric_value, post_event, wait_finished, wait_for

SWEEP_PERIOD = 1.5  # TUTORMAX_OUTBOX_STALE_SECONDS / 2


def scrape(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def signal(client, name: str, **labels: str) -> float | None:
    return metric_value(scrape(client), name, **labels)


def test_build_info_readiness_and_schedule(client, stack):
    exposition = scrape(client)
    with stack.app.app_context():
        from tutormax.db import get_engine

        with get_engine().connect() as conn:
            head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    # The test database was just migrated to head, so its revision is the release's head.
    assert metric_value(exposition, "tutormax_build_info", version="0.1.0", revision=head) == 1
    assert metric_value(exposition, "tutormax_ready") == 1
    assert metric_value(exposition, "tutormax_outbox_stale_seconds") == 3
    # celeryconfig: the sweeper every STALE/2 s, the profile-stream drain every 60 s, the
    # tutor recompute daily at 02:00.
    assert metric_value(exposition, "tutormax_beat_period_seconds", job="sweep-outbox") == 1.5
    assert metric_value(exposition, "tutormax_beat_period_seconds", job="drain-reading-profile-stream") == 60
    assert metric_value(exposition, "tutormax_beat_period_seconds", job="nightly-tutor-recompute") == 86400


def test_readiness_signal_follows_readyz(client, monkeypatch):
    from tutormax.web import ops

    monkeypatch.setattr(ops, "schema_is_current", lambda engine: False)
    assert client.get("/readyz").status_code == 503
    assert signal(client, "tutormax_ready") == 0


def test_dead_letters_open_by_reason(client, stack, keys, uid):
    from tutormax.db import session_scope
    from tutormax.models.events import STATUS_DEAD_LETTERED, DeadLetter, Event

    reason = f"test_{uid}"
    with stack.app.app_context(), session_scope() as session:
        events = [Event(source="ops-test", event_id=f"{uid}-{n}", type="BOOK_CHECKED_OUT", domain="reading",
                        timestamp=datetime.fromisoformat("2026-09-01T08:00:00+00:00"), payload={},
                        status=STATUS_DEAD_LETTERED) for n in range(3)]
        session.add_all(events)
        session.flush()
        letters = [DeadLetter(event_pk=e.id, stage="persist", reason=reason, error="test") for e in events]
        session.add_all(letters)
        session.flush()
        letter_ids = [letter.id for letter in letters]
    try:
        assert signal(client, "tutormax_dead_letters_open", reason=reason) == 3
        # An operator discards one: two stay open.
        deleted = client.delete(f"/api/v1/admin/dead-letters/{letter_ids[0]}", headers=auth(keys["admin"]))
        assert deleted.status_code == 204
        exposition = scrape(client)
        assert metric_value(exposition, "tutormax_dead_letters_open", reason=reason) == 2
        # The documented reasons are always there, so a rate sees their first letter.
        for documented in ("invalid_payload", "unknown_tutor", "unknown_session", "processing_error",
                           "transient_error"):
            assert metric_value(exposition, "tutormax_dead_letters_open", reason=documented) is not None
    finally:
        with stack.app.app_context(), session_scope() as session:
            session.execute(delete(Event).where(Event.source == "ops-test", Event.event_id.like(f"{uid}-%")))


def test_workers_count_heartbeats_of_the_last_minute(client, uid):
    from tutormax import metrics

    wait_for(lambda: signal(client, "tutormax_workers", queue="maintenance") == 1, timeout=90,
             what="the recompute worker alone on maintenance")
    now = time.time()
    fresh, gone = f"fresh-{uid}@test", f"gone-{uid}@test"
    metrics.record_worker_heartbeat(fresh, ["maintenance"], when=now - 45)
    metrics.record_worker_heartbeat(gone, ["maintenance"], when=now - 75)
    try:
        # 45 s ago is within the last minute, 75 s ago is not.
        assert signal(client, "tutormax_workers", queue="maintenance") == 2
        metrics.forget_worker(fresh)
        assert signal(client, "tutormax_workers", queue="maintenance") == 1
    finally:
        metrics.forget_worker(fresh)
        metrics.forget_worker(gone)


def test_beat_signal_goes_stale_when_beat_stops_and_recovers(client, stack):
    def since_last_sweep() -> float | None:
        last = signal(client, "tutormax_beat_last_success_timestamp_seconds", job="sweep-outbox")
        return None if last is None else time.time() - last

    wait_for(lambda: (age := since_last_sweep()) is not None and age < 2 * SWEEP_PERIOD, timeout=60,
             what="a sweep within the last two periods")
    stack.stop("beat")
    try:
        # Ten periods without a sweep: with beat running that cannot happen (the alert
        # fires after two).
        wait_for(lambda: since_last_sweep() > 10 * SWEEP_PERIOD, timeout=90, what="the sweeper signal to go stale")
        # A sweep run by hand does not count as beat's: it must not hide a stopped beat.
        log = stack.workdir / "recompute.log"
        task_id = stack.app.extensions["celery"].send_task("tutormax.maintenance.sweep_outbox").id
        wait_for(lambda: f"{task_id}] succeeded".encode() in log.read_bytes(), timeout=60,
                 what="the hand-run sweep to succeed")
        assert since_last_sweep() > 10 * SWEEP_PERIOD
    finally:
        stack.start_beat()
    wait_for(lambda: since_last_sweep() < 2 * SWEEP_PERIOD, timeout=90, what="the sweeper signal to recover")


def test_stopping_the_pipeline_worker_shows_in_workers_and_oldest_event_age(client, stack, keys, uid):
    from tutormax.devservers import PIPELINE_QUEUES

    def workers(queue: str) -> float | None:
        return signal(client, "tutormax_workers", queue=queue)

    def oldest_age() -> float | None:
        return signal(client, "tutormax_outbox_oldest_age_seconds")

    wait_for(lambda: oldest_age() == 0, timeout=120, what="an idle pipeline")
    wait_for(lambda: all(workers(q) == 1 for q in PIPELINE_QUEUES.split(",")), timeout=60, what="the pipeline worker")
    stack.stop("pipeline")
    try:
        wait_for(lambda: all(workers(q) == 0 for q in PIPELINE_QUEUES.split(",")), timeout=90,
                 what="no worker on the pipeline queues")
        assert workers("recompute.reading") == 1  # the other worker is unaffected
        event = {"event_id": f"{uid}-stuck", "source": "ops", "type": "BOOK_CHECKED_OUT",
                 "timestamp": "2026-09-01T08:00:00Z", "student_id": f"s-{uid}", "book_id": f"b-{uid}"}
        pk = post_event(client, keys["writer"], event).get_json()["id"]
        received_at = datetime.fromisoformat(event_status(client, keys["reader"], pk)["stages"]["received_at"])
        first = wait_for(lambda: (age := oldest_age()) >= 2 and age, timeout=60, what="the oldest event to age")
        before = time.time()
        later = wait_for(lambda: (age := oldest_age()) > first and age, timeout=60, what="the age to keep rising")
        after = time.time()
        # The pipeline was idle, so the oldest unfinished event is ours: its age is the
        # time since the API received it (half a second for clock rounding).
        assert before - received_at.timestamp() - 0.5 <= later <= after - received_at.timestamp() + 0.5
    finally:
        stack.revive()
    wait_for(lambda: all(workers(q) == 1 for q in PIPELINE_QUEUES.split(",")), timeout=60,
             what="the pipeline worker to be seen again")
    wait_finished(client, keys["reader"], [pk], timeout=90)
    wait_for(lambda: oldest_age() == 0, timeout=60, what="the oldest event age to return to 0")
