"""Essay results: batch and essay status as pure functions over plain dicts (SPEC 3.4, 9).

Nothing here talks to Flask, Celery or the database. The tasks load the stored
facts of one batch (its registration, essay result rows, phase outcomes and the
pipeline-completed event), call `batch_view`, store the result and the internal API
body that tutormax.schemas.essays builds from it (`batch_status_body`). Because the state is recomputed
from all facts every time, a redelivered or late event gives the same answer.

Decisions where SPEC and the Result Aggregator seed leave room:
- A registered batch with no phase outcome yet is `processing_pipelines`. The seed
  creates it as `awaiting_content_validation` because its orchestrator moves it on
  later; TutorMax receives no content-validation or pipeline-configuration event,
  so a registered batch is only ever waiting for results. Facts about a batch that
  is not registered yet give `awaiting_content_validation` with `registered` False
  (the API answers 404 for such a batch).
- `awaiting_content_validation` and `awaiting_pipeline_configuration` map to the
  client status `pending_content`, `ready_for_pipeline_execution` to `ready`
  (the seed's mapping).
- The "completed + failed >= essay count" rule uses the batch's accumulated counts
  (the max seen per outcome), so its result does not depend on arrival order.
- A phase outcome `failed_critically` is sticky: later count-based outcomes do not
  undo it; only `BATCH_PIPELINE_COMPLETED` (the orchestrator's final word) does.
- `current_phase` is derived only while the internal status is
  `processing_pipelines` (the seed's rule), from the registered essays plus any
  other essay rows of the batch; an essay without a row has not finished spellcheck.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from typing import Any, Iterable

# Internal batch statuses (SPEC 9, Result Aggregator).
AWAITING_CONTENT_VALIDATION = "awaiting_content_validation"
CONTENT_INGESTION_FAILED = "content_ingestion_failed"
AWAITING_PIPELINE_CONFIGURATION = "awaiting_pipeline_configuration"
READY_FOR_PIPELINE_EXECUTION = "ready_for_pipeline_execution"
PROCESSING_PIPELINES = "processing_pipelines"
AWAITING_STUDENT_VALIDATION = "awaiting_student_validation"
STUDENT_VALIDATION_COMPLETED = "student_validation_completed"
VALIDATION_TIMEOUT_PROCESSED = "validation_timeout_processed"
COMPLETED_SUCCESSFULLY = "completed_successfully"
COMPLETED_WITH_FAILURES = "completed_with_failures"
FAILED_CRITICALLY = "failed_critically"
CANCELLED = "cancelled"

INTERNAL_STATUSES = (
    AWAITING_CONTENT_VALIDATION,
    CONTENT_INGESTION_FAILED,
    AWAITING_PIPELINE_CONFIGURATION,
    READY_FOR_PIPELINE_EXECUTION,
    PROCESSING_PIPELINES,
    AWAITING_STUDENT_VALIDATION,
    STUDENT_VALIDATION_COMPLETED,
    VALIDATION_TIMEOUT_PROCESSED,
    COMPLETED_SUCCESSFULLY,
    COMPLETED_WITH_FAILURES,
    FAILED_CRITICALLY,
    CANCELLED,
)

# Statuses after which the batch does no more work.
TERMINAL_STATUSES = frozenset(
    {
        COMPLETED_SUCCESSFULLY,
        COMPLETED_WITH_FAILURES,
        FAILED_CRITICALLY,
        CONTENT_INGESTION_FAILED,
        CANCELLED,
    }
)

# Client statuses: the `overall_status` of responses (SPEC 3.4).
CLIENT_PENDING_CONTENT = "pending_content"
CLIENT_READY = "ready"
CLIENT_PROCESSING = "processing"
CLIENT_COMPLETED_SUCCESSFULLY = "completed_successfully"
CLIENT_COMPLETED_WITH_FAILURES = "completed_with_failures"
CLIENT_FAILED = "failed"
CLIENT_CANCELLED = "cancelled"

CLIENT_STATUS_BY_INTERNAL = {
    AWAITING_CONTENT_VALIDATION: CLIENT_PENDING_CONTENT,
    AWAITING_PIPELINE_CONFIGURATION: CLIENT_PENDING_CONTENT,
    READY_FOR_PIPELINE_EXECUTION: CLIENT_READY,
    PROCESSING_PIPELINES: CLIENT_PROCESSING,
    AWAITING_STUDENT_VALIDATION: CLIENT_PROCESSING,
    STUDENT_VALIDATION_COMPLETED: CLIENT_PROCESSING,
    VALIDATION_TIMEOUT_PROCESSED: CLIENT_PROCESSING,
    COMPLETED_SUCCESSFULLY: CLIENT_COMPLETED_SUCCESSFULLY,
    COMPLETED_WITH_FAILURES: CLIENT_COMPLETED_WITH_FAILURES,
    FAILED_CRITICALLY: CLIENT_FAILED,
    CONTENT_INGESTION_FAILED: CLIENT_FAILED,
    CANCELLED: CLIENT_CANCELLED,
}

# Essay-level processing stages (per phase: spellcheck, cj_assessment).
ESSAY_COMPLETED = "completed"
ESSAY_FAILED = "failed"
ESSAY_CANCELLED = "cancelled"
ESSAY_TERMINAL_STAGES = frozenset({ESSAY_COMPLETED, ESSAY_FAILED, ESSAY_CANCELLED})

PHASE_SPELLCHECK = "spellcheck"
PHASE_CJ_ASSESSMENT = "cj_assessment"
PHASE_NAMES = (PHASE_SPELLCHECK, PHASE_CJ_ASSESSMENT, "nlp", "ai_feedback", "student_matching")

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def client_status(internal: str) -> str:
    """Map an internal batch status to the client status; unknown ones read as `processing`."""
    return CLIENT_STATUS_BY_INTERNAL.get(internal, CLIENT_PROCESSING)


def is_terminal(internal: str) -> bool:
    """True when the batch status ends processing."""
    return internal in TERMINAL_STATUSES


def spellcheck_status(status: str | None) -> str:
    """Essay spellcheck stage from a producer status: contains `SUCCESS` (any case, as the seed) → completed."""
    return ESSAY_COMPLETED if status and "SUCCESS" in status.upper() else ESSAY_FAILED


def spellcheck_essay_update(event: dict) -> dict:
    """Essay-row fields set by one `ESSAY_SPELLCHECK_COMPLETED` event."""
    return {
        "essay_id": event["essay_id"],
        "batch_id": event.get("batch_id"),
        "spellcheck_status": spellcheck_status(event.get("status")),
        "spellcheck_corrections_made": event.get("corrections_made"),
        "corrected_text_storage_id": event.get("corrected_text_storage_id"),
        "spellcheck_error_detail": event.get("error_detail"),
    }


def assessment_essay_updates(event: dict) -> list[dict]:
    """Essay-row fields set by one `ASSESSMENT_RESULT_PUBLISHED` event; anchor essays are dropped."""
    return [
        {
            "essay_id": result["essay_id"],
            "batch_id": event.get("batch_id"),
            "cj_assessment_status": ESSAY_COMPLETED,
            "cj_rank": result.get("rank"),
            "cj_score": result.get("bt_score"),
            "normalized_score": result.get("normalized_score"),
            "letter_grade": result.get("letter_grade"),
            "confidence_label": result.get("confidence_label"),
            "cj_assessment_job_id": event.get("cj_assessment_job_id"),
            "comparison_count": event.get("comparison_count"),
        }
        for result in event.get("essay_results", [])
        if not result.get("is_anchor", False)
    ]


def essay_results(spellcheck_events: Iterable[dict], assessment_events: Iterable[dict]) -> list[dict]:
    """Fold essay result events into one row per essay (latest by (timestamp, seq) wins), by essay_id."""
    updates: list[tuple[tuple, dict]] = []
    for event in spellcheck_events:
        updates.append((_order_key(event), spellcheck_essay_update(event)))
    for event in assessment_events:
        for update in assessment_essay_updates(event):
            updates.append((_order_key(event), update))
    rows: dict[str, dict] = {}
    for key, update in sorted(updates, key=lambda pair: pair[0]):
        row = rows.setdefault(update["essay_id"], empty_essay_row(update["essay_id"]))
        row.update(update)
        row["updated_at"] = key[0]
    return [rows[essay_id] for essay_id in sorted(rows)]


def current_phase(internal: str, essays: Iterable[dict]) -> str | None:
    """Phase still running: spellcheck, then cj_assessment, else None; only while `processing_pipelines`."""
    if internal != PROCESSING_PIPELINES:
        return None
    essays = list(essays)
    if any(essay.get("spellcheck_status") not in ESSAY_TERMINAL_STAGES for essay in essays):
        return PHASE_SPELLCHECK
    if any(essay.get("cj_assessment_status") not in ESSAY_TERMINAL_STAGES for essay in essays):
        return PHASE_CJ_ASSESSMENT
    return None


def batch_state(
    batch: dict | None,
    essays: list[dict],
    phase_outcomes: list[dict],
    pipeline_completed: dict | None,
) -> dict:
    """Recompute a batch's whole status from all its stored facts, independent of arrival order."""
    registered = batch is not None
    batch = batch or {}
    essay_rows = _batch_essay_rows(batch, essays)
    essay_count = _essay_count(batch) if registered else len(essay_rows)

    status = PROCESSING_PIPELINES if registered else AWAITING_CONTENT_VALIDATION
    completed = failed = 0
    error_detail: dict | None = None
    critical = False
    processing_completed_at: datetime | None = None

    ordered = sorted(phase_outcomes, key=_order_key)
    for outcome in ordered:
        # Distinct ids: a producer listing an essay twice must not count it twice.
        completed = max(completed, len(set(outcome.get("processed_essay_ids") or [])))
        failed = max(failed, len(set(outcome.get("failed_essay_ids") or [])))
        if not registered:
            continue
        if outcome.get("phase_status") == FAILED_CRITICALLY:
            if not critical:
                critical = True
                error_detail = _phase_failure_detail(batch, outcome)
                processing_completed_at = _timestamp(outcome)
            status = FAILED_CRITICALLY
        elif not critical and completed + failed >= essay_count:
            reached = _status_from_counts(completed, failed)
            if not is_terminal(status):
                processing_completed_at = _timestamp(outcome)
            status = reached

    if pipeline_completed is not None:
        completed = max(completed, int(pipeline_completed.get("completed_essay_count") or 0))
        failed = max(failed, int(pipeline_completed.get("failed_essay_count") or 0))
        if registered:
            status = pipeline_completed.get("final_status") or status
            processing_completed_at = _timestamp(pipeline_completed)
            if client_status(status) == CLIENT_FAILED and error_detail is None:
                error_detail = _pipeline_failure_detail(batch, pipeline_completed)

    fact_times = [_timestamp(fact) for fact in ordered]
    fact_times += [as_datetime(row.get("updated_at")) for row in essays if row.get("updated_at")]
    if pipeline_completed is not None:
        fact_times.append(_timestamp(pipeline_completed))
    created_at = as_datetime(batch.get("created_at") or batch.get("timestamp"))
    if created_at is not None:
        fact_times.append(created_at)

    return {
        "batch_id": batch.get("batch_id") or _batch_id_from(essays, phase_outcomes, pipeline_completed),
        "user_id": batch.get("user_id"),
        "registered": registered,
        "internal_status": status,
        "overall_status": client_status(status),
        "essay_count": essay_count,
        "completed_essay_count": completed,
        "failed_essay_count": failed,
        "current_phase": current_phase(status, essay_rows),
        "requested_pipeline": batch.get("requested_pipeline"),
        "course_code": batch.get("course_code"),
        "assignment_id": batch.get("assignment_id"),
        "class_id": batch.get("class_id"),
        "student_prompt_ref": batch.get("student_prompt_ref"),
        "essay_ids": [row["essay_id"] for row in essay_rows],
        "error_detail": error_detail,
        "created_at": created_at,
        "last_updated": max(fact_times) if fact_times else None,
        "processing_started_at": _timestamp(ordered[0]) if ordered else None,
        "processing_completed_at": processing_completed_at if is_terminal(status) else None,
    }


def batch_view(facts: Iterable[dict]) -> tuple[dict, list[dict]]:
    """(state, essay result rows) of one batch from all its stored facts, in any order.

    Each fact is an event's payload plus `type`, `timestamp` and `seq` (the event's
    database id). The newest registration (by timestamp, then seq) gives the batch's
    fields; `created_at` is the first registration's time; the newest
    `BATCH_PIPELINE_COMPLETED` is the orchestrator's final word. The state also
    carries `registered_seq` (seq of the first registration, for a stable list order)
    and `last_seq` (the newest fact's seq).
    """
    by_type: dict[str, list[dict]] = defaultdict(list)
    for fact in facts:
        by_type[fact["type"]].append(fact)
    registrations = sorted(by_type["BATCH_REGISTERED"], key=_order_key)
    batch = None
    if registrations:
        batch = {**registrations[-1], "created_at": _timestamp(registrations[0])}
    essays = essay_results(by_type["ESSAY_SPELLCHECK_COMPLETED"], by_type["ASSESSMENT_RESULT_PUBLISHED"])
    completions = sorted(by_type["BATCH_PIPELINE_COMPLETED"], key=_order_key)
    state = batch_state(batch, essays, by_type["BATCH_PHASE_OUTCOME"], completions[-1] if completions else None)
    state["registered_seq"] = int(registrations[0].get("seq") or 0) if registrations else None
    state["last_seq"] = max((int(f.get("seq") or 0) for group in by_type.values() for f in group), default=0)
    return state, essays


def _batch_essay_rows(batch: dict, essays: list[dict]) -> list[dict]:
    """Registered essays in registration order (empty row when no result yet), then other rows by id."""
    by_id = {row["essay_id"]: row for row in essays}
    registered_ids = list(dict.fromkeys(batch.get("essay_ids") or []))
    extra_ids = sorted(set(by_id) - set(registered_ids))
    return [by_id.get(essay_id) or empty_essay_row(essay_id) for essay_id in registered_ids + extra_ids]


def empty_essay_row(essay_id: str) -> dict:
    """An essay with no result yet."""
    return {
        "essay_id": essay_id,
        "spellcheck_status": None,
        "spellcheck_corrections_made": None,
        "corrected_text_storage_id": None,
        "spellcheck_error_detail": None,
        "cj_assessment_status": None,
        "cj_rank": None,
        "cj_score": None,
        "normalized_score": None,
        "letter_grade": None,
        "confidence_label": None,
        "cj_assessment_job_id": None,
        "comparison_count": None,
        "updated_at": None,
    }


def _essay_count(batch: dict) -> int:
    """Expected essays: `expected_essay_count`, defaulting to the number of essay ids."""
    expected = batch.get("expected_essay_count")
    return int(expected) if expected is not None else len(batch.get("essay_ids") or [])


def _status_from_counts(completed: int, failed: int) -> str:
    """Status once every essay is accounted for (seed rule)."""
    if failed == 0:
        return COMPLETED_SUCCESSFULLY
    if completed == 0:
        return FAILED_CRITICALLY
    return COMPLETED_WITH_FAILURES


def _processing_error(batch: dict, fact: dict, message: str, operation: str, **details: Any) -> dict:
    """The seed's `error_detail` of a failed batch: a PROCESSING_ERROR naming the operation and the batch."""
    details = {"batch_id": batch.get("batch_id") or fact.get("batch_id"), **details}
    return {"error_code": "PROCESSING_ERROR", "message": message, "operation": operation, "details": details}


def _phase_failure_detail(batch: dict, outcome: dict) -> dict:
    """Error detail for a phase that failed critically, naming the phase."""
    phase = outcome.get("phase_name")
    failed = sorted(set(outcome.get("failed_essay_ids") or []))
    return _processing_error(batch, outcome, f"Phase {phase} failed critically", "batch_phase_outcome",
                             phase=phase, status=FAILED_CRITICALLY, failed_essay_ids=failed)


def _pipeline_failure_detail(batch: dict, event: dict) -> dict:
    """Error detail when the pipeline itself reports a failed final status."""
    final_status = event.get("final_status")
    return _processing_error(batch, event, f"Pipeline completed with status {final_status}",
                             "batch_pipeline_completed", status=final_status)


def _batch_id_from(essays: list[dict], outcomes: list[dict], pipeline_completed: dict | None) -> str | None:
    """Batch id of facts about a batch that is not registered yet."""
    for fact in [*outcomes, *essays, pipeline_completed or {}]:
        if fact.get("batch_id"):
            return fact["batch_id"]
    return None


def _order_key(fact: dict) -> tuple[datetime, int]:
    """(timestamp, seq): event time, ties broken by arrival order (the event's database id)."""
    return (_timestamp(fact), int(fact.get("seq") or 0))


def _timestamp(fact: dict) -> datetime:
    """A fact's event time as an aware UTC datetime (epoch when missing)."""
    return as_datetime(fact.get("timestamp")) or _EPOCH


def as_datetime(value: Any) -> datetime | None:
    """Parse an RFC 3339 string or datetime into an aware UTC datetime; naive means UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)
