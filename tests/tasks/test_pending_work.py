"""A Redis wipe only delays what processed events are still owed (issue 11).

Each test wipes the test stack's Redis (it runs without persistence, so a restart
starts empty) at the moment the work lives in Redis only, and reads the result
through the API as a user would, against values worked out by hand and a rebuild.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.factories import feedback_event, session_event, tutor_event
from tests.helpers import accepted_ids, event_status, get_json, post_batch, wait_finished, wait_for

UTC = timezone.utc


def wipe_redis(stack) -> None:
    """Restart Redis empty once every worker has noticed it is gone (their in-memory timers go too)."""
    logs = {name: stack.workdir / f"{name}.log" for name in ("pipeline", "recompute")}
    offsets = {name: path.stat().st_size for name, path in logs.items()}
    stack.redis.stop()
    try:
        for name, path in logs.items():
            wait_for(lambda path=path, name=name: b"Connection to broker lost" in path.read_bytes()[offsets[name]:],
                     timeout=30, what=f"the {name} worker to lose its broker")
    finally:
        stack.redis.start()


def pending_work(app, kind: str, subject_id: str | None = None) -> int:
    """How many pending-work rows of `kind` there are (naming `subject_id`, when given)."""
    from sqlalchemy import func, select

    from tutormax.db import session_scope
    from tutormax.models.events import PendingWork

    query = select(func.count()).select_from(PendingWork).where(PendingWork.kind == kind)
    if subject_id is not None:
        query = query.where(PendingWork.subject_id == subject_id)
    with app.app_context(), session_scope() as session:
        return session.scalar(query)


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
    wait_for(lambda: not any(pending_work(app, "tutor_metrics", t) for t in tutors.values()), timeout=10,
             what="the repaired recomputes to be settled")
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


def test_essay_cache_invalidation_lost_with_redis_is_made_by_the_sweeper(stack, client, keys, uid, app, monkeypatch):
    import redis

    import tutormax.redis_client
    from tests.web.test_essays_api import Essays, send, status_body
    from tutormax.devservers import RECOMPUTE_QUEUES, free_port
    from tutormax.tasks.pipeline import RECOMPUTE_TASKS

    make = Essays(uid)
    batch, user = f"b-{uid}", f"u-{uid}"
    send(client, keys, make.registered(batch, user, ["e1", "e2"]))
    before = status_body(client, batch)  # cached now
    assert [e["spellcheck_status"] for e in before["essays"]] == [None, None]  # no result yet
    # The worker invalidated after its commit and settled what it owed: nothing for the sweeper.
    wait_for(lambda: pending_work(app, "essays_batch_cache", batch) == 0, timeout=10,
             what="the registration's invalidation to be settled")

    # The chain of the next event stops short of its recompute stage, which this test
    # runs itself at the moment the worker cannot reach Redis: its invalidations fail.
    stack.stop("recompute")
    try:
        pk = accepted_ids(post_batch(client, keys["writer"], [make.spellcheck(batch, "e1", "SUCCESS", 1)]))[0]
        wait_for(lambda: event_status(client, keys["reader"], pk)["stages"]["persisted_at"], timeout=30,
                 what="the spellcheck result to be persisted")
        dead = redis.Redis(port=free_port(), socket_connect_timeout=0.2, socket_timeout=0.2, decode_responses=True)
        with monkeypatch.context() as patch:
            patch.setattr(tutormax.redis_client, "_client", dead)
            with app.app_context():
                RECOMPUTE_TASKS["essays"].apply(args=([pk],))
        assert event_status(client, keys["reader"], pk)["status"] == "processed"
        # Redis kept the entry the failed invalidations should have dropped: a stale answer,
        # and the invalidation is owed in PostgreSQL.
        assert status_body(client, batch) == before
        assert pending_work(app, "essays_batch_cache", batch) == 1
    finally:
        stack.start_worker("recompute", RECOMPUTE_QUEUES + ",maintenance")

    def fresh() -> bool:
        return [e["spellcheck_status"] for e in status_body(client, batch)["essays"]] == ["completed", None]

    # The sweeper (queue maintenance, back with the worker) repeats the invalidation.
    wait_for(fresh, timeout=30, what="the batch status to show the spellcheck result")
    wait_for(lambda: pending_work(app, "essays_batch_cache", batch) == 0, timeout=10,
             what="the sweeper to settle the invalidation")


def test_reading_relevel_lost_with_redis_reaches_every_reader(stack, client, keys, uid, app):
    from tests.tasks.conftest import StreamConsumer
    from tutormax.devservers import RECOMPUTE_QUEUES
    from tutormax.redis_client import get_redis
    from tutormax.registry import rebuilder_for

    book = f"{uid}-book"
    students = [f"{uid}-s1", f"{uid}-s2"]

    def cataloged(n: int, level: float) -> dict:
        return {"event_id": f"{uid}-cat-{n}", "source": "library", "type": "BOOK_CATALOGED",
                "timestamp": f"2026-09-0{n}T08:00:00Z", "book_id": book, "title": "A book", "reading_level": level}

    def checkout(student: str, n: int) -> dict:
        return {"event_id": f"{uid}-co-{student}-{n}", "source": "library", "type": "BOOK_CHECKED_OUT",
                "timestamp": f"2026-09-0{n}T09:00:00Z", "student_id": student, "book_id": book}

    ids = accepted_ids(post_batch(client, keys["writer"], [
        cataloged(1, 1.5), checkout(students[0], 2), checkout(students[0], 3), checkout(students[1], 4)]))
    wait_finished(client, keys["reader"], ids)

    def profile(student: str) -> dict:
        return get_json(client, keys["reader"], f"/api/v1/students/{student}/reading-profile")

    # Level 1.5 → beginner.
    assert profile(students[0])["histogram"] == {"beginner": 2}

    # The re-level's chain is cut before its fan-out, and Redis is wiped with its message.
    stack.stop("recompute")
    try:
        pk = accepted_ids(post_batch(client, keys["writer"], [cataloged(5, 7.0)]))[0]
        wait_for(lambda: event_status(client, keys["reader"], pk)["stages"]["persisted_at"], timeout=30,
                 what="the re-level to be persisted")
        stack.redis.stop()
    finally:
        stack.redis.start()
        stack.start_worker("recompute", RECOMPUTE_QUEUES + ",maintenance")
    # Consumer groups live in Redis: a consumer re-creates its group after a wipe.
    reader = StreamConsumer(get_redis(), f"test-{uid}")
    get_redis().xgroup_create("tutormax:student_profiles", reader.group, id="0", mkstream=True)

    wait_finished(client, keys["reader"], [pk], timeout=60)
    # Level 7.0 → middle_school, for every checkout of the book by both students.
    assert profile(students[0])["histogram"] == {"middle_school": 2}
    assert profile(students[1])["histogram"] == {"middle_school": 1}
    assert profile(students[1])["last_event_id"] == pk
    # The profile changes reach the stream once each, naming the re-level.
    for student in students:
        assert [e["event_id"] for e in reader.wait_count(student, 1)] == [str(pk)]

    incremental = {s: {k: v for k, v in profile(s).items() if k != "updated_at"} for s in students}
    with app.app_context():
        rebuilder_for("reading")()
    assert {s: {k: v for k, v in profile(s).items() if k != "updated_at"} for s in students} == incremental
    assert no_worker_exited(stack)


def test_essay_cache_entry_stored_across_a_wipe_is_never_served(stack, client, keys, uid):
    import json

    from tests.web.test_essays_api import Essays, send, status_body
    from tutormax.cache import batch_cache_key, batch_version_key
    from tutormax.redis_client import get_redis

    make = Essays(uid)
    batch, user = f"b-{uid}", f"u-{uid}"
    send(client, keys, make.registered(batch, user, ["e1"]))
    before = status_body(client, batch)
    version = int(get_redis().get(batch_version_key(batch)))
    wipe_redis(stack)
    # A reader that read `version` just before the wipe stores the body it loaded then.
    get_redis().set(batch_cache_key(batch, version), json.dumps(before), ex=300)

    send(client, keys, make.spellcheck(batch, "e1", "SUCCESS", 1))
    # The counter restarted after the wipe, but not at 1: the change is what the API shows.
    assert [e["spellcheck_status"] for e in status_body(client, batch)["essays"]] == ["completed"]


def test_nightly_fan_out_is_owed_in_postgresql_until_its_batches_ran(stack, client, keys, uid, app):
    from tutormax.devservers import RECOMPUTE_QUEUES
    from tutormax.tasks.tutoring import nightly_recompute

    tutor = f"{uid}-t"
    ids = accepted_ids(post_batch(client, keys["writer"], [
        tutor_event(uid, tutor), session_event(uid, f"{uid}-s", tutor, datetime.now(UTC) - timedelta(days=40))]))
    wait_finished(client, keys["reader"], ids)

    def computed_at() -> str | None:
        return get_json(client, keys["reader"], f"/api/v1/tutors/{tutor}/metrics")["windows"]["90day"]["computed_at"]

    before = wait_for(computed_at, timeout=30, what="the first metrics")
    wait_for(lambda: pending_work(app, "tutor_metrics", tutor) == 0, timeout=10, what="the first run to settle")
    stack.stop("recompute")  # the fan-out's batches wait in their queue
    try:
        with app.app_context():
            nightly_recompute()
        # The tutor has a session in the last 90 days: its recompute is owed until a batch runs.
        assert pending_work(app, "tutor_metrics", tutor) == 1
    finally:
        stack.start_worker("recompute", RECOMPUTE_QUEUES + ",maintenance")
    wait_for(lambda: datetime.fromisoformat(computed_at()) > datetime.fromisoformat(before), timeout=30,
             what="the nightly batch to recompute the tutor")
    wait_for(lambda: pending_work(app, "tutor_metrics", tutor) == 0, timeout=10, what="the batch to settle it")
    # The fan-out covers every tutor of the shared database: let all of it finish, so the
    # next tests' debounce timing does not queue behind it.
    wait_for(lambda: pending_work(app, "tutor_metrics") == 0, timeout=120, what="the whole fan-out to run")
