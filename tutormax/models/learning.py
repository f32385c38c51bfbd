"""Learning-progress tables (SPEC §3.1): compact state kept per event, and the views.

Facts (written by the persist stage, idempotent by event pk or by key):
- `learning_activity`: one row per learning event (the timeline and recent activity).
- `learning_pairs`: one row per (class, student, assignment): assigned flag and the
  pair's latest grade (score, its float's exact value, timestamp, event pk).
- `learning_class_students`, `learning_class_totals`: per (class, student) and per class
  aggregates of `learning_pairs`, kept in step with it by the same persist statement
  (under the class's advisory lock), so a class recompute reads O(students) rows.
- `learning_grades`: one row per (graded event, standard); `applied` marks the rows
  already folded into `learning_mastery`, so the fold happens exactly once.
- `learning_class_standards`: which students were graded on which standard in a class.
- `learning_class_teachers`: class ↔ teacher links from `teacher_id` on any event.
- `learning_assignment_standards`: the standards each class's assignment was assigned with;
  a grade naming no standard (an xAPI statement, SPEC §3.5) is graded on these, including
  those that arrive after it (its `learning_grades` rows are then added and folded in).

Views (written by the recompute stage):
- `learning_mastery`: running aggregates per (student, standard).
- `learning_class_rollups`, `learning_risk_flags`: per class, from the aggregates (and the
  two latest graded pairs of each student, read through an index, and the mastery of the
  standards each student was graded on in the class).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tutormax.db import Base


class LearningActivity(Base):
    """One learning event as the timeline shows it."""

    __tablename__ = "learning_activity"
    __table_args__ = (
        Index("ix_learning_activity_class_student_time", "class_id", "student_id", "timestamp", "event_pk"),
        Index("ix_learning_activity_class_time", "class_id", "timestamp", "event_pk"),
        # Grades without a standard of their own (xAPI), found when their assignment's standards arrive.
        Index("ix_learning_activity_standardless_grades", "class_id", "assignment_id",
              postgresql_where=text("event_type = 'SUBMISSION_GRADED' AND standard_ids = '{}'")),
    )

    event_pk: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    class_id: Mapped[str] = mapped_column(String(128))
    student_id: Mapped[str] = mapped_column(String(128))
    assignment_id: Mapped[str] = mapped_column(String(128))
    event_type: Mapped[str] = mapped_column(String(64))
    standard_ids: Mapped[list[str]] = mapped_column(ARRAY(String(128)))
    score: Mapped[Decimal | None] = mapped_column(Numeric)
    timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LearningPair(Base):
    """State of one (class, student, assignment) pair: assigned? latest grade?"""

    __tablename__ = "learning_pairs"
    __table_args__ = (
        Index("ix_learning_pairs_student_id", "student_id"),
        # Is an assignment new to the class? (keeps learning_class_totals.assignment_count)
        Index("ix_learning_pairs_class_assignment", "class_id", "assignment_id"),
        # A student's two most recently graded pairs, read backwards (score_trend_down).
        Index("ix_learning_pairs_class_student_graded", "class_id", "student_id", "grade_at", "grade_event_pk",
              postgresql_where=text("grade_event_pk IS NOT NULL")),
    )

    class_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    student_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    assignment_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    assigned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The latest grade by (timestamp, event pk); all three NULL until graded.
    grade_score: Mapped[Decimal | None] = mapped_column(Numeric)
    # The exact value of float(grade_score): the rollup's mean is taken over these floats.
    grade_value: Mapped[Decimal | None] = mapped_column(Numeric)
    grade_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    grade_event_pk: Mapped[int | None] = mapped_column(BigInteger)


class LearningGrade(Base):
    """One graded event's score on one standard (a mastery attempt)."""

    __tablename__ = "learning_grades"

    event_pk: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    standard_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    student_id: Mapped[str] = mapped_column(String(128))
    class_id: Mapped[str] = mapped_column(String(128))
    score: Mapped[Decimal] = mapped_column(Numeric)
    graded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Set once the row has been added to learning_mastery's running totals.
    applied: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class LearningClassStandard(Base):
    """A student graded on a standard in a class (the dashboard's mastery_by_standard, the triage's mastery)."""

    __tablename__ = "learning_class_standards"
    # The classes whose triage a student's new mastery on a standard changes.
    __table_args__ = (Index("ix_learning_class_standards_student_standard", "student_id", "standard_id"),)

    class_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    standard_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    student_id: Mapped[str] = mapped_column(String(128), primary_key=True)


class LearningAssignmentStandard(Base):
    """A standard a class's assignment was assigned with: the standards of its grades that name none (SPEC §3.5)."""

    __tablename__ = "learning_assignment_standards"

    class_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    assignment_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    standard_id: Mapped[str] = mapped_column(String(128), primary_key=True)


class LearningClassTeacher(Base):
    """A class linked to a teacher by a `teacher_id` on one of its events."""

    __tablename__ = "learning_class_teachers"
    __table_args__ = (Index("ix_learning_class_teachers_teacher_id", "teacher_id"),)

    class_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    teacher_id: Mapped[str] = mapped_column(String(128), primary_key=True)


class _PerClassStudent:
    """Tables with one row per (class, student)."""

    class_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    student_id: Mapped[str] = mapped_column(String(128), primary_key=True)


class LearningClassStudent(_PerClassStudent, Base):
    """Aggregates of one student's pairs in one class; a row exists iff the student has a pair there."""

    __tablename__ = "learning_class_students"

    assigned: Mapped[int] = mapped_column(Integer)
    graded_assigned: Mapped[int] = mapped_column(Integer)
    graded: Mapped[int] = mapped_column(Integer)
    # Exact sum of grade_value over the student's graded pairs.
    score_sum: Mapped[Decimal] = mapped_column(Numeric)


class LearningClassTotals(Base):
    """Per class: how many distinct assignments its pairs name."""

    __tablename__ = "learning_class_totals"

    class_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    assignment_count: Mapped[int] = mapped_column(Integer)


class LearningMastery(Base):
    """Running mastery totals of one student on one standard, across classes."""

    __tablename__ = "learning_mastery"

    student_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    standard_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer)
    # Exact decimal sum, so the average never depends on the order grades were added.
    score_total: Mapped[Decimal] = mapped_column(Numeric)
    latest_score: Mapped[Decimal] = mapped_column(Numeric)
    latest_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    latest_event_pk: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LearningClassRollup(Base):
    """Class rollup of SPEC §3.1 (average_score on the 0–100 scale)."""

    __tablename__ = "learning_class_rollups"

    class_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    student_count: Mapped[int] = mapped_column(Integer)
    assignment_count: Mapped[int] = mapped_column(Integer)
    completion_rate: Mapped[float | None] = mapped_column(Float)
    average_score: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LearningRiskFlag(_PerClassStudent, Base):
    """A student of a class with at least one risk reason, and its triage; students without one have no row."""

    __tablename__ = "learning_risk_flags"

    reasons: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    details: Mapped[dict] = mapped_column(JSONB)
    severity: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    priority: Mapped[str] = mapped_column(String(8), server_default=text("'low'"))
    explanations: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))


LEARNING_TABLES = (
    LearningActivity,
    LearningPair,
    LearningGrade,
    LearningClassStandard,
    LearningAssignmentStandard,
    LearningClassTeacher,
    LearningClassStudent,
    LearningClassTotals,
    LearningMastery,
    LearningClassRollup,
    LearningRiskFlag,
)
