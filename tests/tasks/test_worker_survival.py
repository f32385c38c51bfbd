"""Workers survive a Redis restart by themselves (issue 11): same process, still consuming."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.factories import session_event, tutor_event
from tests.helpers import accepted_ids, auth, post_batch, wait_for

UTC = timezone.utc


def test_workers_keep_their_process_through_a_redis_restart(stack, client, keys, uid):
    from tutormax.tasks.tutoring import recompute_tutor_metrics

    log = stack.workdir / "recompute.log"
    offset = log.stat().st_size
    # A message the recompute worker holds unacknowledged: an ETA task waits in its timer.
    recompute_tutor_metrics.apply_async((f"{uid}-nobody",), countdown=240)
    wait_for(lambda: f"{uid}-nobody".encode() in log.read_bytes()[offset:], timeout=30,
             what="the recompute worker to receive the countdown task")
    pids = {name: stack.procs[name].pid for name in ("pipeline", "recompute")}

    stack.redis.stop()
    stack.redis.start()

    # Still consuming: a tutor and a session posted after the restart reach the metrics.
    tutor = f"{uid}-t"
    start = datetime.now(UTC) - timedelta(days=1)
    ids = accepted_ids(post_batch(client, keys["writer"], [
        tutor_event(uid, tutor), session_event(uid, f"{uid}-s1", tutor, start),
    ]))
    assert len(ids) == 2

    def counted():
        response = client.get(f"/api/v1/tutors/{tutor}/metrics?window=7day", headers=auth(keys["reader"]))
        return response.status_code == 200 and \
            response.get_json()["windows"]["7day"]["total_sessions_scheduled"] == 1

    wait_for(counted, timeout=60, what="the session to reach the tutor's metrics after the restart")
    for name, pid in pids.items():
        assert stack.procs[name].poll() is None, f"worker {name} exited: see {stack.workdir / (name + '.log')}"
        assert stack.procs[name].pid == pid
    assert b"Unrecoverable error" not in log.read_bytes()[offset:]
