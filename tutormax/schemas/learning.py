"""Learning event schemas (SPEC §3.1)."""

from marshmallow import Schema, fields, validate

from tutormax.schemas.common import EnvelopeSchema, Id, IdList, Limit, StrictNumber, String


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


class ClassAtRiskStudentSchema(Schema):
    student_id = fields.String()
    reasons = fields.List(fields.String(), metadata={
        "description": "missing_submissions, score_trend_down, completion_below_median"})


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
                                                  "completion_rate, class_median_completion_rate"})


class ClassRiskSchema(Schema):
    class_id = fields.String()
    students = fields.List(fields.Nested(ClassRiskStudentSchema))
