"""The doorbell dispatch on real workers: chains follow the load, and nothing is lost or counted twice.

Each stage of a chain stamps all its events in one transaction, and PostgreSQL's now()
is the transaction's start time: the events of one chain share their `validated_at`,
`enriched_at` and `persisted_at`. Counting distinct triples of them counts chains.
"""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import text

from tests.factories import checkout, learning_event
from tests.helpers import event_status, post_event, wait_finished, wait_for


def _rows(sql: str, **params) -> list:
    from tutormax.db import session_scope

    with session_scope() as session:
        return list(session.execute(text(sql), params))


def chain_sizes(ids: list[int]) -> list[int]:
    """Events per chain, largest first: a chain's events share the `now()` of each of its stage transactions,
    so two chains share all three stamps only if three pairs of transactions began in the same microsecond."""
    stamps = Counter(tuple(row) for row in _rows(
        "SELECT validated_at, enriched_at, persisted_at FROM events WHERE id = ANY(:ids)", ids=ids))
    return sorted(stamps.values(), reverse=True)


def counter(name: str, **labels: str) -> float:
    import json

    from tutormax.metrics import PREFIX
    from tutormax.redis_client import get_redis

    return float(get_redis().hget(PREFIX + name, json.dumps(labels, separators=(",", ":"))) or 0)


def histogram_count(name: str) -> int:
    from tutormax.metrics import PREFIX
    from tutormax.redis_client import get_redis

    return int(get_redis().hget(PREFIX + name, "count") or 0)


def outbox_empty() -> bool:
    return _rows("SELECT count(*) FROM outbox")[0][0] == 0


def quiet_counter(name: str, **labels: str) -> float:
    """The counter once nothing is in flight (a chain counts right after its commit)."""
    import time

    def settled():
        first = counter(name, **labels)
        time.sleep(0.5)
        return outbox_empty() and counter(name, **labels) == first

    wait_for(settled, timeout=60, what=f"{name} to settle")
    return counter(name, **labels)


def test_burst_of_single_posts_shares_chains_and_counts_each_event_once(app, keys, uid):
    processed_before = quiet_counter("tutormax_events_processed", type="BOOK_CHECKED_OUT")
    e2e_before = histogram_count("tutormax_event_e2e_seconds")
    ids: list[int] = []
    failures: list[int] = []

    def client_thread(numbers: range) -> None:
        client = app.test_client()
        for n in numbers:
            response = post_event(client, keys["writer"], checkout(uid, n, student=f"s-{uid}-{n % 7}"))
            if response.status_code != 202:
                failures.append(response.status_code)
            else:
                ids.append(response.get_json()["id"])

    threads = [threading.Thread(target=client_thread, args=(range(t, 500, 16),)) for t in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures and len(set(ids)) == 500

    wait_for(lambda: _rows("SELECT count(*) FROM events WHERE id = ANY(:ids) AND status = 'processed'",
                           ids=ids)[0][0] == 500, timeout=120, what="500 events processed")
    processed_after = quiet_counter("tutormax_events_processed", type="BOOK_CHECKED_OUT")
    sizes = chain_sizes(ids)
    assert sum(sizes) == 500
    # Far fewer chains than events: a chain carries what arrived while the previous one ran.
    assert len(sizes) <= 125, sizes
    # Counted once each, whatever chain carried them.
    assert processed_after - processed_before == 500
    assert histogram_count("tutormax_event_e2e_seconds") - e2e_before == 500
    # The reading view counts every checkout once: 500 checkouts of one book by 7 students.
    totals = _rows("SELECT sum(total_checkouts) FROM reading_profiles WHERE student_id LIKE :p", p=f"s-{uid}-%")
    assert totals[0][0] == 500


def test_a_batch_is_claimed_in_chains_of_at_most_chain_batch(client, keys, uid):
    from tests.helpers import post_batch

    reading = [checkout(uid, n, student=f"s-{uid}-{n % 7}") for n in range(600)]
    essays = [{"event_id": f"{uid}-batch-{n}", "source": "essays", "type": "BATCH_REGISTERED",
               "timestamp": "2026-09-01T08:00:00Z", "batch_id": f"bt-{uid}-{n}", "user_id": f"u-{uid}",
               "essay_ids": ["e1"]} for n in range(400)]
    body = post_batch(client, keys["writer"], reading + essays).get_json()
    assert body["accepted"] == 1000
    ids = [r["id"] for r in body["results"]]
    wait_for(lambda: _rows("SELECT count(*) FROM events WHERE id = ANY(:ids) AND status = 'processed'",
                           ids=ids)[0][0] == 1000, timeout=120, what="1000 events processed")
    # TUTORMAX_CHAIN_BATCH is 500: ⌈600/500⌉ + ⌈400/500⌉ = 3 chains, not 1000.
    assert chain_sizes(ids[:600]) == [500, 100]
    assert chain_sizes(ids[600:]) == [400]


def test_an_event_arriving_while_a_chain_runs_is_picked_up_by_the_next(client, keys, uid):
    """A chain held inside its persist stage does not hold back events that arrive meanwhile."""
    from tutormax.db import session_scope
    from tutormax.locks import lock_all
    from tutormax.tasks.learning import CLASS_LOCKS

    held = learning_event(uid, "1", "graded", "s1", "held", "a1", ["STD"], "2026-09-01", "08:00:00", score=70)
    free = learning_event(uid, "2", "graded", "s1", "free", "a1", ["STD"], "2026-09-01", "08:00:00", score=80)
    with session_scope() as session:
        # The class lock the learning persist stage takes: the first chain waits for it.
        lock_all(session, CLASS_LOCKS, [held["class_id"]])
        held_pk = post_event(client, keys["writer"], held).get_json()["id"]
        wait_for(lambda: event_status(client, keys["reader"], held_pk)["stages"]["enriched_at"],
                 timeout=30, what="the first chain to reach persist")
        free_pk = post_event(client, keys["writer"], free).get_json()["id"]
        wait_finished(client, keys["reader"], [free_pk], timeout=30)
        status = event_status(client, keys["reader"], held_pk)
        assert status["status"] == "received" and status["stages"]["persisted_at"] is None
    wait_finished(client, keys["reader"], [held_pk], timeout=30)
    assert chain_sizes([held_pk, free_pk]) == [1, 1]


def test_a_lost_ring_is_repaired_by_the_sweeper(client, keys, uid):
    """A ring whose validate message vanished keeps the doorbell silent; the sweeper rings anyway."""
    from tutormax.redis_client import get_redis
    from tutormax.tasks.chains import DOORBELL_KEY

    redis = get_redis()
    # A pending ring that will not expire during the test, and whose message is gone.
    redis.set(DOORBELL_KEY + "reading", "1", ex=600)
    try:
        pk = post_event(client, keys["writer"], checkout(uid, 1)).get_json()["id"]
        assert event_status(client, keys["reader"], pk)["status"] == "received"
        # No request can ring while the key is set: only the sweeper (every 1.5 s,
        # after 3 s without progress in tests) can start this chain.
        wait_finished(client, keys["reader"], [pk], timeout=60)
    finally:
        redis.delete(DOORBELL_KEY + "reading")


def test_a_worker_killed_holding_claimed_events_loses_nothing(stack, client, keys, uid):
    from tests.helpers import post_batch
    from tutormax.db import session_scope
    from tutormax.devservers import PIPELINE_QUEUES
    from tutormax.locks import lock_all
    from tutormax.tasks.learning import CLASS_LOCKS

    grades = [learning_event(uid, str(n), "graded", f"s{n}", "c", "a1", ["STD"], "2026-09-01", f"08:0{n}:00",
                             score=60 + n) for n in range(3)]
    try:
        with session_scope() as session:
            lock_all(session, CLASS_LOCKS, [grades[0]["class_id"]])
            pks = [r["id"] for r in post_batch(client, keys["writer"], grades).get_json()["results"]]
            wait_for(lambda: all(event_status(client, keys["reader"], pk)["stages"]["enriched_at"] for pk in pks),
                     timeout=30, what="the chain to reach persist")
            claimed = _rows("SELECT count(*) FROM outbox WHERE event_pk = ANY(:ids) AND claimed_at IS NOT NULL",
                            ids=pks)[0][0]
            assert claimed == 3
            # SIGKILL while the persist task holds the claimed events: its message stays unacked.
            stack.kill("pipeline")
    finally:
        stack.start_worker("pipeline", PIPELINE_QUEUES)
    wait_finished(client, keys["reader"], pks, timeout=90)
    # Each grade counted once: one attempt per student for the standard.
    for n, g in enumerate(grades):
        response = client.get(f"/api/v1/students/{g['student_id']}/mastery",
                              headers={"Authorization": f"Bearer {keys['reader']}"})
        (mastery,) = response.get_json()["mastery"]
        assert (mastery["standard_id"], mastery["attempts"], mastery["mastery_score"]) == (
            g["standard_ids"][0], 1, (60 + n) / 100)
