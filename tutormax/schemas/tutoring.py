"""Tutoring event schemas (SPEC §3.3) and the responses and query arguments of the tutor endpoints (§4)."""

from collections.abc import Sequence

import sqlalchemy as sa
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from tutormax.models.tutoring import METRIC_FIELDS, SessionFeedback, Tutor, TutoringSession, TutorMetrics
from tutormax.rules.tutoring import TIER_METRICS, TIERS, WINDOWS
from tutormax.schemas.common import (
    NUMBER_LIMIT,
    DateOrDateTime,
    Email,
    EnvelopeSchema,
    Id,
    JsonObject,
    Limit,
    Offset,
    OffsetDateTime,
    OneOf,
    StrictBoolean,
    StrictInteger,
    StrictNumber,
    String,
    Text,
)

Rating = lambda **kw: StrictInteger(validate=validate.Range(min=1, max=5), **kw)  # noqa: E731


class TutorUpsertedSchema(EnvelopeSchema):
    tutor_id = Id(required=True)
    name = Text(max_length=200, required=True)
    email = Email(required=True, validate=validate.Length(max=320))
    onboarding_date = DateOrDateTime(required=True)
    status = OneOf(("active", "inactive", "churned"), required=True)
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
    session_type = OneOf(("1-on-1", "group"), load_default="1-on-1")
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
    free_text_feedback = String(allow_none=True, load_default=None, validate=validate.Length(max=20000))
    submitted_at = OffsetDateTime(allow_none=True, load_default=None)


class TutorActivitySchema(EnvelopeSchema):
    tutor_id = Id(required=True)
    activity_type = Text(max_length=64, required=True)
    metadata = JsonObject(allow_none=True, load_default=dict)

    @validates_schema
    def _response_time(self, data: dict, **_: object) -> None:
        value = (data.get("metadata") or {}).get("response_time_minutes")
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= NUMBER_LIMIT:
            message = f"Must be a number from 0 to {NUMBER_LIMIT:g}."
            raise ValidationError({"metadata": {"response_time_minutes": [message]}})


TUTOR_UPSERTED = "TUTOR_UPSERTED"
SESSION_COMPLETED = "SESSION_COMPLETED"
FEEDBACK_SUBMITTED = "FEEDBACK_SUBMITTED"
TUTOR_ACTIVITY = "TUTOR_ACTIVITY"
EVENT_SCHEMAS = {
    TUTOR_UPSERTED: TutorUpsertedSchema,
    SESSION_COMPLETED: SessionCompletedSchema,
    FEEDBACK_SUBMITTED: FeedbackSubmittedSchema,
    TUTOR_ACTIVITY: TutorActivitySchema,
}


# ------------------------------------------------------------------ responses

WINDOW_NAMES = tuple(WINDOWS)
CATEGORY_FIELDS = (
    "subject_knowledge_rating",
    "communication_rating",
    "patience_rating",
    "engagement_rating",
    "helpfulness_rating",
)


# --- records as stored: their columns, typed as the model types them ---------------------

_COLUMN_FIELDS = ((sa.Boolean, fields.Boolean), (sa.Integer, fields.Integer), (sa.Float, fields.Float),
                  (sa.DateTime, fields.DateTime), (sa.String, fields.String))


def column_fields(model: type, names: Sequence[str], nullable: bool | None = None) -> dict[str, fields.Field]:
    """Response fields for `names`, columns of `model`: typed like the column, nullable where it is
    (or, with `nullable=True`, everywhere: values that may not exist yet)."""
    columns = model.__table__.columns
    return {name: next(field for kind, field in _COLUMN_FIELDS if isinstance(columns[name].type, kind))(
        allow_none=columns[name].nullable if nullable is None else nullable) for name in names}


# The columns the API returns as they are stored (queries.tutoring reads the same names).
TUTOR_COLUMNS = ("tutor_id", "name", "email", "status", "education_level", "location", "baseline_sessions_per_week",
                 "tenure_days", "is_new_tutor", "experience_level", "subject_count", "is_active_today")
SESSION_COLUMNS = (
    "session_id", "tutor_id", "student_id", "session_number", "duration_minutes", "subject", "session_type",
    "tutor_initiated_reschedule", "no_show", "late_start_minutes", "engagement_score", "learning_objectives_met",
    "technical_issues", "is_weekend", "time_of_day", "is_late_start", "actual_duration_minutes", "week_of_year",
    "month_of_year",
)
FEEDBACK_COLUMNS = ("feedback_id", "session_id", "tutor_id", "student_id", "overall_rating", *CATEGORY_FIELDS,
                    "would_recommend", "free_text_feedback", "is_positive", "is_poor", "avg_category_rating",
                    "category_variance", "has_text_feedback", "feedback_delay_hours")
_LOCAL_TIME = "RFC 3339 with the offset it was sent with"
# The metric values (the tier aside), and the key ones the roster shows for each window.
METRIC_VALUES = tuple(name for name in METRIC_FIELDS if name != "performance_tier")
ROSTER_METRICS = ("total_sessions_scheduled", *TIER_METRICS)


class TutorSchema(Schema.from_dict(column_fields(Tutor, TUTOR_COLUMNS), name="TutorColumns")):
    """A tutor record with its derived fields (email and name: authorized readers only, never logged)."""

    onboarding_date = fields.String(metadata={"description": "As sent: a date or a date-time with offset"})
    subjects = fields.List(fields.String())
    derived_at = fields.DateTime(metadata={"description": "When the time-dependent fields were last computed"})
    updated_at = fields.DateTime(metadata={"description": "Timestamp of the event that last changed the record"})


# A window's metrics are all null until its first run.
_TIER = fields.String(allow_none=True, metadata={"enum": list(TIERS)})
_FLAGS = ("Metric names of the SPEC tier table ({}), in the table's order: what gave the tier; "
          "null before the first run").format(", ".join(TIER_METRICS))


class RosterWindowSchema(Schema.from_dict(column_fields(TutorMetrics, ROSTER_METRICS, nullable=True),
                                          name="RosterWindowColumns")):
    """A window's tier and key metrics; null where the formula has no data (or before the first run)."""

    performance_tier = _TIER


class WindowMetricsSchema(Schema.from_dict(column_fields(TutorMetrics, METRIC_VALUES, nullable=True),
                                           name="WindowMetricsColumns")):
    """SPEC §3.3 metrics of one window; null where the formula has no data (or before the first run)."""

    performance_tier = _TIER
    green_flags = fields.List(fields.String(), allow_none=True, metadata={"description": _FLAGS})
    red_flags = fields.List(fields.String(), allow_none=True, metadata={"description": _FLAGS})
    computed_at = fields.DateTime(allow_none=True)


class TutorMetricsSchema(Schema):
    tutor_id = fields.String()
    windows = fields.Dict(keys=fields.String(validate=validate.OneOf(WINDOW_NAMES)),
                          values=fields.Nested(WindowMetricsSchema))


class MetricsQuerySchema(Schema):
    window = OneOf(WINDOW_NAMES, metadata={"description": "Only this window"})


class HistoryQuerySchema(Schema):
    window = OneOf(WINDOW_NAMES, load_default="30day")
    days = fields.Integer(load_default=90, validate=validate.Range(min=1, max=3660))


class HistoryRowSchema(WindowMetricsSchema):
    day = fields.Date()


class TutorMetricsHistorySchema(Schema):
    tutor_id = fields.String()
    window = fields.String()
    days = fields.Integer()
    history = fields.List(fields.Nested(HistoryRowSchema),
                          metadata={"description": "One row per UTC day, oldest first"})


class SessionsQuerySchema(Schema):
    limit = Limit(50, 500)


# What `sort` may name (a metric of the 30-day window, or the id).
ROSTER_SORTS = ("tutor_id", *ROSTER_METRICS)


class RosterQuerySchema(Schema):
    tier = OneOf(TIERS, metadata={"description": "Only tutors whose 30-day window has this tier"})
    q = String(validate=validate.Length(max=200), metadata={
        "description": "Case-insensitive substring of the tutor id or name (`%` and `_` match themselves)"})
    sort = OneOf(tuple(f"{sign}{key}" for key in ROSTER_SORTS for sign in ("", "-")), load_default="tutor_id",
                 metadata={"description": "A metric of the 30-day window (or tutor_id): ascending, or "
                                          "descending with a leading `-`; nulls last either way, ties by "
                                          "tutor_id"})
    limit = Limit(50, 500)
    offset = Offset()


class RosterTutorSchema(Schema):
    tutor_id = fields.String()
    name = fields.String()
    status = fields.String()
    red_flags = fields.List(fields.String(), allow_none=True, metadata={
        "description": "The 30-day window's red flags (metric names, table order); null before the first run"})
    windows = fields.Dict(keys=fields.String(validate=validate.OneOf(WINDOW_NAMES)),
                          values=fields.Nested(RosterWindowSchema))


class RosterPaginationSchema(Schema):
    limit = fields.Integer()
    offset = fields.Integer()
    total = fields.Integer(metadata={"description": "Tutors matching `tier` and `q`"})


class TutorRosterSchema(Schema):
    tutors = fields.List(fields.Nested(RosterTutorSchema), metadata={"description": "In the order `sort` asks"})
    pagination = fields.Nested(RosterPaginationSchema)


class FeedbackSchema(Schema.from_dict(column_fields(SessionFeedback, FEEDBACK_COLUMNS), name="FeedbackColumns")):
    """A session's feedback with its derived fields."""

    improvement_areas = fields.List(fields.String())
    submitted_at = fields.String(metadata={"description": _LOCAL_TIME})


class SessionSchema(Schema.from_dict(column_fields(TutoringSession, SESSION_COLUMNS), name="SessionColumns")):
    """A session with its derived fields (local time of `scheduled_start` in its own offset) and feedback."""

    scheduled_start = fields.String(metadata={"description": _LOCAL_TIME})
    actual_start = fields.String(allow_none=True)
    feedback = fields.Nested(FeedbackSchema, allow_none=True)


class TutorSessionsSchema(Schema):
    tutor_id = fields.String()
    sessions = fields.List(fields.Nested(SessionSchema), metadata={"description": "Newest scheduled_start first"})
