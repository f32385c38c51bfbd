"""Outages of PostgreSQL: the API says 503, workers retry with backoff, nothing is lost."""

from __future__ import annotations

from tests.factories import checkout
from tests.helpers import event_status, post_event, wait_finished, wait_for


def test_database_outage(stack, client, keys, uid):
    from tutormax.devservers import PIPELINE_QUEUES

    stack.kill("pipeline")
    pk = post_event(client, keys["writer"], checkout(uid, 1)).get_json()["id"]  # queued, not consumed
    log = stack.workdir / "pipeline.log"
    offset = log.stat().st_size if log.exists() else 0
    stack.pg.stop()
    try:
        response = post_event(client, keys["writer"], checkout(uid, 2))
        assert response.status_code == 503
        assert response.get_json()["code"] == 503 and response.headers["Retry-After"] == "5"
        stack.start_worker("pipeline", PIPELINE_QUEUES)
        # The worker takes the queued chain, cannot reach PostgreSQL and retries with backoff.
        wait_for(lambda: b"transient failure; retrying" in log.read_bytes()[offset:], timeout=30,
                 what="a transient retry in the worker log")
    finally:
        stack.pg.start()
        stack.revive()
    wait_finished(client, keys["reader"], [pk], timeout=90)


def test_redis_restart_without_persistence(stack, client, keys, uid):
    """Redis goes away with every queued message: the API still accepts, the sweeper repairs."""
    stack.redis.stop()
    try:
        response = post_event(client, keys["writer"], checkout(uid, 3))
        # Stored in PostgreSQL; the dispatch failed and is left to the outbox.
        assert response.status_code == 202 and response.get_json()["duplicate"] is False
        pk = response.get_json()["id"]
    finally:
        stack.redis.start()

    # No worker is restarted here: they reconnect by themselves (tutormax/broker.py).
    wait_for(lambda: event_status(client, keys["reader"], pk)["status"] == "processed", timeout=120,
             what="the event to be processed after the restart")
    assert not [name for name, proc in stack.procs.items() if proc.poll() is not None]
