"""Tutoring formulas of SPEC.md section 3.3, as pure functions over plain data.

Standard library only: tasks load rows, turn them into dicts and call these.
Arithmetic is done on exact fractions and rounded half away from zero at the
end, so a value worked out by hand (e.g. 0.125 -> 0.13) is the value returned.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from typing import Any

WINDOWS: dict[str, int] = {"7day": 7, "30day": 30, "90day": 90}

LOGIN_ACTIVITY = "login"
MESSAGE_RESPONSE_ACTIVITY = "message_response"

TIER_EXEMPLARY = "Exemplary"
TIER_STRONG = "Strong"
TIER_DEVELOPING = "Developing"
TIER_NEEDS_ATTENTION = "Needs Attention"
TIER_AT_RISK = "At Risk"
TIERS = (TIER_EXEMPLARY, TIER_STRONG, TIER_DEVELOPING, TIER_NEEDS_ATTENTION, TIER_AT_RISK)

_DAY = timedelta(days=1)
_HOUR = timedelta(hours=1)

Number = int | float | Decimal | Fraction


# --------------------------------------------------------------------- helpers


def _exact(value: Number) -> Fraction:
    """Return the value as a Fraction, reading floats by their shortest repr."""
    if isinstance(value, float):
        # Fraction(0.1) is the binary approximation; repr gives what was written.
        return Fraction(repr(value))
    return Fraction(value)


def _round2(value: Number) -> float:
    """Round to 2 decimals, halves away from zero (0.125 -> 0.13, -0.125 -> -0.13)."""
    exact = _exact(value)
    sign = -1 if exact < 0 else 1
    hundredths = math.floor(abs(exact) * 100 + Fraction(1, 2))
    return sign * hundredths / 100


def _mean(values: list[Number]) -> Fraction | None:
    """Return the exact mean, or None for an empty list."""
    if not values:
        return None
    return sum((_exact(v) for v in values), Fraction(0)) / len(values)


def _percent(part: int, whole: int) -> float | None:
    """Return part ÷ whole × 100 rounded to 2 decimals, None when whole is 0."""
    if whole == 0:
        return None
    return _round2(Fraction(part * 100, whole))


def _as_utc(moment: datetime) -> datetime:
    """Return an aware UTC datetime; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _is_number(value: Any) -> bool:
    """True for int/float/Decimal/Fraction values that are not bools or NaN."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, Fraction)):
        return False
    return not (isinstance(value, float) and math.isnan(value))


# ------------------------------------------------------------------ enrichment


def tutor_derived(
    onboarding_date: date | datetime,
    subjects: list[str] | None,
    last_updated_at: datetime,
    now: datetime,
) -> dict[str, Any]:
    """Derived tutor fields: tenure, newness, experience level, subject count, activity today (UTC)."""
    if isinstance(onboarding_date, datetime):
        onboarded_at = _as_utc(onboarding_date)
    else:
        onboarded_at = datetime.combine(onboarding_date, time(0), tzinfo=timezone.utc)
    now_utc = _as_utc(now)
    tenure_days = max((now_utc - onboarded_at) // _DAY, 0)
    if tenure_days < 90:
        experience_level = "junior"
    elif tenure_days < 365:
        experience_level = "mid"
    else:
        experience_level = "senior"
    return {
        "tenure_days": tenure_days,
        "is_new_tutor": tenure_days < 30,
        "experience_level": experience_level,
        "subject_count": len(set(subjects or [])),
        "is_active_today": _as_utc(last_updated_at).date() == now_utc.date(),
    }


def time_of_day(hour: int) -> str:
    """Name the part of day for a local wall-clock hour (0-23)."""
    if 5 <= hour <= 11:
        return "morning"
    if 12 <= hour <= 16:
        return "afternoon"
    if 17 <= hour <= 21:
        return "evening"
    return "night"


def session_derived(
    scheduled_start: datetime, duration_minutes: int, late_start_minutes: int = 0
) -> dict[str, Any]:
    """Derived session fields, read from scheduled_start's wall clock in its own offset."""
    # Deliberately no astimezone(): the offset the producer sent is the local time.
    local = scheduled_start
    return {
        "is_weekend": local.weekday() >= 5,
        "time_of_day": time_of_day(local.hour),
        "is_late_start": (late_start_minutes or 0) > 5,
        "actual_duration_minutes": duration_minutes,
        "week_of_year": local.isocalendar().week,
        "month_of_year": local.month,
    }


def feedback_derived(
    overall_rating: int,
    category_ratings: Mapping[str, int | None],
    free_text: str | None,
    submitted_at: datetime,
    session_scheduled_start: datetime,
) -> dict[str, Any]:
    """Derived feedback fields: positive/poor flags, category mean and variance, text, delay."""
    ratings = [r for r in category_ratings.values() if r is not None]
    mean = _mean(ratings)
    if mean is None:
        avg_category_rating = category_variance = None
    else:
        variance = sum(((_exact(r) - mean) ** 2 for r in ratings), Fraction(0)) / len(ratings)
        avg_category_rating = _round2(mean)
        category_variance = _round2(variance)
    return {
        "is_positive": overall_rating >= 4,
        "is_poor": overall_rating < 3,
        "avg_category_rating": avg_category_rating,
        "category_variance": category_variance,
        "has_text_feedback": bool(free_text and free_text.strip()),
        "feedback_delay_hours": feedback_delay_hours(submitted_at, session_scheduled_start),
    }


def feedback_delay_hours(submitted_at: datetime, session_scheduled_start: datetime) -> float:
    """Hours from the session's scheduled start to the feedback, 2 decimals (negative if before)."""
    delay = _as_utc(submitted_at) - _as_utc(session_scheduled_start)
    return _round2(Fraction(delay // timedelta(microseconds=1), 3_600_000_000))


# --------------------------------------------------------- performance metrics

# metric -> (is green, is red); evaluated only when the metric is not None.
_TIER_TABLE: dict[str, tuple[Any, Any]] = {
    "avg_rating": (lambda v: v >= 4.5, lambda v: v < 3.5),
    "first_session_success_rate": (lambda v: v >= 85, lambda v: v < 70),
    "reschedule_rate": (lambda v: v <= 10, lambda v: v > 15),
    "no_show_count": (lambda v: v == 0, lambda v: v > 3),
    "engagement_score": (lambda v: v >= 80, lambda v: v < 60),
    "learning_objectives_met_pct": (lambda v: v >= 90, lambda v: v < 80),
}


# The metrics the tier reads, in the table's order.
TIER_METRICS: tuple[str, ...] = tuple(_TIER_TABLE)


def tier_flags(metrics: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """The green and the red flags of the SPEC tier table: metric names, in the table's order.

    A missing or None metric adds none. `performance_tier` counts these lists, so a
    tier and the flags shown with it cannot disagree.
    """
    green: list[str] = []
    red: list[str] = []
    for name, (is_green, is_red) in _TIER_TABLE.items():
        value = metrics.get(name)
        if value is None:
            continue
        if is_green(value):
            green.append(name)
        elif is_red(value):
            red.append(name)
    return green, red


def performance_tier(metrics: Mapping[str, Any]) -> str:
    """Return the tier from the flag counts, rules tried in SPEC order."""
    green_flags, red_flags = tier_flags(metrics)
    green, red = len(green_flags), len(red_flags)
    if green >= 5 and red == 0:
        return TIER_EXEMPLARY
    if red >= 3:
        return TIER_AT_RISK
    if red >= 1:
        return TIER_NEEDS_ATTENTION
    if green >= 3:
        return TIER_STRONG
    return TIER_DEVELOPING


def _in_window(moment: datetime, start: datetime, end: datetime) -> bool:
    """True when start <= moment < end (all compared in UTC)."""
    return start <= _as_utc(moment) < end


def window_metrics(
    sessions: Iterable[Mapping[str, Any]],
    feedback: Iterable[Mapping[str, Any]],
    activities: Iterable[Mapping[str, Any]],
    now: datetime,
    days: int,
) -> dict[str, Any]:
    """Tutor performance metrics over [now - days, now); activity_type "login" counts as a login.

    Sessions and their feedback belong to the window by the session's scheduled_start,
    activities by their timestamp. Feedback for a session outside the window (or not
    passed in) is ignored; with several feedbacks for one session the last one wins.
    """
    end = _as_utc(now)
    start = end - timedelta(days=days)

    in_window = [s for s in sessions if _in_window(s["scheduled_start"], start, end)]
    window_ids = {s["session_id"] for s in in_window}
    rating_by_session = {
        f["session_id"]: f["overall_rating"]
        for f in feedback
        if f["session_id"] in window_ids and f.get("overall_rating") is not None
    }
    window_activities = [a for a in activities if _in_window(a["timestamp"], start, end)]

    total = len(in_window)
    sessions_completed = sum(
        1 for s in in_window if not s.get("no_show") and s.get("actual_start") is not None
    )

    ratings = list(rating_by_session.values())
    mean_rating = _mean(ratings)
    avg_rating = None if mean_rating is None else _round2(mean_rating)

    first_sessions = [s for s in in_window if s.get("session_number") == 1]
    rated_first = [
        rating_by_session[s["session_id"]] for s in first_sessions if s["session_id"] in rating_by_session
    ]
    first_session_success_rate = _percent(sum(1 for r in rated_first if r >= 4), len(rated_first))

    reschedule_count = sum(1 for s in in_window if s.get("tutor_initiated_reschedule"))
    no_show_count = sum(1 for s in in_window if s.get("no_show"))

    objectives = [s["learning_objectives_met"] for s in in_window if s.get("learning_objectives_met") is not None]
    learning_objectives_met_pct = _percent(sum(1 for met in objectives if met), len(objectives))

    response_times = [
        (a.get("metadata") or {}).get("response_time_minutes")
        for a in window_activities
        if a.get("activity_type") == MESSAGE_RESPONSE_ACTIVITY
    ]
    mean_response = _mean([t for t in response_times if _is_number(t)])
    response_time_avg_minutes = None if mean_response is None else _round2(mean_response)

    metrics: dict[str, Any] = {
        "total_sessions_scheduled": total,
        "sessions_completed": sessions_completed,
        "avg_rating": avg_rating,
        "first_session_success_rate": first_session_success_rate,
        "first_sessions_count": len(first_sessions),
        "reschedule_rate": _percent(reschedule_count, total),
        "reschedule_count": reschedule_count,
        "no_show_count": no_show_count,
        "engagement_score": _engagement_score(in_window, window_activities),
        "learning_objectives_met_pct": learning_objectives_met_pct,
        "response_time_avg_minutes": response_time_avg_minutes,
    }
    metrics["performance_tier"] = performance_tier(metrics)
    return metrics


def _engagement_score(
    in_window: list[Mapping[str, Any]], window_activities: list[Mapping[str, Any]]
) -> float | None:
    """0.4·login + 0.4·session + 0.2·on_time over the window's sessions; None without sessions."""
    total = len(in_window)
    if total == 0:
        return None
    logins = sum(1 for a in window_activities if a.get("activity_type") == LOGIN_ACTIVITY)
    login = min(Fraction(logins * 100, max(total, 1)), Fraction(100))
    scores = [s["engagement_score"] for s in in_window if s.get("engagement_score") is not None]
    session = _mean(scores)
    if session is None:
        session = Fraction(50)
    on_time = Fraction(sum(1 for s in in_window if (s.get("late_start_minutes") or 0) <= 10) * 100, total)
    return _round2(Fraction(2, 5) * login + Fraction(2, 5) * session + Fraction(1, 5) * on_time)
