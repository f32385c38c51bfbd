"""A Redis wipe only delays what processed events are still owed (issue 11).

Each test wipes the test stack's Redis (it runs without persistence, so a restart
starts empty) at the moment the work lives in Redis only, and reads the result
through the API as a user would, against values worked out by hand and a rebuild.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.helpers import auth, post_batch, wait_finished, wait_for
from tests.web.test_tutoring_api import accepted_ids, feedback_event, get_json, session_event, tutor_event

UTC = timezone.utc


def wipe_redis(stack) -> None:
    """Restart Redis empty once every worker has noticed it is gone (their in-memory timers go too)."""
    logs = {name: stack.workdir / f"{name}.log" for name in ("pipeline", "recompute")}
    offsets = {name: path.stat().st_size for name, path in logs.items()}
    stack.redis.stop()
    try:
        for name, path in logs.items():
            wait_for(lambda: b"Connection to broker lost" in path.read_bytes()[offsets[name]:], timeout=30,
                     what=f"the {name} worker to lose its broker")
    finally:
        stack.redis.start()


def no_worker_exited(stack) -> bool:
    return all(proc.poll() is None for proc in stack.procs.values())


def test_tutor_metrics_requested_inside_the_debounce_window_survive_a_wipe(stack, client, keys, uid, app):
    from tutormax.registry import rebuilder_for

    now = datetime.now(UTC)
    tutors = {name: f"{uid}-{name}" for name in ("a", "b", "c")}
    ids = accepted_ids(post_batch(client, keys["writer"], [tutor_event(uid, t, now - timedelta(days=1))
                                                           for t in tutors.values()]))
    wait_finished(client, keys["reader"], ids)

    def week(tutor: str) -> dict:
        return get_json(client, keys["reader"], f"/api/v1/tutors/{tutor}/metrics?window=7day")["windows"]["7day"]

    # The tutors' first metrics (no sessions) are computed before the sessions arrive.
    wait_for(lambda: all(week(t)["total_sessions_scheduled"] == 0 for t in tutors.values()), timeout=30,
             what="the tutors' first metrics")

    day = now - timedelta(days=2)
    a, b, c = tutors["a"], tutors["b"], tutors["c"]
    ids = accepted_ids(post_batch(client, keys["writer"], [
        session_event(uid, f"{uid}-a1", a, day, session_number=1),
        session_event(uid, f"{uid}-a2", a, day + timedelta(hours=3)),
        feedback_event(uid, f"{uid}-a1", a, 5, day + timedelta(hours=2)),
        session_event(uid, f"{uid}-b1", b, day, no_show=True, actual_start=None),
        session_event(uid, f"{uid}-c1", c, day),
        session_event(uid, f"{uid}-c2", c, day + timedelta(hours=2), tutor_initiated_reschedule=True),
        session_event(uid, f"{uid}-c3", c, day + timedelta(hours=4)),
    ]))
    wait_finished(client, keys["reader"], ids)
    # Processed, so the outbox is done with them; their recomputes wait out the 2 s debounce
    # as a Redis lock and a countdown message held by the recompute worker. Both go now.
    wipe_redis(stack)

    def repaired() -> bool:
        return (week(a)["total_sessions_scheduled"], week(b)["total_sessions_scheduled"],
                week(c)["total_sessions_scheduled"]) == (2, 1, 3)

    wait_for(repaired, timeout=60, what="the tutors' metrics to count their sessions after the wipe")
    # a: two sessions, both started; the first session is rated 5 → avg 5.0, success 100 %.
    assert (week(a)["sessions_completed"], week(a)["avg_rating"], week(a)["first_session_success_rate"]) == \
        (2, 5.0, 100.0)
    # b: one no-show, never started.
    assert (week(b)["sessions_completed"], week(b)["no_show_count"]) == (0, 1)
    # c: one of three sessions rescheduled by the tutor → 33.33 %.
    assert (week(c)["reschedule_count"], week(c)["reschedule_rate"]) == (1, 33.33)

    def windows() -> dict:
        out = {}
        for tutor in tutors.values():
            body = get_json(client, keys["reader"], f"/api/v1/tutors/{tutor}/metrics")["windows"]
            out[tutor] = {w: {k: v for k, v in values.items() if k != "computed_at"} for w, values in body.items()}
        return out

    incremental = windows()
    with app.app_context():
        rebuilder_for("tutoring")()
    assert windows() == incremental
    assert no_worker_exited(stack)
