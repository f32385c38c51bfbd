"""The internal API's Redis cache: hits, active invalidation, and PostgreSQL when Redis is down."""

from __future__ import annotations

import redis

import tutormax.redis_client
from tests.factories import Essays
from tests.helpers import INTERNAL, batch_status, metric, send, status_body, user_batches
from tutormax.devservers import free_port


def test_cached_status_read_then_update_is_never_stale(client, keys, uid):
    make = Essays(uid)
    batch, user = f"b-{uid}", f"u-{uid}"
    send(client, keys, make.registered(batch, user, ["e1", "e2"]))
    hits = metric(client, "tutormax_cache_hits_total", cache="batch_status")
    misses = metric(client, "tutormax_cache_misses_total", cache="batch_status")

    first = status_body(client, batch)  # miss: read from PostgreSQL, stored in Redis
    second = status_body(client, batch)  # hit
    assert first == second and first["current_phase"] == "spellcheck"
    assert metric(client, "tutormax_cache_misses_total", cache="batch_status") == misses + 1
    assert metric(client, "tutormax_cache_hits_total", cache="batch_status") == hits + 1

    send(client, keys, make.spellcheck(batch, "e1", "SUCCESS", 1), make.spellcheck(batch, "e2", "SUCCESS", 2))
    # The very next read after `processed` shows the update: the cached body was invalidated.
    body = status_body(client, batch)
    assert [e["spellcheck_status"] for e in body["essays"]] == ["completed", "completed"]
    assert body["current_phase"] == "cj_assessment"
    # And that fresh body is what the cache now serves.
    assert status_body(client, batch) == body
    assert metric(client, "tutormax_cache_hits_total", cache="batch_status") == hits + 2


def test_cached_user_list_sees_new_and_changed_batches(client, keys, uid):
    make = Essays(uid)
    user = f"u-{uid}"
    send(client, keys, make.registered(f"b1-{uid}", user, ["e1"], minute=1))
    hits = metric(client, "tutormax_cache_hits_total", cache="user_batches")
    processing = user_batches(client, user, "?status=processing").get_json()
    everything = user_batches(client, user).get_json()
    assert user_batches(client, user).get_json() == everything  # second read of the same page: a hit
    assert metric(client, "tutormax_cache_hits_total", cache="user_batches") == hits + 1
    assert processing["pagination"]["total"] == everything["pagination"]["total"] == 1

    # A new batch and a status change of the old one: both cached pages must change.
    send(client, keys, make.registered(f"b2-{uid}", user, ["e1"], minute=2),
         make.outcome(f"b1-{uid}", "spellcheck", "completed_successfully", ["e1"], [], 3))
    everything = user_batches(client, user).get_json()
    assert [b["batch_id"] for b in everything["batches"]] == [f"b2-{uid}", f"b1-{uid}"]
    assert [b["overall_status"] for b in everything["batches"]] == ["processing", "completed_successfully"]
    processing = user_batches(client, user, "?status=processing").get_json()
    assert [b["batch_id"] for b in processing["batches"]] == [f"b2-{uid}"]


def test_api_answers_from_postgresql_when_redis_is_unreachable(client, keys, uid, monkeypatch):
    make = Essays(uid)
    batch, user = f"b-{uid}", f"u-{uid}"
    send(client, keys, make.registered(batch, user, ["e1"]),
         make.outcome(batch, "spellcheck", "completed_successfully", ["e1"], [], 1))
    cached = status_body(client, batch)  # also fills the cache

    # Only this process's client points at a port nobody listens on; the shared Redis keeps running.
    dead = redis.Redis(port=free_port(), socket_connect_timeout=0.2, socket_timeout=0.2, decode_responses=True)
    monkeypatch.setattr(tutormax.redis_client, "_client", dead)
    for _ in range(2):  # the first read meets the error, the second bypasses the cache
        response = batch_status(client, batch)
        assert response.status_code == 200
        assert response.get_json() == cached
        listing = user_batches(client, user)
        assert listing.status_code == 200
        assert [b["batch_id"] for b in listing.get_json()["batches"]] == [batch]
    assert batch_status(client, f"missing-{uid}").status_code == 404
    monkeypatch.undo()

    # Redis back: the cache works again at once.
    assert batch_status(client, batch, INTERNAL).get_json() == cached


def test_a_read_racing_an_update_cannot_cache_the_old_body(stack, uid):
    from tutormax.cache import batch_cache_key, batch_version_key, invalidate_cache
    from tutormax.web.essays import read_through

    batch = f"race-{uid}"

    def read(load):
        return read_through("batch_status", batch_version_key(batch), lambda v: batch_cache_key(batch, v), load)

    def load_old_rows_while_an_update_commits():
        # This reader got the old rows; the recompute commits and invalidates before it writes the cache.
        invalidate_cache([batch], [])
        return {"batch_id": batch, "state": "old"}

    assert read(load_old_rows_while_an_update_commits) == {"batch_id": batch, "state": "old"}
    # The old body went in under the previous version: the next reader misses and loads the new rows.
    assert read(lambda: {"batch_id": batch, "state": "new"}) == {"batch_id": batch, "state": "new"}
    assert read(lambda: {"batch_id": batch, "state": "unexpected"}) == {"batch_id": batch, "state": "new"}
