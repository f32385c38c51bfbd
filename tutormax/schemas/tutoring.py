"""Tutoring event schemas (SPEC §3.3)."""

from marshmallow import ValidationError, fields, validate, validates_schema

from tutormax.schemas.common import (
    DateOrDateTime,
    EnvelopeSchema,
    Id,
    OffsetDateTime,
    StrictBoolean,
    StrictInteger,
    StrictNumber,
    Text,
)

Rating = lambda **kw: StrictInteger(validate=validate.Range(min=1, max=5), **kw)  # noqa: E731


class TutorUpsertedSchema(EnvelopeSchema):
    tutor_id = Id(required=True)
    name = Text(max_length=200, required=True)
    email = fields.Email(required=True, validate=validate.Length(max=320))
    onboarding_date = DateOrDateTime(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("active", "inactive", "churned")))
    subjects = fields.List(Text(max_length=128), required=True, validate=validate.Length(max=200))
    education_level = Text(max_length=128, allow_none=True)
    location = Text(max_length=256, allow_none=True)
    baseline_sessions_per_week = StrictNumber(allow_none=True, validate=validate.Range(min=0))


class SessionCompletedSchema(EnvelopeSchema):
    session_id = Id(required=True)
    tutor_id = Id(required=True)
    student_id = Id(required=True)
    session_number = StrictInteger(required=True, validate=validate.Range(min=1))
    scheduled_start = OffsetDateTime(required=True)
    actual_start = OffsetDateTime(allow_none=True, load_default=None)
    duration_minutes = StrictInteger(required=True, validate=validate.Range(min=1))
    subject = Text(max_length=128, required=True)
    session_type = fields.String(load_default="1-on-1", validate=validate.OneOf(("1-on-1", "group")))
    tutor_initiated_reschedule = StrictBoolean(load_default=False)
    no_show = StrictBoolean(load_default=False)
    late_start_minutes = StrictInteger(load_default=0, validate=validate.Range(min=0))
    engagement_score = StrictNumber(allow_none=True, load_default=None, validate=validate.Range(min=0, max=100))
    learning_objectives_met = StrictBoolean(allow_none=True, load_default=None)
    technical_issues = StrictBoolean(load_default=False)


class FeedbackSubmittedSchema(EnvelopeSchema):
    feedback_id = Id(required=True)
    session_id = Id(required=True)
    tutor_id = Id(required=True)
    student_id = Id(required=True)
    overall_rating = Rating(required=True)
    subject_knowledge_rating = Rating(allow_none=True, load_default=None)
    communication_rating = Rating(allow_none=True, load_default=None)
    patience_rating = Rating(allow_none=True, load_default=None)
    engagement_rating = Rating(allow_none=True, load_default=None)
    helpfulness_rating = Rating(allow_none=True, load_default=None)
    would_recommend = StrictBoolean(allow_none=True, load_default=None)
    improvement_areas = fields.List(Text(max_length=128), allow_none=True, load_default=list)
    free_text_feedback = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=20000))
    submitted_at = OffsetDateTime(allow_none=True, load_default=None)


class TutorActivitySchema(EnvelopeSchema):
    tutor_id = Id(required=True)
    activity_type = Text(max_length=64, required=True)
    metadata = fields.Dict(keys=fields.String(), allow_none=True, load_default=dict)

    @validates_schema
    def _response_time(self, data: dict, **_: object) -> None:
        value = (data.get("metadata") or {}).get("response_time_minutes")
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValidationError({"metadata": {"response_time_minutes": ["Must be a number ≥ 0."]}})


EVENT_SCHEMAS = {
    "TUTOR_UPSERTED": TutorUpsertedSchema,
    "SESSION_COMPLETED": SessionCompletedSchema,
    "FEEDBACK_SUBMITTED": FeedbackSubmittedSchema,
    "TUTOR_ACTIVITY": TutorActivitySchema,
}
