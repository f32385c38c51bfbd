"""Learning event schemas (SPEC §3.1)."""

from marshmallow import fields, validate

from tutormax.schemas.common import EnvelopeSchema, Id, IdList, StrictNumber


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
    rubric_tags = fields.List(fields.String(validate=validate.Length(min=1, max=128)), allow_none=True)


EVENT_SCHEMAS = {
    "ASSIGNMENT_ASSIGNED": AssignmentAssignedSchema,
    "SUBMISSION_CREATED": SubmissionCreatedSchema,
    "SUBMISSION_GRADED": SubmissionGradedSchema,
}


def infer_type(data: dict) -> str | None:
    """SPEC §2 type inference for learning events sent without `type`."""
    if "score" in data:
        return "SUBMISSION_GRADED"
    if "assignment_id" in data and "standard_ids" in data:
        return "SUBMISSION_CREATED"
    return None
