"""Essay-result event schemas (SPEC §3.4) and the internal batch API's response schemas (SPEC §4)."""

from datetime import datetime

from marshmallow import RAISE, Schema, fields, pre_load, validate

from tutormax.rules.essays import as_datetime, client_status, empty_essay_row
from tutormax.schemas.common import (
    EnvelopeSchema,
    Id,
    IdList,
    JsonValue,
    Limit,
    Offset,
    OneOf,
    StrictBoolean,
    StrictInteger,
    StrictNumber,
    Text,
)

PHASES = ("spellcheck", "cj_assessment", "nlp", "ai_feedback", "student_matching")
PHASE_STATUSES = ("completed_successfully", "completed_with_failures", "failed_critically")
BATCH_STATUSES = (
    "awaiting_content_validation", "content_ingestion_failed", "awaiting_pipeline_configuration",
    "ready_for_pipeline_execution", "processing_pipelines", "awaiting_student_validation",
    "student_validation_completed", "validation_timeout_processed", "completed_successfully",
    "completed_with_failures", "failed_critically", "cancelled",
)


class BatchRegisteredSchema(EnvelopeSchema):
    batch_id = Id(required=True)
    user_id = Id(required=True)
    essay_ids = IdList(required=True)
    expected_essay_count = StrictInteger(allow_none=True, validate=validate.Range(min=1))
    course_code = Text(max_length=128, allow_none=True)
    assignment_id = Id(allow_none=True)
    class_id = Id(allow_none=True)
    student_prompt_ref = Text(max_length=512, allow_none=True)
    requested_pipeline = Text(max_length=128, allow_none=True)


class EssaySpellcheckCompletedSchema(EnvelopeSchema):
    batch_id = Id(required=True)
    essay_id = Id(required=True)
    status = Text(max_length=64, required=True)
    corrections_made = StrictInteger(allow_none=True, validate=validate.Range(min=0))
    corrected_text_storage_id = Text(max_length=256, allow_none=True)
    error_detail = JsonValue(allow_none=True)


class EssayResultSchema(Schema):
    class Meta:
        unknown = RAISE

    essay_id = Id(required=True)
    rank = StrictInteger(required=True, validate=validate.Range(min=1))
    bt_score = StrictNumber(required=True)
    normalized_score = StrictNumber(allow_none=True, validate=validate.Range(min=0, max=1))
    letter_grade = Text(max_length=16, allow_none=True)
    confidence_label = Text(max_length=64, allow_none=True)
    is_anchor = StrictBoolean(load_default=False)


class AssessmentResultPublishedSchema(EnvelopeSchema):
    batch_id = Id(required=True)
    cj_assessment_job_id = Id(required=True)
    essay_results = fields.List(fields.Nested(EssayResultSchema), required=True,
                                validate=validate.Length(max=10000))
    comparison_count = StrictInteger(allow_none=True, validate=validate.Range(min=0))


class BatchPhaseOutcomeSchema(EnvelopeSchema):
    batch_id = Id(required=True)
    phase_name = OneOf(PHASES, required=True)
    phase_status = OneOf(PHASE_STATUSES, required=True)
    processed_essay_ids = IdList(min_length=0, load_default=list)
    failed_essay_ids = IdList(min_length=0, load_default=list)
    error_detail = JsonValue(allow_none=True)


class BatchPipelineCompletedSchema(EnvelopeSchema):
    batch_id = Id(required=True)
    final_status = OneOf(BATCH_STATUSES, required=True)
    completed_essay_count = StrictInteger(required=True, validate=validate.Range(min=0))
    failed_essay_count = StrictInteger(required=True, validate=validate.Range(min=0))


EVENT_SCHEMAS = {
    "BATCH_REGISTERED": BatchRegisteredSchema,
    "ESSAY_SPELLCHECK_COMPLETED": EssaySpellcheckCompletedSchema,
    "ASSESSMENT_RESULT_PUBLISHED": AssessmentResultPublishedSchema,
    "BATCH_PHASE_OUTCOME": BatchPhaseOutcomeSchema,
    "BATCH_PIPELINE_COMPLETED": BatchPipelineCompletedSchema,
}


# --- internal API responses (SPEC §4) -------------------------------------------------

CLIENT_STATUSES = (
    "pending_content", "ready", "processing", "completed_successfully", "completed_with_failures", "failed",
    "cancelled",
)


def _when(description: str) -> fields.String:
    """An RFC 3339 date-time, already formatted by the rules (`Z` for UTC)."""
    return fields.String(allow_none=True, metadata={"format": "date-time", "description": description})


class EssayStatusSchema(Schema):
    essay_id = fields.String()
    spellcheck_status = fields.String(allow_none=True, metadata={"description": "completed / failed / null"})
    spellcheck_corrections_made = fields.Integer(allow_none=True)
    spellcheck_correction_count = fields.Integer(allow_none=True, metadata={"description": "seed name"})
    corrected_text_storage_id = fields.String(allow_none=True)
    spellcheck_corrected_text_storage_id = fields.String(allow_none=True, metadata={"description": "seed name"})
    spellcheck_error_detail = fields.Raw(allow_none=True)
    cj_assessment_status = fields.String(allow_none=True)
    cj_rank = fields.Integer(allow_none=True)
    cj_score = fields.Float(allow_none=True, metadata={"description": "Bradley-Terry score"})
    normalized_score = fields.Float(allow_none=True)
    letter_grade = fields.String(allow_none=True)
    confidence_label = fields.String(allow_none=True)
    cj_assessment_job_id = fields.String(allow_none=True)
    comparison_count = fields.Integer(allow_none=True)
    last_updated = _when("Time of the essay's newest result")


class BatchStatusSchema(Schema):
    batch_id = fields.String()
    user_id = fields.String()
    overall_status = fields.String(metadata={"enum": list(CLIENT_STATUSES), "description": "Client status"})
    internal_status = fields.String(metadata={"enum": list(BATCH_STATUSES)})
    essay_count = fields.Integer()
    completed_essay_count = fields.Integer()
    failed_essay_count = fields.Integer()
    current_phase = fields.String(allow_none=True, metadata={"description": "spellcheck / cj_assessment / null"})
    requested_pipeline = fields.String(allow_none=True)
    course_code = fields.String(allow_none=True)
    assignment_id = fields.String(allow_none=True)
    class_id = fields.String(allow_none=True)
    student_prompt_ref = fields.String(allow_none=True)
    error_detail = fields.Dict(allow_none=True)
    created_at = _when("Registration time")
    last_updated = _when("Time of the batch's newest fact")
    processing_started_at = _when("Time of the first phase outcome")
    processing_completed_at = _when("When the batch reached its terminal status")
    essays = fields.List(fields.Nested(EssayStatusSchema))


class PaginationSchema(Schema):
    limit = fields.Integer()
    offset = fields.Integer()
    total = fields.Integer(metadata={"description": "Batches matching the filter"})


class UserBatchesSchema(Schema):
    batches = fields.List(fields.Nested(BatchStatusSchema))
    pagination = fields.Nested(PaginationSchema)


class UserBatchesQuerySchema(Schema):
    limit = Limit(20, 100)
    offset = Offset()
    status = OneOf(CLIENT_STATUSES, load_default=None, metadata={"description": "Only batches with this client status"})

    @pre_load
    def _empty_status_is_no_filter(self, data, **_kwargs):
        # `status=` (empty) means "any status", as in the documented URL template.
        if hasattr(data, "get") and data.get("status") == "":
            data = {key: data[key] for key in data if key != "status"}
        return data


class InternalAuthErrorSchema(Schema):
    error = fields.String(metadata={"description": "`Missing authentication` or `Invalid credentials`"})


# --- the body of GET /internal/v1/batches/{batch_id}/status, built from a batch's state ---------

def batch_status_body(state: dict, essays: list[dict]) -> dict:
    """JSON body of `GET /internal/v1/batches/{batch_id}/status` (datetimes as RFC 3339 strings)."""
    rows = {row["essay_id"]: row for row in essays}
    return {
        "batch_id": state["batch_id"],
        "user_id": state["user_id"],
        "overall_status": client_status(state["internal_status"]),
        "internal_status": state["internal_status"],
        "essay_count": state["essay_count"],
        "completed_essay_count": state["completed_essay_count"],
        "failed_essay_count": state["failed_essay_count"],
        "current_phase": state["current_phase"],
        "requested_pipeline": state.get("requested_pipeline"),
        "course_code": state.get("course_code"),
        "assignment_id": state.get("assignment_id"),
        "class_id": state.get("class_id"),
        "student_prompt_ref": state.get("student_prompt_ref"),
        "error_detail": state.get("error_detail"),
        "created_at": _isoformat(state.get("created_at")),
        "last_updated": _isoformat(state.get("last_updated")),
        "processing_started_at": _isoformat(state.get("processing_started_at")),
        "processing_completed_at": _isoformat(state.get("processing_completed_at")),
        "essays": [
            _essay_body(rows.get(essay_id) or empty_essay_row(essay_id))
            for essay_id in _response_essay_ids(state, rows)
        ],
    }


def _essay_body(row: dict) -> dict:
    """One essay of the status response; seed field names kept beside SPEC's."""
    return {
        "essay_id": row["essay_id"],
        "spellcheck_status": row.get("spellcheck_status"),
        "spellcheck_corrections_made": row.get("spellcheck_corrections_made"),
        "spellcheck_correction_count": row.get("spellcheck_corrections_made"),
        "corrected_text_storage_id": row.get("corrected_text_storage_id"),
        "spellcheck_corrected_text_storage_id": row.get("corrected_text_storage_id"),
        "spellcheck_error_detail": row.get("spellcheck_error_detail"),
        "cj_assessment_status": row.get("cj_assessment_status"),
        "cj_rank": row.get("cj_rank"),
        "cj_score": row.get("cj_score"),
        "normalized_score": row.get("normalized_score"),
        "letter_grade": row.get("letter_grade"),
        "confidence_label": row.get("confidence_label"),
        "cj_assessment_job_id": row.get("cj_assessment_job_id"),
        "comparison_count": row.get("comparison_count"),
        "last_updated": _isoformat(as_datetime(row.get("updated_at"))),
    }


def _response_essay_ids(state: dict, rows: dict[str, dict]) -> list[str]:
    """Essays of the response: the state's order, then rows it did not know, by id."""
    known = list(state.get("essay_ids") or [])
    return known + sorted(set(rows) - set(known))


def _isoformat(value: datetime | None) -> str | None:
    """RFC 3339 text of a datetime, `Z` for UTC."""
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")
