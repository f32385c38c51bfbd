"""Table-driven tests for the tutoring formulas (SPEC.md 3.3), values worked out by hand."""

from datetime import date, datetime, timedelta, timezone

import pytest

from tutormax.models.tutoring import METRIC_FIELDS
from tutormax.rules.tutoring import (
    WINDOWS,
    feedback_delay_hours,
    feedback_derived,
    performance_tier,
    session_derived,
    tier_flags,
    tutor_derived,
    window_metrics,
)

UTC = timezone.utc
PST = timezone(timedelta(hours=-8))
# Tuesday 2026-03-10 12:00 UTC.
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

def _session(session_id: str, start: datetime, **fields) -> dict:
    """A completed, on-time, non-first session unless fields say otherwise."""
    row = {
        "session_id": session_id,
        "scheduled_start": start,
        "session_number": 2,
        "actual_start": start,
        "no_show": False,
        "tutor_initiated_reschedule": False,
        "late_start_minutes": 0,
        "engagement_score": None,
        "learning_objectives_met": None,
    }
    row.update(fields)
    return row


def _ago(**delta) -> datetime:
    return NOW - timedelta(**delta)


def _activity(activity_type: str, timestamp: datetime, **metadata) -> dict:
    return {"activity_type": activity_type, "timestamp": timestamp, "metadata": metadata}


# --------------------------------------------------------------------- tutor


@pytest.mark.parametrize(
    ("onboarding", "tenure", "is_new", "level"),
    [
        (date(2026, 3, 10), 0, True, "junior"),  # onboarded today
        (date(2026, 3, 11), 0, True, "junior"),  # tomorrow: clamped to 0
        (date(2026, 2, 9), 29, True, "junior"),  # Mar 10 - Feb 10 = 28 (Feb has 28), +1
        (date(2026, 2, 8), 30, False, "junior"),  # 30 is no longer < 30
        (date(2025, 12, 11), 89, False, "junior"),  # Jan 10→Mar 10 = 31+28 = 59; Dec 11→Jan 10 = 30
        (date(2025, 12, 10), 90, False, "mid"),
        (date(2025, 3, 11), 364, False, "mid"),  # 2025-03-10 → 2026-03-10 = 365 (no Feb 29)
        (date(2025, 3, 10), 365, False, "senior"),
        # date-time onboarding: 29 days 23 hours elapsed is 29 whole days
        (datetime(2026, 2, 8, 13, 0, tzinfo=UTC), 29, True, "junior"),
    ],
)
def test_tutor_tenure_boundaries(onboarding, tenure, is_new, level):
    derived = tutor_derived(onboarding, ["math"], NOW, NOW)
    assert (derived["tenure_days"], derived["is_new_tutor"], derived["experience_level"]) == (
        tenure,
        is_new,
        level,
    )


@pytest.mark.parametrize(
    ("last_updated_at", "active_today"),
    [
        (datetime(2026, 3, 10, 0, 0, tzinfo=UTC), True),  # first instant of today UTC
        (datetime(2026, 3, 9, 23, 59, 59, tzinfo=UTC), False),  # last second of yesterday
        # 20:00 on the 9th at -05:00 is 01:00 on the 10th UTC: today in UTC terms
        (datetime(2026, 3, 9, 20, 0, tzinfo=timezone(timedelta(hours=-5))), True),
        # 23:00 on the 10th at +02:00 is 21:00 UTC on the 10th
        (datetime(2026, 3, 10, 23, 0, tzinfo=timezone(timedelta(hours=2))), True),
        # 00:30 on the 11th at +02:00 is still the 10th (22:30) UTC
        (datetime(2026, 3, 11, 0, 30, tzinfo=timezone(timedelta(hours=2))), True),
        # 01:00 on the 10th at +02:00 is 23:00 on the 9th UTC
        (datetime(2026, 3, 10, 1, 0, tzinfo=timezone(timedelta(hours=2))), False),
    ],
)
def test_tutor_is_active_today_in_utc(last_updated_at, active_today):
    assert tutor_derived(date(2026, 1, 1), [], last_updated_at, NOW)["is_active_today"] is active_today


@pytest.mark.parametrize(
    ("subjects", "count"),
    [([], 0), (["math"], 1), (["math", "physics", "chemistry"], 3), (["math", "math"], 1)],
)
def test_tutor_subject_count(subjects, count):
    assert tutor_derived(date(2026, 1, 1), subjects, NOW, NOW)["subject_count"] == count


# ------------------------------------------------------------------- session


@pytest.mark.parametrize(
    ("scheduled_start", "is_weekend", "time_of_day"),
    [
        # 2026-03-07 is a Saturday (Mar 1 is a Sunday). 04:59 local is night,
        # although in UTC it is 12:59, which would be afternoon.
        (datetime(2026, 3, 7, 4, 59, tzinfo=PST), True, "night"),
        (datetime(2026, 3, 7, 5, 0, tzinfo=PST), True, "morning"),  # UTC 13:00
        (datetime(2026, 3, 7, 11, 59, tzinfo=PST), True, "morning"),  # UTC 19:59 evening
        (datetime(2026, 3, 7, 12, 0, tzinfo=PST), True, "afternoon"),  # UTC 20:00 evening
        (datetime(2026, 3, 7, 16, 59, tzinfo=PST), True, "afternoon"),  # UTC 00:59 Sun, night
        (datetime(2026, 3, 7, 17, 0, tzinfo=PST), True, "evening"),  # UTC 01:00 Sun
        (datetime(2026, 3, 7, 21, 59, tzinfo=PST), True, "evening"),  # UTC 05:59 Sun morning
        (datetime(2026, 3, 7, 22, 0, tzinfo=PST), True, "night"),  # UTC 06:00 Sun morning
        (datetime(2026, 3, 7, 0, 0, tzinfo=PST), True, "night"),  # midnight
        # Friday 20:00 local = Saturday 04:00 UTC: local says weekday evening.
        (datetime(2026, 3, 6, 20, 0, tzinfo=PST), False, "evening"),
        # Monday 01:00 at +09:00 = Sunday 16:00 UTC: local says weekday night.
        (datetime(2026, 3, 9, 1, 0, tzinfo=timezone(timedelta(hours=9))), False, "night"),
        # Sunday 23:30 at -05:00 = Monday 04:30 UTC: local says weekend night.
        (datetime(2026, 3, 8, 23, 30, tzinfo=timezone(timedelta(hours=-5))), True, "night"),
        (datetime(2026, 3, 10, 14, 0, tzinfo=UTC), False, "afternoon"),  # Tuesday in UTC
    ],
)
def test_session_local_day_and_time_of_day(scheduled_start, is_weekend, time_of_day):
    derived = session_derived(scheduled_start, 60, 0)
    assert (derived["is_weekend"], derived["time_of_day"]) == (is_weekend, time_of_day)


@pytest.mark.parametrize(
    ("scheduled_start", "week", "month"),
    [
        # 2026-01-01 is a Thursday, so ISO week 1 of 2026 runs Mon 2025-12-29 .. Sun 2026-01-04.
        (datetime(2026, 1, 1, 9, 0, tzinfo=UTC), 1, 1),
        (datetime(2025, 12, 29, 9, 0, tzinfo=UTC), 1, 12),
        # Sunday 2025-12-28 23:30 at -05:00 is Monday 04:30 UTC (week 1); locally week 52.
        (datetime(2025, 12, 28, 23, 30, tzinfo=timezone(timedelta(hours=-5))), 52, 12),
        # A year starting on Thursday has 53 ISO weeks: Friday 2027-01-01 is week 53 of 2026.
        (datetime(2027, 1, 1, 9, 0, tzinfo=UTC), 53, 1),
        # 2026-03-31 23:00 at -02:00 is April 1 in UTC; the local month is March.
        (datetime(2026, 3, 31, 23, 0, tzinfo=timezone(timedelta(hours=-2))), 14, 3),
    ],
)
def test_session_iso_week_and_month_are_local(scheduled_start, week, month):
    derived = session_derived(scheduled_start, 45, 0)
    assert (derived["week_of_year"], derived["month_of_year"]) == (week, month)


@pytest.mark.parametrize(
    ("duration", "late", "is_late", "actual_duration"),
    [(60, 0, False, 60), (45, 5, False, 45), (30, 6, True, 30), (90, 30, True, 90)],
)
def test_session_late_start_and_duration(duration, late, is_late, actual_duration):
    derived = session_derived(datetime(2026, 3, 10, 9, 0, tzinfo=UTC), duration, late)
    assert (derived["is_late_start"], derived["actual_duration_minutes"]) == (is_late, actual_duration)


# ------------------------------------------------------------------ feedback


@pytest.mark.parametrize(
    ("rating", "is_positive", "is_poor"),
    [(1, False, True), (2, False, True), (3, False, False), (4, True, False), (5, True, False)],
)
def test_feedback_positive_and_poor(rating, is_positive, is_poor):
    derived = feedback_derived(rating, {}, None, NOW, NOW)
    assert (derived["is_positive"], derived["is_poor"]) == (is_positive, is_poor)


@pytest.mark.parametrize(
    ("categories", "avg", "variance"),
    [
        ({}, None, None),
        ({"patience_rating": None, "communication_rating": None}, None, None),
        ({"patience_rating": 4}, 4.0, 0.0),
        # nulls ignored: mean(4, 2) = 3; ((4-3)² + (2-3)²) / 2 = 1
        ({"patience_rating": 4, "communication_rating": None, "helpfulness_rating": 2}, 3.0, 1.0),
        # mean 13/3 = 4.333… → 4.33; deviations 2/3, -1/3, -1/3 → (4+1+1)/9 / 3 = 2/9 = 0.222… → 0.22
        ({"a": 5, "b": 4, "c": 4}, 4.33, 0.22),
        # mean 11/3 = 3.666… → 3.67; deviations 4/3, -2/3, -2/3 → (16+4+4)/9 / 3 = 8/9 = 0.888… → 0.89
        ({"a": 5, "b": 3, "c": 3}, 3.67, 0.89),
        # mean 18/5 = 3.6; squares 1.96+1.96+0.16+0.36+6.76 = 11.2; / 5 = 2.24 (population, not /4 = 2.8)
        ({"a": 5, "b": 5, "c": 4, "d": 3, "e": 1}, 3.6, 2.24),
        # mean 33/8 = 4.125 → 4.13 (half rounds up, not to even);
        # squares 2·0.765625 + 5·0.015625 + 1.265625 = 2.875; / 8 = 0.359375 → 0.36
        ({"a": 5, "b": 5, "c": 4, "d": 4, "e": 4, "f": 4, "g": 4, "h": 3}, 4.13, 0.36),
    ],
)
def test_feedback_category_mean_and_population_variance(categories, avg, variance):
    derived = feedback_derived(4, categories, None, NOW, NOW)
    assert (derived["avg_category_rating"], derived["category_variance"]) == (avg, variance)


@pytest.mark.parametrize(
    ("text", "has_text"),
    [(None, False), ("", False), ("   \n\t", False), ("Very patient.", True), ("  ok  ", True)],
)
def test_feedback_has_text(text, has_text):
    assert feedback_derived(5, {}, text, NOW, NOW)["has_text_feedback"] is has_text


@pytest.mark.parametrize(
    ("submitted_at", "scheduled_start", "hours"),
    [
        (datetime(2026, 3, 7, 12, 0, tzinfo=UTC), datetime(2026, 3, 7, 10, 0, tzinfo=UTC), 2.0),
        # 7.5 minutes = 0.125 h → 0.13 (round-half-even would give 0.12)
        (datetime(2026, 3, 7, 10, 7, 30, tzinfo=UTC), datetime(2026, 3, 7, 10, 0, tzinfo=UTC), 0.13),
        # 09:00-08:00 is 17:00 UTC; submitted 19:30 UTC → 2.5 h
        (datetime(2026, 3, 7, 19, 30, tzinfo=UTC), datetime(2026, 3, 7, 9, 0, tzinfo=PST), 2.5),
        # 1 day 1 h 20 min = 25 + 1/3 h → 25.33
        (datetime(2026, 3, 8, 11, 20, tzinfo=UTC), datetime(2026, 3, 7, 10, 0, tzinfo=UTC), 25.33),
        # submitted 7.5 minutes before the start → -0.13
        (datetime(2026, 3, 7, 9, 52, 30, tzinfo=UTC), datetime(2026, 3, 7, 10, 0, tzinfo=UTC), -0.13),
    ],
)
def test_feedback_delay_hours(submitted_at, scheduled_start, hours):
    assert feedback_derived(5, {}, None, submitted_at, scheduled_start)["feedback_delay_hours"] == hours
    # The standalone form, used when a rescheduled session refreshes stored feedback.
    assert feedback_delay_hours(submitted_at, scheduled_start) == hours


# ------------------------------------------------------------ window metrics


def test_windows_constant():
    assert WINDOWS == {"7day": 7, "30day": 30, "90day": 90}


def test_original_system_case_five_sessions_all_rated_five():
    # Five sessions 1..5 days ago, session numbers 1..5, each rated 5, no logins.
    sessions = [_session(f"s{n}", _ago(days=n), session_number=n) for n in range(1, 6)]
    feedback = [{"session_id": f"s{n}", "overall_rating": 5} for n in range(1, 6)]
    metrics = window_metrics(sessions, feedback, [], NOW, WINDOWS["7day"])
    assert metrics == {
        "total_sessions_scheduled": 5,
        "sessions_completed": 5,
        "avg_rating": 5.0,  # 25 / 5
        "first_session_success_rate": 100.0,  # s1 rated 5 ≥ 4 → 1/1
        "first_sessions_count": 1,
        "reschedule_rate": 0.0,  # 0/5
        "reschedule_count": 0,
        "no_show_count": 0,
        # login 0 (no logins); session 50 (no scores); on_time 5/5 = 100 → 0 + 20 + 20
        "engagement_score": 40.0,
        "learning_objectives_met_pct": None,  # all null
        "response_time_avg_minutes": None,
        # green: avg 5, fsr 100, resched 0, no_show 0 = 4; red: engagement 40 < 60 = 1
        "performance_tier": "Needs Attention",
    }


# Sessions for the window table. F sits exactly on the 7-day boundary, written at -08:00.
WINDOW_SESSIONS = [
    _session("A", _ago(days=3)),
    _session("B", _ago(days=20)),
    _session("C", _ago(days=60)),
    _session("D", _ago(days=100)),
    _session("E", NOW),  # now itself is outside every window
    _session("F", (NOW - timedelta(days=7)).astimezone(PST)),
]
WINDOW_FEEDBACK = [
    {"session_id": "A", "overall_rating": 5},
    {"session_id": "B", "overall_rating": 3},
    {"session_id": "C", "overall_rating": 2},
    {"session_id": "D", "overall_rating": 1},
    {"session_id": "E", "overall_rating": 1},
    {"session_id": "F", "overall_rating": 4},
]
WINDOW_ACTIVITIES = [
    _activity("login", _ago(days=1)),
    _activity("login", _ago(days=7)),  # on the 7-day boundary: inside
    _activity("login", _ago(days=10)),
    _activity("login", NOW),  # outside every window
    _activity("message_response", _ago(days=2), response_time_minutes=10),
    _activity("message_response", _ago(days=45), response_time_minutes=40),
    _activity("message_response", _ago(days=91), response_time_minutes=400),
]


@pytest.mark.parametrize(
    ("window", "total", "avg_rating", "engagement", "response_time"),
    [
        # A, F. ratings (5+4)/2 = 4.5. logins 2 (1d, 7d) / 2 sessions → 100 → 40;
        # session 50 → 20; on_time 100 → 20 → 80. responses: 10
        ("7day", 2, 4.5, 80.0, 10.0),
        # A, F, B (20 days ago is in 30day, not 7day). (5+4+3)/3 = 4.0.
        # logins 3 / 3 → 100 → 40 + 20 + 20 = 80. responses: 10
        ("30day", 3, 4.0, 80.0, 10.0),
        # A, F, B, C. (5+4+3+2)/4 = 3.5. logins 3 / 4 → 75 → 30 + 20 + 20 = 70.
        # responses (10+40)/2 = 25; the one 91 days ago is out
        ("90day", 4, 3.5, 70.0, 25.0),
    ],
)
def test_window_membership(window, total, avg_rating, engagement, response_time):
    metrics = window_metrics(WINDOW_SESSIONS, WINDOW_FEEDBACK, WINDOW_ACTIVITIES, NOW, WINDOWS[window])
    assert (
        metrics["total_sessions_scheduled"],
        metrics["avg_rating"],
        metrics["engagement_score"],
        metrics["response_time_avg_minutes"],
    ) == (total, avg_rating, engagement, response_time)


@pytest.mark.parametrize(
    ("scheduled_start", "inside"),
    [
        (NOW - timedelta(days=7), True),  # start of [now-7d, now) is inclusive
        (NOW - timedelta(days=7, microseconds=1), False),
        (NOW - timedelta(microseconds=1), True),
        (NOW, False),  # end is exclusive
        (NOW + timedelta(hours=1), False),  # future sessions are not counted
        # 2026-03-03 04:00 at -08:00 is 12:00 UTC = now - 7 days exactly
        (datetime(2026, 3, 3, 4, 0, tzinfo=PST), True),
        (datetime(2026, 3, 3, 3, 59, tzinfo=PST), False),
    ],
)
def test_window_boundaries(scheduled_start, inside):
    metrics = window_metrics([_session("s", scheduled_start)], [], [], NOW, 7)
    assert metrics["total_sessions_scheduled"] == (1 if inside else 0)


def test_mixed_window_hand_computed():
    sessions = [
        _session("s1", _ago(days=1), session_number=1, late_start_minutes=0,
                 engagement_score=80, learning_objectives_met=True),
        _session("s2", _ago(days=2), session_number=1, late_start_minutes=11,
                 engagement_score=70, learning_objectives_met=False, tutor_initiated_reschedule=True),
        # a no-show with an actual_start (the tutor joined) is still not completed
        _session("s3", _ago(days=3), session_number=1, late_start_minutes=10, no_show=True),
        _session("s4", _ago(days=4), session_number=2, late_start_minutes=5,
                 engagement_score=65, learning_objectives_met=True),
        _session("s5", _ago(days=5), session_number=3, late_start_minutes=20,
                 learning_objectives_met=True, tutor_initiated_reschedule=True, actual_start=None),
        _session("old", _ago(days=40), session_number=1),
    ]
    feedback = [
        {"session_id": "s1", "overall_rating": 4},
        {"session_id": "s2", "overall_rating": 3},
        {"session_id": "s4", "overall_rating": 5},
        {"session_id": "s5", "overall_rating": 2},
        {"session_id": "old", "overall_rating": 1},  # session outside the window
        {"session_id": "unknown", "overall_rating": 1},  # no such session
    ]
    activities = [_activity("login", _ago(hours=h)) for h in range(1, 8)]  # 7 logins
    activities += [
        _activity("message_response", _ago(days=1), response_time_minutes=10),
        _activity("message_response", _ago(days=2), response_time_minutes=15),
        _activity("message_response", _ago(days=3), response_time_minutes=21),
        _activity("message_response", _ago(days=3)),  # no response time: ignored
        _activity("login", _ago(days=3), response_time_minutes=999),  # not a response
    ]
    # 8 logins in all. Engagement: login min(8/5·100, 100) = 100 → 40;
    # session mean (80+70+65)/3 = 71.666… → 28.666…; on_time (s1, s3, s4 ≤ 10) 3/5 = 60 → 12;
    # 40 + 28.666… + 12 = 80.666… → 80.67
    assert window_metrics(sessions, feedback, activities, NOW, 30) == {
        "total_sessions_scheduled": 5,
        "sessions_completed": 3,  # s1, s2, s4 (s3 no-show, s5 never started)
        "avg_rating": 3.5,  # (4+3+5+2)/4
        "first_session_success_rate": 50.0,  # first sessions with feedback s1 (4), s2 (3) → 1/2
        "first_sessions_count": 3,  # s1, s2, s3
        "reschedule_rate": 40.0,  # s2, s5 → 2/5
        "reschedule_count": 2,
        "no_show_count": 1,
        "engagement_score": 80.67,
        "learning_objectives_met_pct": 75.0,  # s1 T, s2 F, s4 T, s5 T → 3/4
        "response_time_avg_minutes": 15.33,  # (10+15+21)/3 = 15.333…
        # red: fsr 50, resched 40, lom 75 = 3; green: engagement 80.67 → At Risk
        "performance_tier": "At Risk",
    }


@pytest.mark.parametrize(
    ("logins", "scores", "lates", "expected"),
    [
        # 0/1 → 0; no scores → 50 → 20; 1/1 on time → 20
        (0, [None], [0], 40.0),
        # 1/3·100 = 33.333… → 13.333…; 50 → 20; 100 → 20 → 53.333… → 53.33
        (1, [None, None, None], [0, 0, 0], 53.33),
        # 5/2 capped at 100 → 40; mean of non-null [100] → 40; late 11 > 10: 1/2 → 10 → 90
        (5, [100, None], [10, 11], 90.0),
        # 2/4 → 50 → 20; mean(33, 34, 35) = 34 → 13.6; 3/4 → 75 → 15 → 48.6
        (2, [33, 34, None, 35], [0, 0, 0, 11], 48.6),
        # 3/3 → 40; mean(72.5, 72.6) = 72.55 → 29.02; 0/3 on time → 0 → 69.02
        (3, [72.5, 72.6, None], [11, 30, 60], 69.02),
    ],
)
def test_engagement_score(logins, scores, lates, expected):
    sessions = [
        _session(f"s{i}", _ago(days=1 + i), engagement_score=score, late_start_minutes=late)
        for i, (score, late) in enumerate(zip(scores, lates))
    ]
    activities = [_activity("login", _ago(hours=i + 1)) for i in range(logins)]
    assert window_metrics(sessions, [], activities, NOW, 7)["engagement_score"] == expected


def test_tutor_without_sessions_has_null_rates_and_is_developing():
    activities = [
        _activity("login", _ago(days=1)),
        _activity("message_response", _ago(days=1), response_time_minutes=12),
    ]
    metrics = window_metrics([], [{"session_id": "x", "overall_rating": 5}], activities, NOW, 30)
    assert metrics == {
        "total_sessions_scheduled": 0,
        "sessions_completed": 0,
        "avg_rating": None,
        "first_session_success_rate": None,
        "first_sessions_count": 0,
        "reschedule_rate": None,
        "reschedule_count": 0,
        "no_show_count": 0,
        "engagement_score": None,  # null without sessions, logins notwithstanding
        "learning_objectives_met_pct": None,
        "response_time_avg_minutes": 12.0,  # activities do not need sessions
        "performance_tier": "Developing",
    }
    # Every rate is null; no_show_count is a count (0), which the table marks green.
    assert tier_flags(metrics) == (["no_show_count"], [])


def test_first_session_rate_is_null_when_first_sessions_have_no_feedback():
    sessions = [_session("s1", _ago(days=1), session_number=1), _session("s2", _ago(days=2))]
    feedback = [{"session_id": "s2", "overall_rating": 5}]
    metrics = window_metrics(sessions, feedback, [], NOW, 7)
    assert (metrics["first_session_success_rate"], metrics["first_sessions_count"]) == (None, 1)


def test_the_rule_returns_exactly_what_the_metrics_tables_store():
    # Every SPEC name is checked with its value in the full-dict cases above; this keeps the
    # stored columns (and so the API's fields) and the rule's output the same set.
    assert list(window_metrics([], [], [], NOW, 7)) == list(METRIC_FIELDS)


# --------------------------------------------------------------------- tiers

# The SPEC table's metrics, in its order; each case below gives their values in this order.
AR, FS, RR, NS, EN, LO = TABLE = (
    "avg_rating", "first_session_success_rate", "reschedule_rate", "no_show_count", "engagement_score",
    "learning_objectives_met_pct")


@pytest.mark.parametrize(
    ("values", "green", "red", "tier"),
    [
        # green boundaries: 4.5, 85, 10, 0, 80 → 5 green, lom null → Exemplary
        ((4.5, 85.0, 10.0, 0, 80.0, None), [AR, FS, RR, NS, EN], [], "Exemplary"),
        # the same five greens with one red (lom 79.99 < 80) → Needs Attention
        ((4.5, 85.0, 10.0, 0, 80.0, 79.99), [AR, FS, RR, NS, EN], [LO], "Needs Attention"),
        # reds just past the line: 3.49, 69.99, 15.01 → 3 red → At Risk
        ((3.49, 69.99, 15.01, None, None, None), [], [AR, FS, RR], "At Risk"),
        # 3 red beats 3 green: no_show 4, engagement 59.99, lom 0 red; others green
        ((4.9, 100.0, 0.0, 4, 59.99, 0.0), [AR, FS, RR], [NS, EN, LO], "At Risk"),
        # 4 green, 2 red → Needs Attention (red ≥ 1 is tried before green ≥ 3)
        ((4.9, 100.0, 0.0, 0, 10.0, 50.0), [AR, FS, RR, NS], [EN, LO], "Needs Attention"),
        # 3 green, no red → Strong
        ((4.6, 90.0, 5.0, None, None, None), [AR, FS, RR], [], "Strong"),
        # 4 green, rest in the middle band → Strong, not Exemplary
        ((4.6, 90.0, 5.0, 0, 79.99, 89.99), [AR, FS, RR, NS], [], "Strong"),
        # 2 green → Developing
        ((4.6, 90.0, None, None, None, None), [AR, FS], [], "Developing"),
        # every value exactly on the red line is neither flag: 3.5, 70, 15, 3, 60, 80
        ((3.5, 70.0, 15.0, 3, 60.0, 80.0), [], [], "Developing"),
        # all null → no flags → Developing
        ((None,) * 6, [], [], "Developing"),
        # a single red → Needs Attention
        ((None, None, 15.01, 1, None, None), [], [RR], "Needs Attention"),
    ],
)
def test_performance_tier_table(values, green, red, tier):
    metrics = dict(zip(TABLE, values, strict=True))
    assert (tier_flags(metrics), performance_tier(metrics)) == ((green, red), tier)


def test_missing_metrics_add_no_flag():
    assert (tier_flags({}), performance_tier({})) == (([], []), "Developing")


def test_exemplary_tutor_end_to_end():
    # Two sessions (first and second), both rated 5, engagement 90, objectives met, on time, 2 logins.
    sessions = [
        _session("s1", _ago(days=1), session_number=1, engagement_score=90, learning_objectives_met=True),
        _session("s2", _ago(days=2), session_number=2, engagement_score=90, learning_objectives_met=True),
    ]
    feedback = [{"session_id": "s1", "overall_rating": 5}, {"session_id": "s2", "overall_rating": 5}]
    activities = [_activity("login", _ago(days=1)), _activity("login", _ago(days=2))]
    metrics = window_metrics(sessions, feedback, activities, NOW, 7)
    # engagement: 2/2 → 100 → 40; 90 → 36; 100 → 20 → 96; six greens
    assert (metrics["engagement_score"], tier_flags(metrics), metrics["performance_tier"]) == (
        96.0,
        ([AR, FS, RR, NS, EN, LO], []),
        "Exemplary",
    )
