"""Tutoring views (SPEC §3.3): tutors, sessions, feedback, activities and tutor metrics.

Records carry the (event_timestamp, event_pk) of the event that last wrote them,
so an upsert from an older event never overwrites a newer one. Datetimes the
producer sent with an offset are stored in UTC plus that offset in minutes, so the
API can return them as sent.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Float, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tutormax.db import Base


class _WrittenByEvent:
    """Records upserted by their own id: the (timestamp, pk) of the event that last wrote the row, so an
    older event never overwrites it (tutormax.upserts)."""

    event_timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    event_pk: Mapped[int] = mapped_column(BigInteger)


class Tutor(_WrittenByEvent, Base):
    """One tutor, upserted by tutor_id, with its derived fields."""

    __tablename__ = "tutors"

    tutor_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))  # personal data: never logged
    email: Mapped[str] = mapped_column(String(320))  # personal data: never logged
    onboarding_date: Mapped[str] = mapped_column(String(64))  # as sent: a date or a date-time with offset
    status: Mapped[str] = mapped_column(String(16))
    subjects: Mapped[list] = mapped_column(JSONB)
    education_level: Mapped[str | None] = mapped_column(String(128))
    location: Mapped[str | None] = mapped_column(String(256))
    baseline_sessions_per_week: Mapped[float | None] = mapped_column(Float)
    tenure_days: Mapped[int] = mapped_column(Integer)
    is_new_tutor: Mapped[bool] = mapped_column(Boolean)
    experience_level: Mapped[str] = mapped_column(String(16))
    subject_count: Mapped[int] = mapped_column(Integer)
    is_active_today: Mapped[bool] = mapped_column(Boolean)
    derived_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TutoringSession(_WrittenByEvent, Base):
    """One tutoring session, upserted by session_id, with its derived fields."""

    __tablename__ = "tutoring_sessions"
    __table_args__ = (Index("ix_tutoring_sessions_tutor_start", "tutor_id", "scheduled_start"),)

    session_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    tutor_id: Mapped[str] = mapped_column(String(128))
    student_id: Mapped[str] = mapped_column(String(128))
    session_number: Mapped[int] = mapped_column(Integer)
    scheduled_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    scheduled_start_offset_minutes: Mapped[int] = mapped_column(Integer)
    actual_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    actual_start_offset_minutes: Mapped[int | None] = mapped_column(Integer)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(128))
    session_type: Mapped[str] = mapped_column(String(16))
    tutor_initiated_reschedule: Mapped[bool] = mapped_column(Boolean)
    no_show: Mapped[bool] = mapped_column(Boolean)
    late_start_minutes: Mapped[int] = mapped_column(Integer)
    engagement_score: Mapped[float | None] = mapped_column(Float)
    learning_objectives_met: Mapped[bool | None] = mapped_column(Boolean)
    technical_issues: Mapped[bool] = mapped_column(Boolean)
    is_weekend: Mapped[bool] = mapped_column(Boolean)
    time_of_day: Mapped[str] = mapped_column(String(16))
    is_late_start: Mapped[bool] = mapped_column(Boolean)
    actual_duration_minutes: Mapped[int] = mapped_column(Integer)
    week_of_year: Mapped[int] = mapped_column(Integer)
    month_of_year: Mapped[int] = mapped_column(Integer)


class SessionFeedback(_WrittenByEvent, Base):
    """The feedback of one session (one per session: the newest event wins), with derived fields."""

    __tablename__ = "tutoring_feedback"
    __table_args__ = (Index("ix_tutoring_feedback_feedback_id", "feedback_id"),)

    session_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    feedback_id: Mapped[str] = mapped_column(String(128))
    tutor_id: Mapped[str] = mapped_column(String(128))
    student_id: Mapped[str] = mapped_column(String(128))
    overall_rating: Mapped[int] = mapped_column(Integer)
    subject_knowledge_rating: Mapped[int | None] = mapped_column(Integer)
    communication_rating: Mapped[int | None] = mapped_column(Integer)
    patience_rating: Mapped[int | None] = mapped_column(Integer)
    engagement_rating: Mapped[int | None] = mapped_column(Integer)
    helpfulness_rating: Mapped[int | None] = mapped_column(Integer)
    would_recommend: Mapped[bool | None] = mapped_column(Boolean)
    improvement_areas: Mapped[list] = mapped_column(JSONB)
    free_text_feedback: Mapped[str | None] = mapped_column(Text)  # free text: never logged
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    submitted_at_offset_minutes: Mapped[int] = mapped_column(Integer)
    is_positive: Mapped[bool] = mapped_column(Boolean)
    is_poor: Mapped[bool] = mapped_column(Boolean)
    avg_category_rating: Mapped[float | None] = mapped_column(Float)
    category_variance: Mapped[float | None] = mapped_column(Float)
    has_text_feedback: Mapped[bool] = mapped_column(Boolean)
    feedback_delay_hours: Mapped[float] = mapped_column(Float)


class TutorActivity(Base):
    """One tutor activity, a fact keyed by its event's pk."""

    __tablename__ = "tutor_activities"
    __table_args__ = (Index("ix_tutor_activities_tutor_timestamp", "tutor_id", "timestamp"),)

    event_pk: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tutor_id: Mapped[str] = mapped_column(String(128))
    activity_type: Mapped[str] = mapped_column(String(64))
    timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Only the figure the metrics use is kept; metadata may carry free text.
    response_time_minutes: Mapped[float | None] = mapped_column(Float)


class _MetricColumns:
    """The SPEC §3.3 metric columns shared by the current and the history tables."""

    total_sessions_scheduled: Mapped[int] = mapped_column(Integer)
    sessions_completed: Mapped[int] = mapped_column(Integer)
    avg_rating: Mapped[float | None] = mapped_column(Float)
    first_session_success_rate: Mapped[float | None] = mapped_column(Float)
    first_sessions_count: Mapped[int] = mapped_column(Integer)
    reschedule_rate: Mapped[float | None] = mapped_column(Float)
    reschedule_count: Mapped[int] = mapped_column(Integer)
    no_show_count: Mapped[int] = mapped_column(Integer)
    engagement_score: Mapped[float | None] = mapped_column(Float)
    learning_objectives_met_pct: Mapped[float | None] = mapped_column(Float)
    response_time_avg_minutes: Mapped[float | None] = mapped_column(Float)
    performance_tier: Mapped[str] = mapped_column(String(32))
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


METRIC_FIELDS = (
    "total_sessions_scheduled",
    "sessions_completed",
    "avg_rating",
    "first_session_success_rate",
    "first_sessions_count",
    "reschedule_rate",
    "reschedule_count",
    "no_show_count",
    "engagement_score",
    "learning_objectives_met_pct",
    "response_time_avg_minutes",
    "performance_tier",
)


class TutorMetrics(_MetricColumns, Base):
    """The current metrics of one tutor and window, for fast reads."""

    __tablename__ = "tutor_metrics"

    tutor_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    window: Mapped[str] = mapped_column(String(8), primary_key=True)


class TutorMetricsHistory(_MetricColumns, Base):
    """The last metrics computed on each UTC day, per tutor and window, for trend charts."""

    __tablename__ = "tutor_metrics_history"

    tutor_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    window: Mapped[str] = mapped_column(String(8), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
