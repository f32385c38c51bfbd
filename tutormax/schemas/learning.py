"""Learning event schemas (SPEC §3.1)."""

from marshmallow import Schema, fields, validate

from tutormax.rules.learning import PRIORITIES, TREND_WEEKS
from tutormax.schemas.common import EnvelopeSchema, Id, IdList, Limit, OneOf, StrictNumber, String


class AssignmentAssignedSchema(EnvelopeSchema):
    student_id = Id(required=True)
    class_id = Id(required=True)
    assignment_id = Id(required=True)
    standard_ids = IdList(required=True)
    teacher_id = Id(allow_none=True)


class SubmissionCreatedSchema(AssignmentAssignedSchema):
    pass


class SubmissionGradedSchema(AssignmentAssignedSchema):
    score = StrictNumber(required=True, validate=validate.Range(min=0, max=100))
    rubric_tags = fields.List(String(validate=validate.Length(min=1, max=128)), allow_none=True,
                              validate=validate.Length(max=1000))


ASSIGNMENT_ASSIGNED = "ASSIGNMENT_ASSIGNED"
SUBMISSION_CREATED = "SUBMISSION_CREATED"
SUBMISSION_GRADED = "SUBMISSION_GRADED"
EVENT_SCHEMAS = {
    ASSIGNMENT_ASSIGNED: AssignmentAssignedSchema,
    SUBMISSION_CREATED: SubmissionCreatedSchema,
    SUBMISSION_GRADED: SubmissionGradedSchema,
}


# Types a learning event may leave out; infer_type picks them.
INFERABLE_TYPES = (SUBMISSION_CREATED, SUBMISSION_GRADED)


def infer_type(data: dict) -> str | None:
    """SPEC §2 type inference for learning events sent without `type`."""
    if "score" in data:
        return SUBMISSION_GRADED
    if "assignment_id" in data and "standard_ids" in data:
        return SUBMISSION_CREATED
    return None


# --- responses and query arguments of the learning endpoints (SPEC §4) ---------------

class StudentTimelineQuerySchema(Schema):
    limit = Limit(50, 500, metadata={"description": "How many events, newest first (1–500)"})


class ClassRiskQuerySchema(Schema):
    priority = OneOf(PRIORITIES, metadata={"description": "Only the students of this priority"})


class ClassAtRiskStudentSchema(Schema):
    student_id = fields.String()
    reasons = fields.List(fields.String(), metadata={
        "description": "missing_submissions, score_trend_down, completion_below_median, low_mastery (in that order)"})
    severity = fields.Integer(metadata={
        "description": "0–100: 100 × (0.35·m + 0.20·t + 0.20·c + 0.25·k), rounded half up (SPEC §3.1)"})
    priority = fields.String(metadata={"enum": list(PRIORITIES),
                                       "description": "high from severity 40, medium from 20, else low"})


class ClassRecentActivitySchema(Schema):
    event_type = fields.String()
    student_id = fields.String()
    assignment_id = fields.String()
    score = fields.Float(allow_none=True)
    timestamp = fields.DateTime(format="iso")


class ClassStandardMasterySchema(Schema):
    standard_id = fields.String()
    average_mastery = fields.Float(metadata={"description": "Mean mastery_score (0–1) of the class's students "
                                                           "graded on the standard in this class"})
    students = fields.Integer()


class ClassDashboardSchema(Schema):
    class_id = fields.String()
    teacher_id = fields.String()
    student_count = fields.Integer()
    assignment_count = fields.Integer()
    completion_rate = fields.Float(allow_none=True, metadata={"description": "0–1; null when nothing is assigned"})
    average_score = fields.Float(allow_none=True, metadata={"description": "0–100; null when nothing is graded"})
    at_risk_students = fields.List(fields.Nested(ClassAtRiskStudentSchema))
    recent_activity = fields.List(fields.Nested(ClassRecentActivitySchema))
    mastery_by_standard = fields.List(fields.Nested(ClassStandardMasterySchema))


class StudentStandardMasterySchema(Schema):
    standard_id = fields.String()
    mastery_score = fields.Float(metadata={"description": "Latest graded score ÷ 100"})
    attempts = fields.Integer()
    average_score = fields.Float(metadata={"description": "Mean graded score ÷ 100"})
    last_assessed_at = fields.DateTime(format="iso")


class StudentMasterySchema(Schema):
    student_id = fields.String()
    mastery = fields.List(fields.Nested(StudentStandardMasterySchema))


class StudentTimelineEventSchema(Schema):
    event_type = fields.String()
    assignment_id = fields.String()
    standard_ids = fields.List(fields.String())
    score = fields.Float(allow_none=True)
    timestamp = fields.DateTime(format="iso")


class StudentTimelineSchema(Schema):
    student_id = fields.String()
    class_id = fields.String()
    events = fields.List(fields.Nested(StudentTimelineEventSchema))


class ClassRiskStudentSchema(ClassAtRiskStudentSchema):
    details = fields.Dict(metadata={"description": "assigned, missing, missing_threshold, last_two_scores, "
                                                  "completion_rate, class_median_completion_rate, mean_mastery "
                                                  "(0–1, null without a standard), mastery_standards"})
    explanations = fields.List(fields.String(), metadata={
        "description": "One sentence per reason, in the order of `reasons`, e.g. \"3 of 5 assigned pairs not "
                       "graded\"; percentages whole (half up), scores with at most 2 decimals"})


class ClassRiskSchema(Schema):
    class_id = fields.String()
    students = fields.List(fields.Nested(ClassRiskStudentSchema), metadata={
        "description": "Students with at least one reason, by severity (highest first), then student_id"})


class TrendWeekSchema(Schema):
    week = fields.String(metadata={"description": "ISO week of the UTC instant, YYYY-Www", "example": "2026-W53"})
    average_score = fields.Float(metadata={"description": "Mean (0–100) of the latest grade of each graded pair "
                                                          "whose latest grade falls in this week"})
    grades = fields.Integer(metadata={"description": "How many graded pairs that mean is over"})


_WEEKS = (f"The last {TREND_WEEKS} weeks that have grades, in chronological order (oldest first); "
          "weeks without grades are left out")


class ClassTrendSchema(Schema):
    class_id = fields.String()
    weeks = fields.List(fields.Nested(TrendWeekSchema), metadata={"description": _WEEKS})


class StudentTrendSchema(ClassTrendSchema):
    student_id = fields.String()
