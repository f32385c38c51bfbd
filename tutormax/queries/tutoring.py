"""Tutoring reads (SPEC §3.3, §4): tutor records, window metrics, their daily history, sessions.

Each function answers None for an unknown tutor; who may read tutors at all is the
web layer's decision (teacher-bound keys may not).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from tutormax.db import utcnow
from tutormax.models.tutoring import (
    METRIC_FIELDS,
    SessionFeedback,
    Tutor,
    TutoringSession,
    TutorMetrics,
    TutorMetricsHistory,
)
from tutormax.schemas.tutoring import CATEGORY_FIELDS


def _local_iso(moment: datetime | None, offset_minutes: int | None) -> str | None:
    """A stored UTC datetime as RFC 3339 in the offset the producer sent."""
    if moment is None:
        return None
    return moment.astimezone(timezone(timedelta(minutes=offset_minutes or 0))).isoformat()


def _tutor_known(session: Session, tutor_id: str) -> bool:
    return session.scalar(select(Tutor.tutor_id).where(Tutor.tutor_id == tutor_id)) is not None


def _metric_values(row: TutorMetrics | TutorMetricsHistory | None) -> dict:
    """The window's metrics; every value null when it has not been computed yet."""
    values = {name: None if row is None else getattr(row, name) for name in METRIC_FIELDS}
    values["computed_at"] = None if row is None else row.computed_at
    return values


def tutor_record(session: Session, tutor_id: str) -> dict | None:
    """The tutor record with its derived fields, or None when unknown."""
    tutor = session.get(Tutor, tutor_id)
    if tutor is None:
        return None
    return {
        **{c.key: getattr(tutor, c.key) for c in Tutor.__table__.columns
           if c.key not in ("event_timestamp", "event_pk")},
        "updated_at": tutor.event_timestamp,
    }


def tutor_metrics(session: Session, tutor_id: str, windows: list[str]) -> dict | None:
    """The tutor's current metrics for each of `windows` (all values null until computed); None when unknown."""
    if not _tutor_known(session, tutor_id):
        return None
    rows = {
        row.window: row
        for row in session.scalars(
            select(TutorMetrics).where(TutorMetrics.tutor_id == tutor_id, TutorMetrics.window.in_(windows))
        )
    }
    return {"tutor_id": tutor_id, "windows": {w: _metric_values(rows.get(w)) for w in windows}}


def tutor_metrics_history(session: Session, tutor_id: str, window: str, days: int) -> dict | None:
    """One row per UTC day of the last `days` days for `window`, oldest first; None when unknown."""
    since = utcnow().date() - timedelta(days=days - 1)
    if not _tutor_known(session, tutor_id):
        return None
    rows = session.scalars(
        select(TutorMetricsHistory)
        .where(TutorMetricsHistory.tutor_id == tutor_id, TutorMetricsHistory.window == window,
               TutorMetricsHistory.day >= since)
        .order_by(TutorMetricsHistory.day)
    ).all()
    return {"tutor_id": tutor_id, "window": window, "days": days,
            "history": [{"day": row.day, **_metric_values(row)} for row in rows]}


def _feedback(row: SessionFeedback | None) -> dict | None:
    if row is None:
        return None
    return {
        "feedback_id": row.feedback_id, "session_id": row.session_id, "tutor_id": row.tutor_id,
        "student_id": row.student_id, "overall_rating": row.overall_rating,
        **{name: getattr(row, name) for name in CATEGORY_FIELDS},
        "would_recommend": row.would_recommend, "improvement_areas": row.improvement_areas or [],
        "free_text_feedback": row.free_text_feedback,
        "submitted_at": _local_iso(row.submitted_at, row.submitted_at_offset_minutes),
        "is_positive": row.is_positive, "is_poor": row.is_poor, "avg_category_rating": row.avg_category_rating,
        "category_variance": row.category_variance, "has_text_feedback": row.has_text_feedback,
        "feedback_delay_hours": row.feedback_delay_hours,
    }


_SESSION_FIELDS = (
    "session_id", "tutor_id", "student_id", "session_number", "duration_minutes", "subject", "session_type",
    "tutor_initiated_reschedule", "no_show", "late_start_minutes", "engagement_score", "learning_objectives_met",
    "technical_issues", "is_weekend", "time_of_day", "is_late_start", "actual_duration_minutes", "week_of_year",
    "month_of_year",
)


def tutor_sessions(session: Session, tutor_id: str, limit: int) -> dict | None:
    """The tutor's enriched sessions, newest scheduled_start first, each with its feedback; None when unknown."""
    if not _tutor_known(session, tutor_id):
        return None
    rows = session.execute(
        select(TutoringSession, SessionFeedback)
        .outerjoin(SessionFeedback, SessionFeedback.session_id == TutoringSession.session_id)
        .where(TutoringSession.tutor_id == tutor_id)
        .order_by(TutoringSession.scheduled_start.desc(), TutoringSession.session_id.desc())
        .limit(limit)
    ).all()
    sessions = [
        {
            **{name: getattr(s, name) for name in _SESSION_FIELDS},
            "scheduled_start": _local_iso(s.scheduled_start, s.scheduled_start_offset_minutes),
            "actual_start": _local_iso(s.actual_start, s.actual_start_offset_minutes),
            "feedback": _feedback(f),
        }
        for s, f in rows
    ]
    return {"tutor_id": tutor_id, "sessions": sessions}
