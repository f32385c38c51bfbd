"""Tutoring: tutors, sessions, feedback, activities, tutor metrics and their daily history.

Revision ID: 0004_tutoring
Revises: 0003_reading
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_tutoring"
down_revision = "0003_reading"
branch_labels = None
depends_on = None


def _metric_columns() -> list[sa.Column]:
    """The SPEC §3.3 metric columns of tutor_metrics and tutor_metrics_history."""
    return [
        sa.Column("total_sessions_scheduled", sa.Integer(), nullable=False),
        sa.Column("sessions_completed", sa.Integer(), nullable=False),
        sa.Column("avg_rating", sa.Float()),
        sa.Column("first_session_success_rate", sa.Float()),
        sa.Column("first_sessions_count", sa.Integer(), nullable=False),
        sa.Column("reschedule_rate", sa.Float()),
        sa.Column("reschedule_count", sa.Integer(), nullable=False),
        sa.Column("no_show_count", sa.Integer(), nullable=False),
        sa.Column("engagement_score", sa.Float()),
        sa.Column("learning_objectives_met_pct", sa.Float()),
        sa.Column("response_time_avg_minutes", sa.Float()),
        sa.Column("performance_tier", sa.String(32), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "tutors",
        sa.Column("tutor_id", sa.String(128), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("onboarding_date", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("subjects", postgresql.JSONB(), nullable=False),
        sa.Column("education_level", sa.String(128)),
        sa.Column("location", sa.String(256)),
        sa.Column("baseline_sessions_per_week", sa.Float()),
        sa.Column("tenure_days", sa.Integer(), nullable=False),
        sa.Column("is_new_tutor", sa.Boolean(), nullable=False),
        sa.Column("experience_level", sa.String(16), nullable=False),
        sa.Column("subject_count", sa.Integer(), nullable=False),
        sa.Column("is_active_today", sa.Boolean(), nullable=False),
        sa.Column("derived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_pk", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tutor_id", name="pk_tutors"),
    )
    op.create_table(
        "tutoring_sessions",
        sa.Column("session_id", sa.String(128), nullable=False),
        sa.Column("tutor_id", sa.String(128), nullable=False),
        sa.Column("student_id", sa.String(128), nullable=False),
        sa.Column("session_number", sa.Integer(), nullable=False),
        sa.Column("scheduled_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scheduled_start_offset_minutes", sa.Integer(), nullable=False),
        sa.Column("actual_start", sa.DateTime(timezone=True)),
        sa.Column("actual_start_offset_minutes", sa.Integer()),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("session_type", sa.String(16), nullable=False),
        sa.Column("tutor_initiated_reschedule", sa.Boolean(), nullable=False),
        sa.Column("no_show", sa.Boolean(), nullable=False),
        sa.Column("late_start_minutes", sa.Integer(), nullable=False),
        sa.Column("engagement_score", sa.Float()),
        sa.Column("learning_objectives_met", sa.Boolean()),
        sa.Column("technical_issues", sa.Boolean(), nullable=False),
        sa.Column("is_weekend", sa.Boolean(), nullable=False),
        sa.Column("time_of_day", sa.String(16), nullable=False),
        sa.Column("is_late_start", sa.Boolean(), nullable=False),
        sa.Column("actual_duration_minutes", sa.Integer(), nullable=False),
        sa.Column("week_of_year", sa.Integer(), nullable=False),
        sa.Column("month_of_year", sa.Integer(), nullable=False),
        sa.Column("event_timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_pk", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name="pk_tutoring_sessions"),
    )
    op.create_index("ix_tutoring_sessions_tutor_start", "tutoring_sessions", ["tutor_id", "scheduled_start"])
    op.create_table(
        "tutoring_feedback",
        sa.Column("session_id", sa.String(128), nullable=False),
        sa.Column("feedback_id", sa.String(128), nullable=False),
        sa.Column("tutor_id", sa.String(128), nullable=False),
        sa.Column("student_id", sa.String(128), nullable=False),
        sa.Column("overall_rating", sa.Integer(), nullable=False),
        sa.Column("subject_knowledge_rating", sa.Integer()),
        sa.Column("communication_rating", sa.Integer()),
        sa.Column("patience_rating", sa.Integer()),
        sa.Column("engagement_rating", sa.Integer()),
        sa.Column("helpfulness_rating", sa.Integer()),
        sa.Column("would_recommend", sa.Boolean()),
        sa.Column("improvement_areas", postgresql.JSONB(), nullable=False),
        sa.Column("free_text_feedback", sa.Text()),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at_offset_minutes", sa.Integer(), nullable=False),
        sa.Column("is_positive", sa.Boolean(), nullable=False),
        sa.Column("is_poor", sa.Boolean(), nullable=False),
        sa.Column("avg_category_rating", sa.Float()),
        sa.Column("category_variance", sa.Float()),
        sa.Column("has_text_feedback", sa.Boolean(), nullable=False),
        sa.Column("feedback_delay_hours", sa.Float(), nullable=False),
        sa.Column("event_timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_pk", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name="pk_tutoring_feedback"),
    )
    op.create_index("ix_tutoring_feedback_feedback_id", "tutoring_feedback", ["feedback_id"])
    op.create_table(
        "tutor_activities",
        sa.Column("event_pk", sa.BigInteger(), nullable=False),
        sa.Column("tutor_id", sa.String(128), nullable=False),
        sa.Column("activity_type", sa.String(64), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("response_time_minutes", sa.Float()),
        sa.PrimaryKeyConstraint("event_pk", name="pk_tutor_activities"),
    )
    op.create_index("ix_tutor_activities_tutor_timestamp", "tutor_activities", ["tutor_id", "timestamp"])
    op.create_table(
        "tutor_metrics",
        sa.Column("tutor_id", sa.String(128), nullable=False),
        sa.Column("window", sa.String(8), nullable=False),
        *_metric_columns(),
        sa.PrimaryKeyConstraint("tutor_id", "window", name="pk_tutor_metrics"),
    )
    op.create_table(
        "tutor_metrics_history",
        sa.Column("tutor_id", sa.String(128), nullable=False),
        sa.Column("window", sa.String(8), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *_metric_columns(),
        sa.PrimaryKeyConstraint("tutor_id", "window", "day", name="pk_tutor_metrics_history"),
    )


def downgrade() -> None:
    op.drop_table("tutor_metrics_history")
    op.drop_table("tutor_metrics")
    op.drop_index("ix_tutor_activities_tutor_timestamp", table_name="tutor_activities")
    op.drop_table("tutor_activities")
    op.drop_index("ix_tutoring_feedback_feedback_id", table_name="tutoring_feedback")
    op.drop_table("tutoring_feedback")
    op.drop_index("ix_tutoring_sessions_tutor_start", table_name="tutoring_sessions")
    op.drop_table("tutoring_sessions")
    op.drop_table("tutors")
