"""Learning-progress read API (SPEC §3.1, §4): teacher dashboard, mastery, timeline, triage, trends.

A teacher-bound key sees only the classes linked to its teacher and the students
in them; anything else answers 404, exactly like something that does not exist.
The reads themselves are in tutormax.queries.learning.
"""

from __future__ import annotations

from functools import partial

from flask.views import MethodView
from flask_smorest import Blueprint, abort

from tutormax.db import read_session
from tutormax.queries.learning import (
    class_dashboard,
    class_linked,
    class_student_visible,
    class_trend,
    class_triage,
    student_mastery,
    student_timeline,
    student_visible,
)
from tutormax.schemas.learning import (
    ClassDashboardSchema,
    ClassRiskQuerySchema,
    ClassRiskSchema,
    ClassTrendSchema,
    StudentMasterySchema,
    StudentTimelineQuerySchema,
    StudentTimelineSchema,
    StudentTrendSchema,
)
from tutormax.web.auth import current_principal
from tutormax.web.views import answer, read_view

blp = Blueprint("learning", __name__, url_prefix="/api/v1", description="Learning progress views")
reads = partial(read_view, blp)

UNKNOWN_CLASS = "Unknown class (or not visible to this key)"
UNKNOWN_STUDENT_IN_CLASS = "Unknown class, or no event of this student in it (or not visible to this key)"


@blp.route("/teachers/<string:teacher_id>/classes/<string:class_id>/dashboard")
class ClassDashboard(MethodView):
    @reads(ClassDashboardSchema,
           not_found="The class is not linked to that teacher (or not visible to this key)")
    def get(self, teacher_id: str, class_id: str):
        """A teacher's view of one class: rollup, at-risk students, recent activity, mastery by standard.

        `at_risk_students` is ordered as the risk list: severity (highest first), then student_id.
        """
        bound = current_principal().teacher_id
        with read_session() as session:
            if (bound is not None and bound != teacher_id) or not class_linked(session, class_id, teacher_id):
                abort(404, message=f"No class {class_id} for teacher {teacher_id}.")
            return class_dashboard(session, class_id, teacher_id)


@blp.route("/students/<string:student_id>/mastery")
class StudentMastery(MethodView):
    @reads(StudentMasterySchema, not_found="No learning event names this student (or not visible to this key)")
    def get(self, student_id: str):
        """Mastery per standard across classes, by standard_id; `[]` for a known student never graded."""
        return answer(lambda s, teacher: {"student_id": student_id, "mastery": student_mastery(s, student_id)}
                      if student_visible(s, student_id, teacher) else None, f"No student {student_id}.")


@blp.route("/classes/<string:class_id>/students/<string:student_id>/timeline")
class StudentTimeline(MethodView):
    @reads(StudentTimelineSchema, StudentTimelineQuerySchema, not_found=UNKNOWN_STUDENT_IN_CLASS)
    def get(self, args: dict, class_id: str, student_id: str):
        """The student's learning events in the class, newest first."""
        return answer(lambda s, teacher: {
            "student_id": student_id, "class_id": class_id,
            "events": student_timeline(s, class_id, student_id, args["limit"]),
        } if class_student_visible(s, class_id, student_id, teacher) else None,
            f"No events of student {student_id} in class {class_id}.")


@blp.route("/classes/<string:class_id>/risk")
class ClassRisk(MethodView):
    @reads(ClassRiskSchema, ClassRiskQuerySchema, not_found=UNKNOWN_CLASS)
    def get(self, args: dict, class_id: str):
        """The class's triage: the students with at least one risk reason.

        Ordered by severity (highest first), then student_id, each with the figures and one sentence
        behind each reason; `priority` keeps the students of one priority.
        """
        students = answer(lambda s, teacher: class_triage(s, class_id, teacher, args.get("priority")),
                          f"No class {class_id}.")
        return {"class_id": class_id, "students": students}


@blp.route("/classes/<string:class_id>/trend")
class ClassTrend(MethodView):
    @reads(ClassTrendSchema, not_found=UNKNOWN_CLASS)
    def get(self, class_id: str):
        """Weekly mean of the latest grade of each graded pair of the class.

        By ISO week of the grade's UTC instant, the last 12 weeks that have grades, oldest first.
        """
        weeks = answer(lambda s, teacher: class_trend(s, class_id, teacher), f"No class {class_id}.")
        return {"class_id": class_id, "weeks": weeks}


@blp.route("/classes/<string:class_id>/students/<string:student_id>/trend")
class StudentTrend(MethodView):
    @reads(StudentTrendSchema, not_found=UNKNOWN_STUDENT_IN_CLASS)
    def get(self, class_id: str, student_id: str):
        """The class trend of one student's pairs, oldest week first."""
        weeks = answer(lambda s, teacher: class_trend(s, class_id, teacher, student_id),
                       f"No events of student {student_id} in class {class_id}.")
        return {"class_id": class_id, "student_id": student_id, "weeks": weeks}


api_blueprints = [blp]
