"""Tutoring through the real stack and the HTTP API (SPEC §3.3, §4); expected values worked out by hand."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from tests.factories import activity_event, feedback_event, session_event, tutor_event
from tests.helpers import accepted_ids, auth, get_json, post_batch, post_event, wait_finished, wait_for

UTC = timezone.utc
METRIC_NAMES = {
    "total_sessions_scheduled", "sessions_completed", "avg_rating", "first_session_success_rate",
    "first_sessions_count", "reschedule_rate", "reschedule_count", "no_show_count", "engagement_score",
    "learning_objectives_met_pct", "response_time_avg_minutes", "performance_tier", "green_flags", "red_flags",
    "computed_at",
}


def test_original_case_five_rated_sessions_in_last_week(client, keys, uid):
    # The original system's case: 5 sessions in the last 7 days, numbers 1-5, all completed and rated 5.
    tutor = f"{uid}-t"
    now = datetime.now(UTC)
    starts = [now - timedelta(days=d, hours=1) for d in range(1, 6)]
    events = [tutor_event(uid, tutor, now - timedelta(days=30))]
    events += [session_event(uid, f"{uid}-s{n}", tutor, start, session_number=n, engagement_score=90,
                             learning_objectives_met=True) for n, start in enumerate(starts, start=1)]
    events += [feedback_event(uid, f"{uid}-s{n}", tutor, 5, start + timedelta(hours=2))
               for n, start in enumerate(starts, start=1)]
    events += [activity_event(uid, n, tutor, now - timedelta(days=2, minutes=n), "login") for n in range(5)]
    events += [activity_event(uid, 10, tutor, now - timedelta(days=3), "message_response", response_time_minutes=12),
               activity_event(uid, 11, tutor, now - timedelta(days=20), "message_response", response_time_minutes=18)]
    # One batch: the chain must persist the tutor before its sessions and those before their feedback.
    ids = accepted_ids(post_batch(client, keys["writer"], events))
    wait_finished(client, keys["reader"], ids, timeout=60)

    def settled():
        body = get_json(client, keys["reader"], f"/api/v1/tutors/{tutor}/metrics")
        week = body["windows"]["7day"]
        return body if week["avg_rating"] == 5.0 and week["response_time_avg_minutes"] == 12.0 else None

    body = wait_for(settled, timeout=30, what="metrics of the five rated sessions")
    assert body["tutor_id"] == tutor
    assert set(body["windows"]) == {"7day", "30day", "90day"}
    week = body["windows"]["7day"]
    assert set(week) == METRIC_NAMES
    # 5 scheduled, all with actual_start and no no-show → 5 completed; mean of five 5s = 5.0;
    # the one first session is rated 5 ≥ 4 → 100.0; nothing rescheduled → 0.0.
    assert week["total_sessions_scheduled"] == 5
    assert week["sessions_completed"] == 5
    assert week["avg_rating"] == 5.0
    assert week["first_session_success_rate"] == 100.0
    assert week["first_sessions_count"] == 1
    assert week["no_show_count"] == 0
    assert week["reschedule_rate"] == 0.0
    assert week["reschedule_count"] == 0
    # login = min(5 logins / 5 sessions × 100, 100) = 100; session = 90; on_time = 100 →
    # 0.4·100 + 0.4·90 + 0.2·100 = 96.0.
    assert week["engagement_score"] == 96.0
    assert week["learning_objectives_met_pct"] == 100.0
    # Only the 12-minute response is in the last 7 days; the 30-day window also has the 18 → 15.0.
    assert week["response_time_avg_minutes"] == 12.0
    assert body["windows"]["30day"]["response_time_avg_minutes"] == 15.0
    # Six green flags, no red → Exemplary.
    assert week["performance_tier"] == "Exemplary"
    assert (week["green_flags"], week["red_flags"]) == (
        ["avg_rating", "first_session_success_rate", "reschedule_rate", "no_show_count", "engagement_score",
         "learning_objectives_met_pct"], [])
    assert week["computed_at"] is not None

    only = get_json(client, keys["reader"], f"/api/v1/tutors/{tutor}/metrics?window=30day")
    assert list(only["windows"]) == ["30day"]
    assert only["windows"]["30day"]["sessions_completed"] == 5

    history = get_json(client, keys["reader"], f"/api/v1/tutors/{tutor}/metrics/history?window=7day&days=7")
    assert history["window"] == "7day"
    # One row per UTC day, upserted: today's row holds the latest run.
    days = [row["day"] for row in history["history"]]
    assert len(days) == len(set(days)) >= 1
    assert history["history"][-1]["day"] == datetime.now(UTC).date().isoformat()
    assert history["history"][-1]["avg_rating"] == 5.0


def test_enriched_fields_through_the_api(client, keys, uid, stack):
    tutor = f"{uid}-t"
    onboarded = date.today() - timedelta(days=100)
    tutor_body = tutor_event(uid, tutor, datetime.now(UTC), onboarding_date=onboarded.isoformat(),
                             subjects=["math", "physics", "math"])
    pst_start = datetime.fromisoformat("2026-03-07T04:59:00-08:00")  # Saturday 04:59 local, 12:59 UTC
    cet_start = datetime.fromisoformat("2026-03-08T19:00:00+01:00")  # Sunday 19:00 local
    events = [
        tutor_body,
        session_event(uid, f"{uid}-night", tutor, pst_start, late_start_minutes=7),
        session_event(uid, f"{uid}-evening", tutor, cet_start, late_start_minutes=5, actual_start=None,
                      no_show=True),
        feedback_event(uid, f"{uid}-night", tutor, 4, datetime.fromisoformat("2026-03-07T15:29:00+00:00"),
                       subject_knowledge_rating=5, communication_rating=4, patience_rating=3,
                       free_text_feedback="Very patient tutor", submitted_at="2026-03-07T07:29:00-08:00"),
    ]
    ids = accepted_ids(post_batch(client, keys["writer"], events))
    wait_finished(client, keys["reader"], ids, timeout=60)

    record = get_json(client, keys["reader"], f"/api/v1/tutors/{tutor}")
    # 100 days of tenure → mid, not new; {"math", "physics"} → 2 subjects; updated by an event today.
    assert record["tenure_days"] == 100
    assert record["experience_level"] == "mid"
    assert record["is_new_tutor"] is False
    assert record["subject_count"] == 2
    assert record["is_active_today"] is True
    assert record["email"] == f"tutor-{uid}@example.com"
    assert record["name"] == f"Name {uid}"

    sessions = get_json(client, keys["reader"], f"/api/v1/tutors/{tutor}/sessions")["sessions"]
    assert [s["session_id"] for s in sessions] == [f"{uid}-evening", f"{uid}-night"]  # newest first
    evening, night = sessions
    # 04:59 on a Saturday, local wall clock (12:59 UTC would be afternoon): night, weekend.
    assert night["scheduled_start"] == "2026-03-07T04:59:00-08:00"
    assert night["time_of_day"] == "night"
    assert night["is_weekend"] is True
    assert night["is_late_start"] is True  # 7 > 5
    assert night["actual_duration_minutes"] == 60
    assert night["week_of_year"] == 10  # ISO week of Sat 2026-03-07
    assert night["month_of_year"] == 3
    # Sunday 19:00 local → evening, weekend; 5 minutes late is not a late start.
    assert evening["time_of_day"] == "evening"
    assert evening["is_weekend"] is True
    assert evening["is_late_start"] is False
    assert evening["actual_start"] is None
    assert evening["feedback"] is None
    feedback = night["feedback"]
    # Rating 4 → positive, not poor; categories 5, 4, 3 → mean 4.0, population variance 2/3 → 0.67;
    # submitted 15:29 UTC, 2.5 h after the 12:59 UTC start.
    assert feedback["is_positive"] is True
    assert feedback["is_poor"] is False
    assert feedback["avg_category_rating"] == 4.0
    assert feedback["category_variance"] == 0.67
    assert feedback["has_text_feedback"] is True
    assert feedback["feedback_delay_hours"] == 2.5
    assert feedback["submitted_at"] == "2026-03-07T07:29:00-08:00"

    limited = get_json(client, keys["reader"], f"/api/v1/tutors/{tutor}/sessions?limit=1")["sessions"]
    assert [s["session_id"] for s in limited] == [f"{uid}-evening"]

    # Personal data and free text never reach a log line of any process.
    logs = "".join(p.read_text(errors="replace") for p in stack.workdir.glob("*.log"))
    assert "stage done" in logs  # the workers' own logs are being read
    for secret in (f"tutor-{uid}@example.com", f"Name {uid}", "Very patient tutor"):
        assert secret not in logs


def test_newer_record_is_not_overwritten_by_an_older_event(client, keys, uid):
    tutor = f"{uid}-t"
    now = datetime.now(UTC)
    newer = post_event(client, keys["writer"], tutor_event(uid, tutor, now, status="inactive"))
    assert newer.status_code == 202
    wait_finished(client, keys["reader"], [newer.get_json()["id"]])
    older = post_event(client, keys["writer"], tutor_event(uid, tutor, now - timedelta(hours=1), status="churned",
                                                           subjects=["a", "b", "c"]))
    start = now - timedelta(days=1)
    session_new = session_event(uid, f"{uid}-s", tutor, start, version=2, timestamp=now, late_start_minutes=20)
    session_old = session_event(uid, f"{uid}-s", tutor, start, version=1, timestamp=now - timedelta(hours=2))
    ids = [older.get_json()["id"]] + accepted_ids(post_batch(client, keys["writer"], [session_new]))
    ids += accepted_ids(post_batch(client, keys["writer"], [session_old]))
    wait_finished(client, keys["reader"], ids)
    record = get_json(client, keys["reader"], f"/api/v1/tutors/{tutor}")
    assert record["status"] == "inactive"  # the older "churned" upsert lost
    assert record["subject_count"] == 1
    (session,) = get_json(client, keys["reader"], f"/api/v1/tutors/{tutor}/sessions")["sessions"]
    assert session["late_start_minutes"] == 20  # the older version (0 minutes) arrived last and lost


def test_unknown_tutor_and_bad_query(client, keys, uid):
    for path in ("", "/metrics", "/metrics/history", "/sessions"):
        body = get_json(client, keys["reader"], f"/api/v1/tutors/{uid}-nobody{path}", status=404)
        assert body["message"]
    tutor = f"{uid}-t"
    created = post_event(client, keys["writer"], tutor_event(uid, tutor))
    wait_finished(client, keys["reader"], [created.get_json()["id"]])
    body = get_json(client, keys["reader"], f"/api/v1/tutors/{tutor}/metrics?window=14day", status=422)
    assert "window" in body["errors"]
    get_json(client, keys["reader"], f"/api/v1/tutors/{tutor}/metrics/history?days=0", status=422)
    get_json(client, keys["reader"], f"/api/v1/tutors/{tutor}/sessions?limit=0", status=422)
    assert client.get(f"/api/v1/tutors/{tutor}").status_code == 401
    assert client.get(f"/api/v1/tutors/{tutor}", headers=auth(keys["writer"])).status_code == 403
    # Tutors belong to no class: a teacher-bound read key sees no tutor record.
    from tutormax.web.auth import create_api_key

    teacher_key = create_api_key(f"teacher-{uid}", ["read"], teacher_id=f"{uid}-teacher")
    assert client.get(f"/api/v1/tutors/{tutor}", headers=auth(teacher_key)).status_code == 403


def test_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/openapi/openapi.json").get_json()["paths"]
    for path in ("/api/v1/tutors/{tutor_id}", "/api/v1/tutors/{tutor_id}/metrics",
                 "/api/v1/tutors/{tutor_id}/metrics/history", "/api/v1/tutors/{tutor_id}/sessions"):
        assert "get" in paths[path], path


def test_rebuild_gives_the_views_incremental_processing_gave(client, keys, uid, app):
    from tutormax.registry import rebuilder_for

    tutor = f"{uid}-t"
    now = datetime.now(UTC)
    start = now - timedelta(days=3)
    events = [
        tutor_event(uid, tutor, now - timedelta(days=1), subjects=["math", "art"]),
        session_event(uid, f"{uid}-s1", tutor, start, session_number=1, engagement_score=70),
        session_event(uid, f"{uid}-s2", tutor, start + timedelta(days=1), no_show=True, actual_start=None),
        feedback_event(uid, f"{uid}-s1", tutor, 3, start + timedelta(hours=5), patience_rating=2),
        activity_event(uid, 1, tutor, now - timedelta(days=1), "login"),
    ]
    ids = accepted_ids(post_batch(client, keys["writer"], events))
    # A later, rescheduled version of s1 arrives after its feedback: the feedback delay follows it.
    ids += accepted_ids(post_batch(client, keys["writer"], [
        session_event(uid, f"{uid}-s1", tutor, start - timedelta(hours=1), session_number=1, engagement_score=70,
                      version=2, timestamp=now)]))
    wait_finished(client, keys["reader"], ids)

    def metrics_now():
        body = get_json(client, keys["reader"], f"/api/v1/tutors/{tutor}/metrics")
        return body if body["windows"]["7day"]["avg_rating"] == 3.0 else None

    wait_for(metrics_now, timeout=30, what="metrics with the feedback")

    def snapshot() -> tuple:
        record = get_json(client, keys["reader"], f"/api/v1/tutors/{tutor}")
        record.pop("derived_at")
        windows = get_json(client, keys["reader"], f"/api/v1/tutors/{tutor}/metrics")["windows"]
        for values in windows.values():
            values.pop("computed_at")
        sessions = get_json(client, keys["reader"], f"/api/v1/tutors/{tutor}/sessions")["sessions"]
        return record, windows, sessions

    incremental = snapshot()
    # Feedback submitted 5 h after the original start, which moved 1 h earlier → 6.0 h.
    assert incremental[2][1]["feedback"]["feedback_delay_hours"] == 6.0
    # 2 sessions: 1 completed, 1 no-show; rating 3 on the first session → 0.0 % success, red flags.
    assert incremental[1]["7day"]["sessions_completed"] == 1
    assert incremental[1]["7day"]["first_session_success_rate"] == 0.0
    with app.app_context():
        rebuilder_for("tutoring")()
    assert snapshot() == incremental
