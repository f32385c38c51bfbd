"""Essay results rules: expected values worked out by hand from SPEC 3.4 and 9."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone

import pytest

from tutormax.rules import essays as rules
from tutormax.schemas.essays import batch_status_body


def ts(minute: int) -> str:
    """RFC 3339 time on a fixed day, `minute` minutes after 10:00 UTC."""
    return f"2024-05-01T10:{minute:02d}:00Z"


def dt(minute: int) -> datetime:
    """The datetime `ts(minute)` stands for."""
    return datetime(2024, 5, 1, 10, minute, tzinfo=timezone.utc)


def registered(essay_ids: list[str], **extra) -> dict:
    """A BATCH_REGISTERED fact for batch b1 of user u1, registered at minute 0."""
    return {"batch_id": "b1", "user_id": "u1", "essay_ids": essay_ids, "timestamp": ts(0), **extra}


def outcome(phase: str, status: str, processed: list[str], failed: list[str], minute: int, seq: int) -> dict:
    """A BATCH_PHASE_OUTCOME fact."""
    return {
        "batch_id": "b1",
        "phase_name": phase,
        "phase_status": status,
        "processed_essay_ids": processed,
        "failed_essay_ids": failed,
        "timestamp": ts(minute),
        "seq": seq,
    }


def pipeline_done(final_status: str, completed: int, failed: int, minute: int = 30) -> dict:
    """A BATCH_PIPELINE_COMPLETED fact."""
    return {
        "batch_id": "b1",
        "final_status": final_status,
        "completed_essay_count": completed,
        "failed_essay_count": failed,
        "timestamp": ts(minute),
    }


def essay(essay_id: str, spellcheck: str | None = None, cj: str | None = None) -> dict:
    """An essay row with only its two stage statuses set."""
    return {"essay_id": essay_id, "spellcheck_status": spellcheck, "cj_assessment_status": cj}


def summary(state: dict) -> tuple:
    """The status fields a client reads."""
    return (
        state["internal_status"],
        state["overall_status"],
        state["completed_essay_count"],
        state["failed_essay_count"],
        state["current_phase"],
    )


# --- client status mapping ---------------------------------------------------------


@pytest.mark.parametrize(
    ("internal", "expected"),
    [
        ("awaiting_content_validation", "pending_content"),  # content not validated yet
        ("awaiting_pipeline_configuration", "pending_content"),  # seed: still before any pipeline
        ("ready_for_pipeline_execution", "ready"),  # seed: configured, not started
        ("processing_pipelines", "processing"),  # processing-like
        ("awaiting_student_validation", "processing"),  # processing-like
        ("student_validation_completed", "processing"),  # processing-like
        ("validation_timeout_processed", "processing"),  # processing-like
        ("completed_successfully", "completed_successfully"),  # terminal maps to itself
        ("completed_with_failures", "completed_with_failures"),  # terminal maps to itself
        ("failed_critically", "failed"),  # SPEC 9: → failed
        ("content_ingestion_failed", "failed"),  # SPEC 9: → failed
        ("cancelled", "cancelled"),  # SPEC 9
        ("guest_class_ready", "processing"),  # unknown → processing
        ("", "processing"),  # unknown → processing
    ],
)
def test_client_status_maps_every_internal_status(internal: str, expected: str) -> None:
    assert rules.client_status(internal) == expected


def test_every_internal_status_of_spec_is_mapped_explicitly() -> None:
    # The twelve statuses of SPEC 9, each with an entry (none left to the fallback).
    assert set(rules.INTERNAL_STATUSES) == set(rules.CLIENT_STATUS_BY_INTERNAL)
    assert len(rules.INTERNAL_STATUSES) == 12


@pytest.mark.parametrize(
    ("internal", "terminal"),
    [
        ("completed_successfully", True),
        ("completed_with_failures", True),
        ("failed_critically", True),
        ("content_ingestion_failed", True),
        ("cancelled", True),
        ("processing_pipelines", False),
        ("awaiting_content_validation", False),
        ("ready_for_pipeline_execution", False),
    ],
)
def test_terminal_statuses(internal: str, terminal: bool) -> None:
    assert (internal in rules.TERMINAL_STATUSES) is terminal


# --- essay level -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("SPELLCHECKED_SUCCESS", "completed"),  # contains SUCCESS
        ("SUCCESS", "completed"),  # is SUCCESS
        ("spellchecked_success", "completed"),  # seed compares upper-cased
        ("SPELLCHECK_FAILED", "failed"),  # no SUCCESS
        ("SUCCES", "failed"),  # misspelt: not contained
        ("", "failed"),
        (None, "failed"),
    ],
)
def test_spellcheck_status(status: str | None, expected: str) -> None:
    assert rules.spellcheck_status(status) == expected


def test_spellcheck_essay_update_carries_the_result_fields() -> None:
    event = {
        "batch_id": "b1",
        "essay_id": "e1",
        "status": "SPELLCHECKED_SUCCESS",
        "corrections_made": 4,
        "corrected_text_storage_id": "st-1",
    }
    assert rules.spellcheck_essay_update(event) == {
        "essay_id": "e1",
        "batch_id": "b1",
        "spellcheck_status": "completed",
        "spellcheck_corrections_made": 4,
        "corrected_text_storage_id": "st-1",
        "spellcheck_error_detail": None,
    }


def test_assessment_updates_ignore_anchor_essays() -> None:
    event = {
        "batch_id": "b1",
        "cj_assessment_job_id": "job-1",
        "comparison_count": 12,
        "essay_results": [
            {"essay_id": "e1", "rank": 2, "bt_score": 0.4},
            {"essay_id": "anchor-A", "rank": 1, "bt_score": 0.9, "is_anchor": True},  # ignored
            {
                "essay_id": "e2",
                "rank": 3,
                "bt_score": -0.1,
                "normalized_score": 0.25,
                "letter_grade": "C",
                "confidence_label": "MID",
                "is_anchor": False,
            },
        ],
    }
    updates = rules.assessment_essay_updates(event)
    assert [u["essay_id"] for u in updates] == ["e1", "e2"]
    assert updates[1] == {
        "essay_id": "e2",
        "batch_id": "b1",
        "cj_assessment_status": "completed",
        "cj_rank": 3,
        "cj_score": -0.1,
        "normalized_score": 0.25,
        "letter_grade": "C",
        "confidence_label": "MID",
        "cj_assessment_job_id": "job-1",
        "comparison_count": 12,
    }


def test_essay_results_latest_event_wins_whatever_the_input_order() -> None:
    failed_first = {"batch_id": "b1", "essay_id": "e1", "status": "FAILED", "timestamp": ts(1), "seq": 1}
    success_later = {
        "batch_id": "b1",
        "essay_id": "e1",
        "status": "SUCCESS",
        "corrections_made": 2,
        "timestamp": ts(2),
        "seq": 2,
    }
    assessment = {
        "batch_id": "b1",
        "cj_assessment_job_id": "j",
        "essay_results": [
            {"essay_id": "e1", "rank": 1, "bt_score": 1.5},
            {"essay_id": "a", "rank": 2, "bt_score": 0, "is_anchor": True},
        ],
        "timestamp": ts(3),
        "seq": 3,
    }
    for spellchecks in ([failed_first, success_later], [success_later, failed_first]):
        rows = rules.essay_results(spellchecks, [assessment])
        # One row (the anchor "a" is not an essay of the batch), success at minute 2 beat failure
        # at minute 1, the CJ fields merged in at minute 3.
        assert [r["essay_id"] for r in rows] == ["e1"]
        row = rows[0]
        assert (row["spellcheck_status"], row["spellcheck_corrections_made"]) == ("completed", 2)
        assert (row["cj_assessment_status"], row["cj_rank"], row["cj_score"]) == ("completed", 1, 1.5)
        assert row["updated_at"] == dt(3)


# --- current_phase -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("internal", "essays", "expected"),
    [
        # Seed: only while processing_pipelines.
        ("completed_successfully", [essay("e1")], None),
        ("ready_for_pipeline_execution", [essay("e1")], None),
        ("awaiting_student_validation", [essay("e1")], None),
        # Processing, no essays at all: nothing is running.
        ("processing_pipelines", [], None),
        # An essay with no spellcheck stage yet.
        ("processing_pipelines", [essay("e1", "completed", "completed"), essay("e2")], "spellcheck"),
        # A non-terminal spellcheck stage.
        ("processing_pipelines", [essay("e1", "processing"), essay("e2", "completed")], "spellcheck"),
        # Spellcheck terminal everywhere (failed counts as terminal), one CJ missing.
        ("processing_pipelines", [essay("e1", "completed", "completed"), essay("e2", "failed")], "cj_assessment"),
        # Everything terminal, cancelled included.
        ("processing_pipelines", [essay("e1", "completed", "cancelled"), essay("e2", "failed", "completed")], None),
    ],
)
def test_current_phase(internal: str, essays: list[dict], expected: str | None) -> None:
    assert rules.current_phase(internal, essays) == expected


# --- batch_state: whole journeys ---------------------------------------------------

E3 = ["e1", "e2", "e3"]
SPELLCHECK_ALL = outcome("spellcheck", "completed_successfully", E3, [], 10, 10)
CJ_ALL = outcome("cj_assessment", "completed_successfully", E3, [], 20, 20)


@pytest.mark.parametrize(
    ("essays", "outcomes", "pipeline_completed", "expected"),
    [
        # Registered, nothing yet: processing, no essay has finished spellcheck.
        ([], [], None, ("processing_pipelines", "processing", 0, 0, "spellcheck")),
        # Two of three spellchecked: e3 has no row, so spellcheck is still running.
        (
            [essay("e1", "completed"), essay("e2", "completed")],
            [],
            None,
            ("processing_pipelines", "processing", 0, 0, "spellcheck"),
        ),
        # All spellchecked, one CJ result in: assessment is running.
        (
            [essay("e1", "completed", "completed"), essay("e2", "completed"), essay("e3", "completed")],
            [],
            None,
            ("processing_pipelines", "processing", 0, 0, "cj_assessment"),
        ),
        # Spellcheck outcome covers 3 of 3, no failures: 3 + 0 >= 3 → completed_successfully (SPEC rule,
        # applied after any phase), and current_phase is only shown while processing.
        (
            [essay("e1", "completed"), essay("e2", "completed"), essay("e3", "completed")],
            [SPELLCHECK_ALL],
            None,
            ("completed_successfully", "completed_successfully", 3, 0, None),
        ),
        # CJ outcome too: counts max(3, 3) = 3, still no failures.
        (
            [essay(e, "completed", "completed") for e in E3],
            [SPELLCHECK_ALL, CJ_ALL],
            None,
            ("completed_successfully", "completed_successfully", 3, 0, None),
        ),
        # Pipeline completed with the same figures.
        (
            [essay(e, "completed", "completed") for e in E3],
            [SPELLCHECK_ALL, CJ_ALL],
            pipeline_done("completed_successfully", 3, 0),
            ("completed_successfully", "completed_successfully", 3, 0, None),
        ),
    ],
)
def test_batch_through_every_phase(essays, outcomes, pipeline_completed, expected) -> None:
    state = rules.batch_state(registered(E3), essays, outcomes, pipeline_completed)
    assert summary(state) == expected
    assert state["essay_count"] == 3
    assert state["error_detail"] is None


def test_batch_completed_with_failures() -> None:
    outcomes = [
        # Spellcheck: 2 processed + 1 failed = 3 >= 3, failures and completions → completed_with_failures.
        outcome("spellcheck", "completed_with_failures", ["e1", "e2"], ["e3"], 10, 1),
        # CJ only saw the two survivors: counts stay max(2, 2) = 2 and max(1, 0) = 1.
        outcome("cj_assessment", "completed_successfully", ["e1", "e2"], [], 20, 2),
    ]
    rows = [essay("e1", "completed", "completed"), essay("e2", "completed", "completed"), essay("e3", "failed")]
    state = rules.batch_state(registered(E3), rows, outcomes, None)
    assert summary(state) == ("completed_with_failures", "completed_with_failures", 2, 1, None)
    assert state["processing_completed_at"] == dt(10)  # first became terminal at the spellcheck outcome


def test_phase_failing_critically_fails_the_batch_and_names_the_phase() -> None:
    outcomes = [
        outcome("spellcheck", "completed_successfully", ["e1"], [], 10, 1),  # 1 + 0 < 3: still processing
        outcome("cj_assessment", "failed_critically", [], ["e1"], 20, 2),
    ]
    state = rules.batch_state(registered(E3), [essay("e1", "completed")], outcomes, None)
    # Counts: completed max(1, 0) = 1, failed max(0, 1) = 1.
    assert summary(state) == ("failed_critically", "failed", 1, 1, None)
    assert state["error_detail"] == {
        "error_code": "PROCESSING_ERROR",
        "message": "Phase cj_assessment failed critically",
        "operation": "batch_phase_outcome",
        "details": {
            "batch_id": "b1",
            "phase": "cj_assessment",
            "status": "failed_critically",
            "failed_essay_ids": ["e1"],
        },
    }


def test_critical_failure_is_not_undone_by_a_later_outcome_reaching_the_count() -> None:
    outcomes = [
        outcome("nlp", "failed_critically", [], [], 10, 1),
        outcome("spellcheck", "completed_successfully", E3, [], 20, 2),  # 3 >= 3 but nlp already failed
    ]
    state = rules.batch_state(registered(E3), [], outcomes, None)
    assert summary(state)[:4] == ("failed_critically", "failed", 3, 0)
    assert state["error_detail"]["message"] == "Phase nlp failed critically"


def test_every_essay_failing_is_failed_critically_without_phase_error() -> None:
    # 0 completed + 3 failed >= 3 and nothing completed → failed_critically (count rule, no phase failure).
    outcomes = [outcome("spellcheck", "completed_with_failures", [], E3, 10, 1)]
    state = rules.batch_state(registered(E3), [], outcomes, None)
    assert summary(state) == ("failed_critically", "failed", 0, 3, None)
    assert state["error_detail"] is None


@pytest.mark.parametrize(
    ("outcomes", "pipeline_completed", "expected_counts"),
    [
        # Later outcome reports fewer processed essays: the count keeps its max of 2.
        (
            [outcome("spellcheck", "completed_successfully", ["e1", "e2"], [], 10, 1),
             outcome("cj_assessment", "completed_successfully", ["e1"], [], 20, 2)],
            None,
            (2, 0),
        ),
        # Same, the other way round in the list: still 2.
        (
            [outcome("cj_assessment", "completed_successfully", ["e1"], [], 20, 2),
             outcome("spellcheck", "completed_successfully", ["e1", "e2"], [], 10, 1)],
            None,
            (2, 0),
        ),
        # An essay id listed twice counts once: {e1, e2} = 2.
        ([outcome("spellcheck", "completed_successfully", ["e1", "e1", "e2"], [], 10, 1)], None, (2, 0)),
        # Pipeline completed with smaller counts (1, 0) than seen (2, 1): counts keep (2, 1).
        (
            [outcome("spellcheck", "completed_with_failures", ["e1", "e2"], ["e3"], 10, 1)],
            pipeline_done("completed_with_failures", 1, 0),
            (2, 1),
        ),
        # Pipeline completed with larger counts (3, 2) than seen (1, 0): counts grow to them.
        (
            [outcome("spellcheck", "completed_successfully", ["e1"], [], 10, 1)],
            pipeline_done("completed_with_failures", 3, 2),
            (3, 2),
        ),
    ],
)
def test_counts_never_shrink(outcomes, pipeline_completed, expected_counts) -> None:
    state = rules.batch_state(registered(["e1", "e2", "e3", "e4", "e5"]), [], outcomes, pipeline_completed)
    assert (state["completed_essay_count"], state["failed_essay_count"]) == expected_counts


def test_shuffled_and_redelivered_outcomes_give_the_same_state() -> None:
    outcomes = [
        outcome("spellcheck", "completed_with_failures", ["e1", "e2"], ["e3"], 10, 1),
        outcome("cj_assessment", "completed_successfully", ["e1", "e2"], [], 20, 2),
        # Same minute: seq 3 (ai_feedback) comes before seq 4 (nlp), so ai_feedback is named.
        outcome("nlp", "failed_critically", [], [], 30, 4),
        outcome("ai_feedback", "failed_critically", [], [], 30, 3),
    ]
    rows = [essay("e1", "completed", "completed"), essay("e2", "completed", "completed"), essay("e3", "failed")]
    states = []
    for order in itertools.permutations(outcomes):
        states.append(rules.batch_state(registered(E3), rows, list(order), None))
        # Redelivery: the same outcome stored twice changes nothing.
        states.append(rules.batch_state(registered(E3), rows, [*order, order[0]], None))
    first = states[0]
    assert all(state == first for state in states)
    assert summary(first) == ("failed_critically", "failed", 2, 1, None)
    assert first["error_detail"]["message"] == "Phase ai_feedback failed critically"
    assert first["processing_started_at"] == dt(10)
    assert first["last_updated"] == dt(30)


@pytest.mark.parametrize(
    ("outcomes", "final_status", "expected_internal", "expected_client", "expected_message"),
    [
        # The orchestrator's final word overrides a sticky critical failure; the error stays as history.
        ([outcome("nlp", "failed_critically", [], [], 10, 1)], "completed_with_failures",
         "completed_with_failures", "completed_with_failures", "Phase nlp failed critically"),
        # A failed final status with no phase failure gets its own error detail.
        ([], "failed_critically", "failed_critically", "failed", "Pipeline completed with status failed_critically"),
        # Cancelled by the pipeline.
        ([], "cancelled", "cancelled", "cancelled", None),
    ],
)
def test_pipeline_completed_sets_the_final_status(
    outcomes, final_status, expected_internal, expected_client, expected_message
) -> None:
    done = {"final_status": final_status, "completed_essay_count": 0, "failed_essay_count": 0, "timestamp": ts(40)}
    state = rules.batch_state(registered(E3), [], outcomes, done)
    assert (state["internal_status"], state["overall_status"]) == (expected_internal, expected_client)
    assert (state["error_detail"] or {}).get("message") == expected_message
    assert state["processing_completed_at"] == dt(40)


def test_expected_essay_count_overrides_the_number_of_ids() -> None:
    # 2 ids but 4 expected: 2 processed + 0 failed < 4, still processing.
    outcomes = [outcome("spellcheck", "completed_successfully", ["e1", "e2"], [], 10, 1)]
    state = rules.batch_state(registered(["e1", "e2"], expected_essay_count=4), [], outcomes, None)
    assert (state["essay_count"], state["internal_status"]) == (4, "processing_pipelines")


def test_facts_before_registration_wait_for_the_batch() -> None:
    # Results kept before BATCH_REGISTERED: not a servable batch yet, nothing decided.
    rows = [dict(essay("e1", "completed"), batch_id="b1")]
    outcomes = [outcome("spellcheck", "completed_successfully", ["e1"], [], 10, 1)]
    state = rules.batch_state(None, rows, outcomes, None)
    assert state["registered"] is False
    assert state["batch_id"] == "b1"
    assert (state["internal_status"], state["overall_status"]) == ("awaiting_content_validation", "pending_content")
    assert state["current_phase"] is None
    # Once registered with the same facts, the rule applies: 1 + 0 >= 1 → completed_successfully.
    later = rules.batch_state(registered(["e1"]), rows, outcomes, None)
    assert later["internal_status"] == "completed_successfully"


# --- the response body -------------------------------------------------------------


def test_batch_status_response_body() -> None:
    batch = registered(
        ["e1", "e2"],
        requested_pipeline="cj_assessment",
        course_code="ENG5",
        assignment_id="a1",
        class_id="c1",
    )
    rows = [
        {
            "essay_id": "e1",
            "spellcheck_status": "completed",
            "spellcheck_corrections_made": 3,
            "corrected_text_storage_id": "s1",
            "cj_assessment_status": "completed",
            "cj_rank": 1,
            "cj_score": 0.8,
            "normalized_score": 0.9,
            "letter_grade": "A",
            "confidence_label": "HIGH",
            "updated_at": dt(3),
        }
    ]
    # 1 processed + 1 failed >= 2 with both kinds → completed_with_failures at minute 4.
    outcomes = [outcome("spellcheck", "completed_with_failures", ["e1"], ["e2"], 4, 1)]
    state = rules.batch_state(batch, rows, outcomes, None)
    body = batch_status_body(state, rows)
    e1_body = {
        "essay_id": "e1",
        "spellcheck_status": "completed",
        "spellcheck_corrections_made": 3,
        "spellcheck_correction_count": 3,
        "corrected_text_storage_id": "s1",
        "spellcheck_corrected_text_storage_id": "s1",
        "spellcheck_error_detail": None,
        "cj_assessment_status": "completed",
        "cj_rank": 1,
        "cj_score": 0.8,
        "normalized_score": 0.9,
        "letter_grade": "A",
        "confidence_label": "HIGH",
        "cj_assessment_job_id": None,
        "comparison_count": None,
        "last_updated": "2024-05-01T10:03:00Z",
    }
    empty_e2 = dict.fromkeys(e1_body) | {"essay_id": "e2"}  # every field of an essay, all null
    assert body == {
        "batch_id": "b1",
        "user_id": "u1",
        "overall_status": "completed_with_failures",
        "internal_status": "completed_with_failures",
        "essay_count": 2,
        "completed_essay_count": 1,
        "failed_essay_count": 1,
        "current_phase": None,
        "requested_pipeline": "cj_assessment",
        "course_code": "ENG5",
        "assignment_id": "a1",
        "class_id": "c1",
        "student_prompt_ref": None,
        "error_detail": None,
        "created_at": "2024-05-01T10:00:00Z",
        "last_updated": "2024-05-01T10:04:00Z",  # latest fact: the outcome at minute 4
        "processing_started_at": "2024-05-01T10:04:00Z",
        "processing_completed_at": "2024-05-01T10:04:00Z",
        "essays": [
            e1_body,
            empty_e2,  # registered, no result yet
        ],
    }


def test_response_overall_status_is_the_client_status_while_processing() -> None:
    state = rules.batch_state(registered(E3), [essay("e1", "completed")], [], None)
    body = batch_status_body(state, [essay("e1", "completed")])
    assert (body["overall_status"], body["internal_status"], body["current_phase"]) == (
        "processing",
        "processing_pipelines",
        "spellcheck",
    )
    assert [e["essay_id"] for e in body["essays"]] == ["e1", "e2", "e3"]
    assert body["last_updated"] == "2024-05-01T10:00:00Z"  # only the registration so far


# --- batch_view: the fold over stored facts ----------------------------------------


def fact(event_type: str, minute: int, seq: int, **payload) -> dict:
    """A stored fact: the event payload plus its type, time and database id."""
    return {"type": event_type, "batch_id": "b1", "timestamp": ts(minute), "seq": seq, **payload}


def test_batch_view_folds_facts_in_any_order() -> None:
    facts = [
        fact("BATCH_REGISTERED", 0, 1, user_id="u1", essay_ids=["e1", "e2"]),
        # Re-registration later with a course code: its fields win, created_at stays minute 0.
        fact("BATCH_REGISTERED", 1, 2, user_id="u1", essay_ids=["e1", "e2"], course_code="ENG5"),
        fact("ESSAY_SPELLCHECK_COMPLETED", 2, 3, essay_id="e1", status="SPELLCHECKED_SUCCESS"),
        fact("ESSAY_SPELLCHECK_COMPLETED", 3, 4, essay_id="e2", status="FAILED"),
        fact("ASSESSMENT_RESULT_PUBLISHED", 4, 5, cj_assessment_job_id="j1", essay_results=[
            {"essay_id": "e1", "rank": 1, "bt_score": 1.0},
            {"essay_id": "anchor", "rank": 2, "bt_score": 0.0, "is_anchor": True},  # ignored
        ]),
        # 1 processed + 1 failed >= 2 with both kinds → completed_with_failures.
        fact("BATCH_PHASE_OUTCOME", 5, 6, phase_name="spellcheck", phase_status="completed_with_failures",
             processed_essay_ids=["e1"], failed_essay_ids=["e2"]),
    ]
    views = [rules.batch_view(order) for order in (facts, list(reversed(facts)), facts + facts[:2])]
    assert all(view == views[0] for view in views)
    state, essays = views[0]
    body = batch_status_body(state, essays)
    assert (state["registered_seq"], state["last_seq"]) == (1, 6)
    assert body["overall_status"] == "completed_with_failures"
    assert (body["course_code"], body["created_at"], body["last_updated"]) == (
        "ENG5", "2024-05-01T10:00:00Z", "2024-05-01T10:05:00Z")
    assert [(e["essay_id"], e["spellcheck_status"], e["cj_rank"]) for e in body["essays"]] == [
        ("e1", "completed", 1), ("e2", "failed", None)]


def test_batch_view_without_registration_is_not_registered() -> None:
    state, _essays = rules.batch_view([fact("ESSAY_SPELLCHECK_COMPLETED", 2, 3, essay_id="e1", status="SUCCESS")])
    assert (state["registered"], state["batch_id"], state["registered_seq"]) == (False, "b1", None)
