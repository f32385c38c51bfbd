"""Tutor records, performance metrics, their history and sessions (SPEC §3.3, §4); scope `read`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import select
from sqlalchemy.orm import Session

from tutormax.db import read_session, utcnow
from tutormax.models.tutoring import (
    METRIC_FIELDS,
    SessionFeedback,
    Tutor,
    TutoringSession,
    TutorMetrics,
    TutorMetricsHistory,
)
from tutormax.rules.tutoring import WINDOWS
from tutormax.schemas.tutoring import (
    CATEGORY_FIELDS,
    HistoryQuerySchema,
    MetricsQuerySchema,
    SessionsQuerySchema,
    TutorMetricsHistorySchema,
    TutorMetricsSchema,
    TutorSchema,
    TutorSessionsSchema,
)
from tutormax.web.auth import current_principal, require_scope

blp = Blueprint("tutoring", __name__, url_prefix="/api/v1/tutors", description="Tutors and their performance")


def _local_iso(moment: datetime | None, offset_minutes: int | None) -> str | None:
    """A stored UTC datetime as RFC 3339 in the offset the producer sent."""
    if moment is None:
        return None
    return moment.astimezone(timezone(timedelta(minutes=offset_minutes or 0))).isoformat()


def _tutor_or_404(session: Session, tutor_id: str) -> Tutor:
    if current_principal().teacher_id is not None:
        # Tutors are linked to no class: a teacher-bound key has no tutor to read.
        abort(403, message="Teacher-bound keys cannot read tutor records.")
    tutor = session.get(Tutor, tutor_id)
    if tutor is None:
        abort(404, message=f"No tutor with id {tutor_id}.")
    return tutor


def _metric_values(row: TutorMetrics | TutorMetricsHistory | None) -> dict:
    """The window's metrics; every value null when it has not been computed yet."""
    values = {name: None if row is None else getattr(row, name) for name in METRIC_FIELDS}
    values["computed_at"] = None if row is None else row.computed_at
    return values


def tutor_record(session: Session, tutor_id: str) -> dict:
    """The tutor record with its derived fields (403 for teacher keys, 404 when unknown)."""
    tutor = _tutor_or_404(session, tutor_id)
    return {
        **{c.key: getattr(tutor, c.key) for c in Tutor.__table__.columns
           if c.key not in ("event_timestamp", "event_pk")},
        "updated_at": tutor.event_timestamp,
    }


def tutor_metrics(session: Session, tutor_id: str, windows: list[str]) -> dict:
    """The tutor's current metrics for each of `windows` (all values null until computed)."""
    _tutor_or_404(session, tutor_id)
    rows = {
        row.window: row
        for row in session.scalars(
            select(TutorMetrics).where(TutorMetrics.tutor_id == tutor_id, TutorMetrics.window.in_(windows))
        )
    }
    return {"tutor_id": tutor_id, "windows": {w: _metric_values(rows.get(w)) for w in windows}}


def tutor_metrics_history(session: Session, tutor_id: str, window: str, days: int) -> dict:
    """One row per UTC day of the last `days` days for `window`, oldest first."""
    since = utcnow().date() - timedelta(days=days - 1)
    _tutor_or_404(session, tutor_id)
    rows = session.scalars(
        select(TutorMetricsHistory)
        .where(TutorMetricsHistory.tutor_id == tutor_id, TutorMetricsHistory.window == window,
               TutorMetricsHistory.day >= since)
        .order_by(TutorMetricsHistory.day)
    ).all()
    return {"tutor_id": tutor_id, "window": window, "days": days,
            "history": [{"day": row.day, **_metric_values(row)} for row in rows]}


@blp.route("/<tutor_id>")
class TutorRecord(MethodView):
    @require_scope("read")
    @blp.response(200, TutorSchema)
    def get(self, tutor_id: str):
        """The tutor record with its derived fields."""
        with read_session() as session:
            return tutor_record(session, tutor_id)


@blp.route("/<tutor_id>/metrics")
class TutorMetricsView(MethodView):
    @require_scope("read")
    @blp.arguments(MetricsQuerySchema, location="query")
    @blp.response(200, TutorMetricsSchema)
    def get(self, args: dict, tutor_id: str):
        """Current metrics per window (`7day`, `30day`, `90day`), or only the `window` asked for."""
        windows = [args["window"]] if args.get("window") else list(WINDOWS)
        with read_session() as session:
            return tutor_metrics(session, tutor_id, windows)


@blp.route("/<tutor_id>/metrics/history")
class TutorMetricsHistoryView(MethodView):
    @require_scope("read")
    @blp.arguments(HistoryQuerySchema, location="query")
    @blp.response(200, TutorMetricsHistorySchema)
    def get(self, args: dict, tutor_id: str):
        """One row per UTC day of the last `days` days for `window`, oldest first."""
        with read_session() as session:
            return tutor_metrics_history(session, tutor_id, args["window"], args["days"])


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


def tutor_sessions(session: Session, tutor_id: str, limit: int) -> dict:
    """The tutor's enriched sessions, newest scheduled_start first, each with its feedback or null."""
    _tutor_or_404(session, tutor_id)
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


@blp.route("/<tutor_id>/sessions")
class TutorSessionsView(MethodView):
    @require_scope("read")
    @blp.arguments(SessionsQuerySchema, location="query")
    @blp.response(200, TutorSessionsSchema)
    def get(self, args: dict, tutor_id: str):
        """The tutor's enriched sessions, newest scheduled_start first, each with its feedback or null."""
        with read_session() as session:
            return tutor_sessions(session, tutor_id, args["limit"])


api_blueprints = [blp]
