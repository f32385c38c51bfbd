"""Learning-progress read API (SPEC §3.1, §4): teacher dashboard, mastery, timeline, risk.

A teacher-bound key sees only the classes linked to its teacher and the students
in them; anything else answers 404, exactly like something that does not exist.
The reads themselves are in tutormax.queries.learning.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy.orm import Session

from tutormax.db import read_session
from tutormax.queries.learning import (
    class_dashboard,
    class_linked,
    class_risk,
    class_visible,
    student_mastery,
    student_timeline,
    student_visible,
)
from tutormax.schemas.learning import (
    ClassDashboardSchema,
    ClassRiskSchema,
    StudentMasterySchema,
    StudentTimelineQuerySchema,
    StudentTimelineSchema,
)
from tutormax.web.auth import current_principal, require_scope

blp = Blueprint("learning", __name__, url_prefix="/api/v1", description="Learning progress views")


def require_class(session: Session, class_id: str) -> None:
    """404 unless the class has learning events and the caller may see it."""
    if not class_visible(session, class_id, current_principal().teacher_id):
        abort(404, message=f"No class {class_id}.")


def require_student(session: Session, student_id: str) -> None:
    """404 unless the student has learning events and, for a teacher key, is in one of its classes."""
    if not student_visible(session, student_id, current_principal().teacher_id):
        abort(404, message=f"No student {student_id}.")


@blp.route("/teachers/<string:teacher_id>/classes/<string:class_id>/dashboard")
class ClassDashboard(MethodView):
    @require_scope("read")
    @blp.response(200, ClassDashboardSchema)
    @blp.alt_response(404, description="The class is not linked to that teacher (or not visible to this key)")
    def get(self, teacher_id: str, class_id: str):
        """A teacher's view of one class: rollup, at-risk students, recent activity, mastery by standard."""
        bound = current_principal().teacher_id
        with read_session() as session:
            if (bound is not None and bound != teacher_id) or not class_linked(session, class_id, teacher_id):
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
