"""Essay-result event schemas (SPEC §3.4)."""

from marshmallow import RAISE, Schema, fields, validate

from tutormax.schemas.common import EnvelopeSchema, Id, IdList, StrictBoolean, StrictInteger, StrictNumber, Text

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
    error_detail = fields.Raw(allow_none=True)


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
    phase_name = fields.String(required=True, validate=validate.OneOf(PHASES))
    phase_status = fields.String(required=True, validate=validate.OneOf(PHASE_STATUSES))
    processed_essay_ids = IdList(min_length=0, load_default=list)
    failed_essay_ids = IdList(min_length=0, load_default=list)
    error_detail = fields.Raw(allow_none=True)


class BatchPipelineCompletedSchema(EnvelopeSchema):
    batch_id = Id(required=True)
    final_status = fields.String(required=True, validate=validate.OneOf(BATCH_STATUSES))
    completed_essay_count = StrictInteger(required=True, validate=validate.Range(min=0))
    failed_essay_count = StrictInteger(required=True, validate=validate.Range(min=0))


EVENT_SCHEMAS = {
    "BATCH_REGISTERED": BatchRegisteredSchema,
    "ESSAY_SPELLCHECK_COMPLETED": EssaySpellcheckCompletedSchema,
    "ASSESSMENT_RESULT_PUBLISHED": AssessmentResultPublishedSchema,
    "BATCH_PHASE_OUTCOME": BatchPhaseOutcomeSchema,
    "BATCH_PIPELINE_COMPLETED": BatchPipelineCompletedSchema,
}
