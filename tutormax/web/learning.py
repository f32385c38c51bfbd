"""Learning-progress read API (SPEC §3.1, §4): teacher dashboard, mastery, timeline, risk.

A teacher-bound key sees only the classes linked to its teacher and the students
in them; anything else answers 404, exactly like something that does not exist.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import exists, select, text
from sqlalchemy.orm import Session

from tutormax.db import read_session
from tutormax.models.learning import (
    LearningActivity,
    LearningClassTeacher,
    LearningMastery,
    LearningPair,
    LearningRiskFlag,
)
from tutormax.rules.learning import MasteryResult, mastery_by_standard, mastery_from_totals, mastery_score
from tutormax.schemas.learning import (
    ClassDashboardSchema,
    ClassRiskSchema,
    StudentMasterySchema,
    StudentTimelineQuerySchema,
    StudentTimelineSchema,
)
from tutormax.web.auth import current_principal, require_scope

blp = Blueprint("learning", __name__, url_prefix="/api/v1", description="Learning progress views")

RECENT_ACTIVITY = 20


def _utc(value: datetime) -> datetime:
    return value.astimezone(timezone.utc)


def _score(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def _class_known(session: Session, class_id: str) -> bool:
    return bool(session.scalar(select(exists().where(LearningPair.class_id == class_id))))


def _class_linked(session: Session, class_id: str, teacher_id: str) -> bool:
    return bool(session.scalar(select(exists().where(
        LearningClassTeacher.class_id == class_id, LearningClassTeacher.teacher_id == teacher_id))))


def require_class(session: Session, class_id: str) -> None:
    """404 unless the class has learning events and the caller may see it."""
    teacher_id = current_principal().teacher_id
    visible = _class_known(session, class_id) if teacher_id is None else _class_linked(session, class_id, teacher_id)
    if not visible:
        abort(404, message=f"No class {class_id}.")


def student_visible(session: Session, student_id: str, teacher_id: str | None) -> bool:
    """The student has learning events and, when `teacher_id` is given, is in one of that teacher's classes."""
    condition = exists().where(LearningPair.student_id == student_id)
    if teacher_id is not None:
        condition = exists().where(
            LearningPair.student_id == student_id,
            LearningClassTeacher.class_id == LearningPair.class_id,
            LearningClassTeacher.teacher_id == teacher_id,
        )
    return bool(session.scalar(select(condition)))


def require_student(session: Session, student_id: str) -> None:
    """404 unless the student has learning events and, for a teacher key, is in one of its classes."""
    if not student_visible(session, student_id, current_principal().teacher_id):
        abort(404, message=f"No student {student_id}.")


# The dashboard in one round trip: it is read far more often than it changes. Numbers
# travel as JSON text and are parsed as Decimal, so they convert exactly as Core rows do.
_CLASS_DASHBOARD = text("""
    SELECT json_build_object(
        'rollup', (SELECT json_build_object(
                       'student_count', student_count, 'assignment_count', assignment_count,
                       'completion_rate', completion_rate, 'average_score', average_score)
                   FROM learning_class_rollups WHERE class_id = :class_id),
        'at_risk', (SELECT coalesce(json_agg(json_build_array(student_id, reasons) ORDER BY student_id), '[]')
                    FROM learning_risk_flags WHERE class_id = :class_id),
        'recent', (SELECT coalesce(json_agg(json_build_array(event_type, student_id, assignment_id, score,
                                                             to_char("timestamp" AT TIME ZONE 'UTC',
                                                                     'YYYY-MM-DD"T"HH24:MI:SS.US'))
                                            ORDER BY "timestamp" DESC, event_pk DESC), '[]')
                   FROM (SELECT * FROM learning_activity WHERE class_id = :class_id
                         ORDER BY "timestamp" DESC, event_pk DESC LIMIT :recent) AS newest),
        'mastery', (SELECT coalesce(json_agg(json_build_array(m.standard_id, m.latest_score)), '[]')
                    FROM learning_mastery m
                    JOIN learning_class_standards cs
                      ON cs.student_id = m.student_id AND cs.standard_id = m.standard_id
                    WHERE cs.class_id = :class_id)
    )::text
""")


def class_dashboard(session: Session, class_id: str, teacher_id: str) -> dict:
    """The dashboard of one class (the caller has checked the class is visible)."""
    raw = session.execute(_CLASS_DASHBOARD, {"class_id": class_id, "recent": RECENT_ACTIVITY}).scalar_one()
    found = json.loads(raw, parse_float=Decimal)
    # Linked but not yet recomputed (its first chain is in flight): an empty class.
    rollup = found["rollup"] or {"student_count": 0, "assignment_count": 0, "completion_rate": None,
                                 "average_score": None}
    return {
        "class_id": class_id,
        "teacher_id": teacher_id,
        "student_count": rollup["student_count"],
        "assignment_count": rollup["assignment_count"],
        "completion_rate": _score(rollup["completion_rate"]),
        "average_score": _score(rollup["average_score"]),
        "at_risk_students": [{"student_id": s, "reasons": list(r)} for s, r in found["at_risk"]],
        "recent_activity": [
            {"event_type": kind, "student_id": student, "assignment_id": assignment, "score": _score(score),
             "timestamp": datetime.fromisoformat(utc).replace(tzinfo=timezone.utc)}
            for kind, student, assignment, score, utc in found["recent"]
        ],
        "mastery_by_standard": mastery_by_standard(
            (standard_id, mastery_score(latest)) for standard_id, latest in found["mastery"]),
    }


def _mastery(row) -> MasteryResult:
    """A mastery row (ORM object or Core row with the same columns) as the rule's result."""
    return mastery_from_totals(row.student_id, row.standard_id, row.attempts, row.score_total, row.latest_score,
                               _utc(row.latest_at))


def student_mastery(session: Session, student_id: str) -> list[dict]:
    """The student's mastery per standard, sorted by standard_id."""
    rows = session.scalars(
        select(LearningMastery).where(LearningMastery.student_id == student_id).order_by(LearningMastery.standard_id)
    ).all()
    return [
        {"standard_id": m.standard_id, "mastery_score": m.mastery_score, "attempts": m.attempts,
         "average_score": m.average_score, "last_assessed_at": m.last_assessed_at}
        for m in map(_mastery, rows)
    ]


def student_timeline(session: Session, class_id: str, student_id: str, limit: int) -> list[dict]:
    """The student's learning events in the class, newest first."""
    rows = session.scalars(
        select(LearningActivity)
        .where(LearningActivity.class_id == class_id, LearningActivity.student_id == student_id)
        .order_by(LearningActivity.timestamp.desc(), LearningActivity.event_pk.desc())
        .limit(limit)
    ).all()
    return [
        {"event_type": r.event_type, "assignment_id": r.assignment_id, "standard_ids": list(r.standard_ids),
         "score": _score(r.score), "timestamp": _utc(r.timestamp)}
        for r in rows
    ]


def class_risk(session: Session, class_id: str) -> list[dict]:
    """The class's flagged students with reasons and details, by student_id."""
    rows = session.scalars(
        select(LearningRiskFlag).where(LearningRiskFlag.class_id == class_id).order_by(LearningRiskFlag.student_id)
    ).all()
    return [{"student_id": r.student_id, "reasons": list(r.reasons), "details": r.details} for r in rows]


@blp.route("/teachers/<string:teacher_id>/classes/<string:class_id>/dashboard")
class ClassDashboard(MethodView):
    @require_scope("read")
    @blp.response(200, ClassDashboardSchema)
    @blp.alt_response(404, description="The class is not linked to that teacher (or not visible to this key)")
    def get(self, teacher_id: str, class_id: str):
        """A teacher's view of one class: rollup, at-risk students, recent activity, mastery by standard."""
        bound = current_principal().teacher_id
        with read_session() as session:
            if (bound is not None and bound != teacher_id) or not _class_linked(session, class_id, teacher_id):
                abort(404, message=f"No class {class_id} for teacher {teacher_id}.")
            return class_dashboard(session, class_id, teacher_id)


@blp.route("/students/<string:student_id>/mastery")
class StudentMastery(MethodView):
    @require_scope("read")
    @blp.response(200, StudentMasterySchema)
    @blp.alt_response(404, description="No learning event names this student (or not visible to this key)")
    def get(self, student_id: str):
        """Mastery per standard across classes, by standard_id; `[]` for a known student never graded."""
        with read_session() as session:
            require_student(session, student_id)
            return {"student_id": student_id, "mastery": student_mastery(session, student_id)}


@blp.route("/classes/<string:class_id>/students/<string:student_id>/timeline")
class StudentTimeline(MethodView):
    @require_scope("read")
    @blp.arguments(StudentTimelineQuerySchema, location="query")
    @blp.response(200, StudentTimelineSchema)
    @blp.alt_response(404, description="Unknown class, or no event of this student in it")
    def get(self, args: dict, class_id: str, student_id: str):
        """The student's learning events in the class, newest first."""
        with read_session() as session:
            require_class(session, class_id)
            events = student_timeline(session, class_id, student_id, args["limit"])
            if not events:
                abort(404, message=f"No events of student {student_id} in class {class_id}.")
            return {"student_id": student_id, "class_id": class_id, "events": events}


@blp.route("/classes/<string:class_id>/risk")
class ClassRisk(MethodView):
    @require_scope("read")
    @blp.response(200, ClassRiskSchema)
    @blp.alt_response(404, description="Unknown class (or not visible to this key)")
    def get(self, class_id: str):
        """The class's flagged students with their reasons and the figures behind them."""
        with read_session() as session:
            require_class(session, class_id)
            return {"class_id": class_id, "students": class_risk(session, class_id)}


api_blueprints = [blp]
