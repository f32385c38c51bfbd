"""Tutoring pipeline on the real stack: referential waits, dead letters and replay, the per-tutor
debounce across workers, and the nightly recompute (SPEC §3.3)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from tests.factories import feedback_event, session_event, tutor_event
from tests.helpers import accepted_ids, auth, event_status, get_json, post_batch, post_event, wait_finished, wait_for

UTC = timezone.utc


def counter(client, name: str) -> float:
    """`name{kind="tutor_metrics"}` from the web `/metrics` text: every worker's increments, aggregated."""
    text = client.get("/metrics").get_data(as_text=True)
    match = re.search(rf'^{name}_total{{kind="tutor_metrics"}} (\S+)$', text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def no_tutor_metrics_locks() -> bool:
    from tutormax.redis_client import get_redis

    return not list(get_redis().scan_iter("tutormax:tutor_metrics:*:lock"))


def test_session_waits_for_its_tutor_posted_after_it(client, keys, uid):
    tutor = f"{uid}-t"
    start = datetime.now(UTC) - timedelta(days=1)
    early = post_event(client, keys["writer"], session_event(uid, f"{uid}-s", tutor, start))
    assert early.status_code == 202
    late = post_event(client, keys["writer"], tutor_event(uid, tutor))
    # Well within TUTORMAX_REFERENCE_WAIT_SECONDS (8 s in tests): the session is processed, not dead-lettered.
    wait_finished(client, keys["reader"], [early.get_json()["id"], late.get_json()["id"]], timeout=30)
    sessions = get_json(client, keys["reader"], f"/api/v1/tutors/{tutor}/sessions")["sessions"]
    assert [s["session_id"] for s in sessions] == [f"{uid}-s"]


def test_orphans_are_dead_lettered_then_replayed_after_the_reference_arrives(client, keys, uid):
    tutor = f"{uid}-t"
    start = datetime.now(UTC) - timedelta(days=1)
    orphan_session = post_event(client, keys["writer"], session_event(uid, f"{uid}-s1", tutor, start))
    orphan_feedback = post_event(client, keys["writer"],
                                 feedback_event(uid, f"{uid}-s2", tutor, 5, start + timedelta(hours=2)))
    session_pk, feedback_pk = orphan_session.get_json()["id"], orphan_feedback.get_json()["id"]
    wait_finished(client, keys["reader"], [session_pk, feedback_pk], timeout=40, status="dead_lettered")
    letters = {}
    for pk, reason in ((session_pk, "unknown_tutor"), (feedback_pk, "unknown_session")):
        letter = event_status(client, keys["reader"], pk)["dead_letter"]
        assert letter["reason"] == reason
        letters[pk] = letter["id"]

    # The references arrive; replays then succeed.
    ids = accepted_ids(post_batch(client, keys["writer"], [
        tutor_event(uid, tutor), session_event(uid, f"{uid}-s2", tutor, start + timedelta(hours=3))]))
    wait_finished(client, keys["reader"], ids)
    for pk in (session_pk, feedback_pk):
        replay = client.post(f"/api/v1/admin/dead-letters/{letters[pk]}/replay", headers=auth(keys["admin"]))
        assert replay.status_code == 202, replay.get_json()
    wait_finished(client, keys["reader"], [session_pk, feedback_pk], timeout=30)
    sessions = get_json(client, keys["reader"], f"/api/v1/tutors/{tutor}/sessions")["sessions"]
    by_id = {s["session_id"]: s for s in sessions}
    assert set(by_id) == {f"{uid}-s1", f"{uid}-s2"}
    assert by_id[f"{uid}-s2"]["feedback"]["overall_rating"] == 5


def test_burst_for_one_tutor_costs_at_most_two_recomputes(client, keys, uid):
    tutor = f"{uid}-t"
    created = post_event(client, keys["writer"], tutor_event(uid, tutor))
    wait_finished(client, keys["reader"], [created.get_json()["id"]])
    # Let every earlier debounced run (this test's tutor and other tests') finish before counting.
    wait_for(no_tutor_metrics_locks, timeout=30, what="pending tutor recomputes to finish")
    recomputes, coalesced = counter(client, "tutormax_recomputes"), counter(client, "tutormax_recomputes_coalesced")

    now = datetime.now(UTC)
    burst = [session_event(uid, f"{uid}-b{n}", tutor, now - timedelta(days=1, minutes=n)) for n in range(100)]
    ids = accepted_ids(post_batch(client, keys["writer"], burst))
    for n in range(3):
        body = session_event(uid, f"{uid}-x{n}", tutor, now - timedelta(hours=n + 1))
        single = post_event(client, keys["writer"], body)
        assert single.status_code == 202
        ids.append(single.get_json()["id"])
    wait_finished(client, keys["reader"], ids, timeout=60)

    def all_counted():
        window = get_json(client, keys["reader"], f"/api/v1/tutors/{tutor}/metrics?window=7day")["windows"]["7day"]
        return window["total_sessions_scheduled"] == 103

    wait_for(all_counted, timeout=30, what="metrics to include all 103 sessions")
    wait_for(no_tutor_metrics_locks, timeout=30, what="the debounced runs to finish")
    ran = counter(client, "tutormax_recomputes") - recomputes
    folded = counter(client, "tutormax_recomputes_coalesced") - coalesced
    # Four recompute requests (one per chain) for one tutor: one or two runs, the rest coalesced.
    assert 1 <= ran <= 2, ran
    assert folded >= 1, folded
    print(f"recomputes for a burst of 103 events for one tutor: {ran:g} (coalesced requests: {folded:g})")


def test_debounce_lock_always_expires(client, keys, uid, app):
    from tutormax.redis_client import get_redis
    from tutormax.tasks.tutoring import request_recompute

    tutor = f"{uid}-t"
    created = post_event(client, keys["writer"], tutor_event(uid, tutor))
    wait_finished(client, keys["reader"], [created.get_json()["id"]])
    wait_for(no_tutor_metrics_locks, timeout=30, what="pending tutor recomputes to finish")
    lock = f"tutormax:tutor_metrics:{{{tutor}}}:lock"
    with app.app_context():
        assert request_recompute([tutor]) == 1
        # A second request inside the window only marks the tutor dirty.
        assert request_recompute([tutor]) == 0
    ttl = get_redis().ttl(lock)
    # Debounce 2 s + 300 s margin: well above the countdown and a run, but finite.
    assert 2 < ttl <= 302, ttl
    wait_for(lambda: get_redis().get(lock) is None, timeout=30, what="the owner to release the lock")


def test_nightly_recompute_refreshes_metrics_and_tutors(client, keys, uid, app):
    from tutormax.tasks.tutoring import nightly_recompute

    tutor = f"{uid}-t"
    ids = accepted_ids(post_batch(client, keys["writer"], [
        tutor_event(uid, tutor), session_event(uid, f"{uid}-s", tutor, datetime.now(UTC) - timedelta(days=40))]))
    wait_finished(client, keys["reader"], ids)

    def computed_at():
        return get_json(client, keys["reader"], f"/api/v1/tutors/{tutor}/metrics")["windows"]["90day"]["computed_at"]

    before = wait_for(computed_at, timeout=30, what="the first metrics")
    derived_before = get_json(client, keys["reader"], f"/api/v1/tutors/{tutor}")["derived_at"]
    with app.app_context():
        nightly_recompute.delay()
    wait_for(lambda: datetime.fromisoformat(computed_at()) > datetime.fromisoformat(before), timeout=30,
             what="the nightly run to recompute the tutor")
    windows = get_json(client, keys["reader"], f"/api/v1/tutors/{tutor}/metrics")["windows"]
    # The session 40 days ago is only in the 90-day window.
    assert windows["90day"]["total_sessions_scheduled"] == 1
    assert windows["30day"]["total_sessions_scheduled"] == 0
    assert windows["30day"]["engagement_score"] is None
    derived_after = get_json(client, keys["reader"], f"/api/v1/tutors/{tutor}")["derived_at"]
    assert datetime.fromisoformat(derived_after) > datetime.fromisoformat(derived_before)
