"""The chain on real workers: routing, processing, batching, sweeper repair, poison events."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import text, update

from tests.factories import checkout
from tests.helpers import auth, event_status, post_event, wait_finished, wait_for


def test_stages_are_routed_to_their_queues(app):
    celery = app.extensions["celery"]
    route = celery.amqp.router.route
    expected = {
        "tutormax.pipeline.validate": "ingest",
        "tutormax.pipeline.enrich": "enrich",
        "tutormax.pipeline.persist": "persist",
        "tutormax.pipeline.recompute.learning": "recompute.learning",
        "tutormax.pipeline.recompute.reading": "recompute.reading",
        "tutormax.pipeline.recompute.tutoring": "recompute.tutoring",
        "tutormax.pipeline.recompute.essays": "recompute.essays",
        "tutormax.maintenance.sweep_outbox": "maintenance",
    }
    for task, queue in expected.items():
        assert route({}, task)["queue"].name == queue


def test_event_reaches_processed_with_every_stage_time(client, keys, uid):
    pk = post_event(client, keys["writer"], checkout(uid, 1)).get_json()["id"]
    wait_finished(client, keys["reader"], [pk])
    status = event_status(client, keys["reader"], pk)
    stages = status["stages"]
    times = [stages[k] for k in ("received_at", "validated_at", "enriched_at", "persisted_at", "processed_at")]
    assert all(times), stages
    assert times == sorted(times)
    assert stages["dead_lettered_at"] is None and status["dead_letter"] is None


def test_crash_between_commit_and_dispatch_is_repaired_by_the_sweeper(client, keys, uid, monkeypatch):
    from tutormax.tasks import chains

    # The web process commits the event, then "crashes" before ringing the doorbell.
    monkeypatch.setattr(chains, "ring", lambda *a, **k: False)
    pk = post_event(client, keys["writer"], checkout(uid, 1)).get_json()["id"]
    assert event_status(client, keys["reader"], pk)["status"] == "received"
    # Beat runs the sweeper every 1.5 s and re-dispatches after 3 s without progress.
    wait_finished(client, keys["reader"], [pk], timeout=60)


def test_lost_messages_and_a_killed_worker_are_repaired(stack, client, keys, uid):
    from tutormax.redis_client import get_redis

    stack.kill("pipeline")
    try:
        pks = [post_event(client, keys["writer"], checkout(uid, n)).get_json()["id"] for n in range(3)]
        # Redis restarted without persistence: the queued messages are gone.
        get_redis().delete("ingest")
        assert all(event_status(client, keys["reader"], pk)["status"] == "received" for pk in pks)
    finally:
        from tutormax.devservers import PIPELINE_QUEUES

        stack.start_worker("pipeline", PIPELINE_QUEUES)
    wait_finished(client, keys["reader"], pks, timeout=60)


def _insert_raw_events(rows: list[dict]) -> list[int]:
    """Write events the way an older release might have: straight into the log."""
    from tutormax.db import session_scope

    pks = []
    with session_scope() as session:
        for row in rows:
            pk = session.execute(text(
                "INSERT INTO events (source, event_id, type, domain, timestamp, tz_offset_minutes, payload) "
                "VALUES (:source, :event_id, :type, :domain, now(), 0, CAST(:payload AS jsonb)) RETURNING id"
            ), row).scalar()
            session.execute(text("INSERT INTO outbox (event_pk, domain) VALUES (:pk, :domain)"),
                            {"pk": pk, "domain": row["domain"]})
            pks.append(pk)
    return pks


def test_poison_event_is_dead_lettered_alone_then_replayed(stack, client, keys, uid):
    import json

    from tutormax.tasks.chains import dispatch

    good = json.dumps({"student_id": "s1", "book_id": "b1"})
    bad = json.dumps({"student_id": "s1"})  # book_id missing: can never be processed as is
    pks = _insert_raw_events([
        {"source": "legacy", "event_id": f"{uid}-{n}", "type": "BOOK_CHECKED_OUT", "domain": "reading",
         "payload": bad if n == 1 else good}
        for n in range(3)
    ])
    dispatch({"reading": pks})  # one chain carrying all three
    wait_finished(client, keys["reader"], [pks[0], pks[2]])
    wait_finished(client, keys["reader"], [pks[1]], status="dead_lettered")

    letters = client.get("/api/v1/admin/dead-letters", headers=auth(keys["admin"])).get_json()
    letter = next(d for d in letters["dead_letters"] if d["event_pk"] == pks[1])
    assert letter["stage"] == "validate" and letter["reason"] == "invalid_payload"
    assert "book_id" in letter["error"] and letter["attempts"] == 1 and letter["state"] == "open"
    assert event_status(client, keys["reader"], pks[1])["dead_letter"]["reason"] == "invalid_payload"

    # Replaying before the cause is fixed dead-letters it again, with the attempts added up.
    assert client.post(f"/api/v1/admin/dead-letters/{letter['id']}/replay",
                       headers=auth(keys["admin"])).status_code == 202
    wait_for(lambda: _letter(client, keys, letter["id"])["attempts"] == 2, what="second failure")
    assert _letter(client, keys, letter["id"])["state"] == "open"

    # An operator repairs the payload; the replay then goes through.
    from tutormax.db import session_scope
    from tutormax.models.events import Event

    with session_scope() as session:
        session.execute(update(Event).where(Event.id == pks[1]).values(payload=json.loads(good)))
    response = client.post(f"/api/v1/admin/dead-letters/{letter['id']}/replay", headers=auth(keys["admin"]))
    assert response.status_code == 202 and response.get_json()["event_pk"] == pks[1]
    wait_finished(client, keys["reader"], [pks[1]])
    assert _letter(client, keys, letter["id"])["state"] == "replayed"
    # A replayed letter is no longer open: replaying or discarding it again is 404.
    assert client.post(f"/api/v1/admin/dead-letters/{letter['id']}/replay",
                       headers=auth(keys["admin"])).status_code == 404


def _letter(client, keys, letter_id: int) -> dict:
    body = client.get("/api/v1/admin/dead-letters?state=all&limit=1000", headers=auth(keys["admin"])).get_json()
    return next(d for d in body["dead_letters"] if d["id"] == letter_id)


def test_dlq_cli_lists_and_discards(stack, client, keys, uid):
    import json

    from tutormax.cli import main
    from tutormax.tasks.chains import dispatch

    pks = _insert_raw_events([{"source": "legacy", "event_id": f"{uid}-x", "type": "BOOK_CATALOGED",
                               "domain": "reading", "payload": json.dumps({"book_id": "b"})}])
    dispatch({"reading": pks})
    wait_finished(client, keys["reader"], pks, status="dead_lettered")
    letter = next(d for d in client.get("/api/v1/admin/dead-letters", headers=auth(keys["admin"])).get_json()
                  ["dead_letters"] if d["event_pk"] == pks[0])
    runner = CliRunner()
    listed = runner.invoke(main, ["dlq", "list"])
    assert listed.exit_code == 0 and f"event={pks[0]}" in listed.output and "invalid_payload" in listed.output
    discarded = runner.invoke(main, ["dlq", "discard", str(letter["id"])])
    assert discarded.exit_code == 0, discarded.output
    assert _letter(client, keys, letter["id"])["state"] == "discarded"
    assert f"event={pks[0]}" not in runner.invoke(main, ["dlq", "list"]).output
    assert runner.invoke(main, ["dlq", "replay", str(letter["id"])]).exit_code != 0
    assert client.delete(f"/api/v1/admin/dead-letters/{letter['id']}", headers=auth(keys["admin"])).status_code == 404


def test_delete_discards_an_open_dead_letter(stack, client, keys, uid):
    import json

    from tutormax.tasks.chains import dispatch

    pks = _insert_raw_events([{"source": "legacy", "event_id": f"{uid}-y", "type": "BOOK_CHECKED_OUT",
                               "domain": "reading", "payload": json.dumps({})}])
    dispatch({"reading": pks})
    wait_finished(client, keys["reader"], pks, status="dead_lettered")
    letter = next(d for d in client.get("/api/v1/admin/dead-letters", headers=auth(keys["admin"])).get_json()
                  ["dead_letters"] if d["event_pk"] == pks[0])
    assert client.delete(f"/api/v1/admin/dead-letters/{letter['id']}", headers=auth(keys["admin"])).status_code == 204
    assert _letter(client, keys, letter["id"])["state"] == "discarded"
    assert event_status(client, keys["reader"], pks[0])["status"] == "dead_lettered"
