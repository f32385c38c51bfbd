"""Learning progress: activity, pair state, grade facts, teacher links, mastery, rollups, risk.

Revision ID: 0002_learning
Revises: 0001_spine
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_learning"
down_revision = "0001_spine"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "learning_activity",
        sa.Column("event_pk", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("class_id", sa.String(128), nullable=False),
        sa.Column("student_id", sa.String(128), nullable=False),
        sa.Column("assignment_id", sa.String(128), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("standard_ids", postgresql.ARRAY(sa.String(128)), nullable=False),
        sa.Column("score", sa.Numeric()),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_pk", name="pk_learning_activity"),
    )
    op.create_index("ix_learning_activity_class_student_time", "learning_activity",
                    ["class_id", "student_id", "timestamp", "event_pk"])
    op.create_index("ix_learning_activity_class_time", "learning_activity", ["class_id", "timestamp", "event_pk"])

    op.create_table(
        "learning_pairs",
        sa.Column("class_id", sa.String(128), nullable=False),
        sa.Column("student_id", sa.String(128), nullable=False),
        sa.Column("assignment_id", sa.String(128), nullable=False),
        sa.Column("assigned", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("grade_score", sa.Numeric()),
        sa.Column("grade_at", sa.DateTime(timezone=True)),
        sa.Column("grade_event_pk", sa.BigInteger()),
        sa.PrimaryKeyConstraint("class_id", "student_id", "assignment_id", name="pk_learning_pairs"),
    )
    op.create_index("ix_learning_pairs_student_id", "learning_pairs", ["student_id"])

    op.create_table(
        "learning_grades",
        sa.Column("event_pk", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("standard_id", sa.String(128), nullable=False),
        sa.Column("student_id", sa.String(128), nullable=False),
        sa.Column("class_id", sa.String(128), nullable=False),
        sa.Column("score", sa.Numeric(), nullable=False),
        sa.Column("graded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("event_pk", "standard_id", name="pk_learning_grades"),
    )

    op.create_table(
        "learning_class_standards",
        sa.Column("class_id", sa.String(128), nullable=False),
        sa.Column("standard_id", sa.String(128), nullable=False),
        sa.Column("student_id", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("class_id", "standard_id", "student_id", name="pk_learning_class_standards"),
    )

    op.create_table(
        "learning_class_teachers",
        sa.Column("class_id", sa.String(128), nullable=False),
        sa.Column("teacher_id", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("class_id", "teacher_id", name="pk_learning_class_teachers"),
    )
    op.create_index("ix_learning_class_teachers_teacher_id", "learning_class_teachers", ["teacher_id"])

    op.create_table(
        "learning_mastery",
        sa.Column("student_id", sa.String(128), nullable=False),
        sa.Column("standard_id", sa.String(128), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("score_total", sa.Numeric(), nullable=False),
        sa.Column("latest_score", sa.Numeric(), nullable=False),
        sa.Column("latest_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("latest_event_pk", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("student_id", "standard_id", name="pk_learning_mastery"),
    )

    op.create_table(
        "learning_class_rollups",
        sa.Column("class_id", sa.String(128), nullable=False),
        sa.Column("student_count", sa.Integer(), nullable=False),
        sa.Column("assignment_count", sa.Integer(), nullable=False),
        sa.Column("completion_rate", sa.Float()),
        sa.Column("average_score", sa.Float()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("class_id", name="pk_learning_class_rollups"),
    )

    op.create_table(
        "learning_risk_flags",
        sa.Column("class_id", sa.String(128), nullable=False),
        sa.Column("student_id", sa.String(128), nullable=False),
        sa.Column("reasons", postgresql.ARRAY(sa.String(64)), nullable=False),
        sa.Column("details", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("class_id", "student_id", name="pk_learning_risk_flags"),
    )


def downgrade() -> None:
    for table in ("learning_risk_flags", "learning_class_rollups", "learning_mastery", "learning_class_teachers",
                  "learning_class_standards", "learning_grades", "learning_pairs", "learning_activity"):
        op.drop_table(table)
