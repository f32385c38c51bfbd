"""Table-driven tests of the SPEC §3.1 learning formulas; expected values worked out by hand."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.rules.reference_learning import (
    class_rollup,
    compute_mastery,
    exact_score,
    latest_grades,
    risk_flags,
    student_aggregates,
)
from tutormax.rules.learning import (
    ClassRollup,
    Grade,
    MasteryResult,
    SeverityParts,
    StudentAggregate,
    iso_week,
    latest,
    mastery_by_standard,
    mastery_from_totals,
    median,
    priority,
    risk_flags_from_aggregates,
    rollup_from_aggregates,
    severity,
    weekly_trend,
)

UTC = timezone.utc


def at(hour: int, minute: int = 0, offset_hours: int = 0) -> datetime:
    """An aware timestamp on one fixed day."""
    return datetime(2024, 3, 4, hour, minute, tzinfo=timezone(timedelta(hours=offset_hours)))


def graded(
    student: str,
    assignment: str,
    score: float,
    when: datetime,
    seq: int,
    standards: tuple[str, ...] = ("S1",),
) -> dict:
    """A SUBMISSION_GRADED row as a recompute task loads it."""
    return {
        "student_id": student,
        "assignment_id": assignment,
        "standard_ids": list(standards),
        "score": score,
        "timestamp": when,
        "seq": seq,
    }


def orderings(rows: list) -> list[list]:
    """Every arrival order of `rows` (all permutations up to 6 rows, else a few)."""
    if len(rows) <= 6:
        return [list(p) for p in itertools.permutations(rows)]
    return [rows, rows[::-1], rows[1::2] + rows[::2]]


# --- latest -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "expected_seq"),
    [
        pytest.param(
            # Regrade (10:00) reached us first (seq 4); original (09:00) came later (seq 5).
            # Timestamp decides: 10:00 > 09:00 → the regrade, seq 4.
            [{"timestamp": at(10), "seq": 4}, {"timestamp": at(9), "seq": 5}],
            4,
            id="regrade-arrives-before-original",
        ),
        pytest.param(
            # Same timestamp 10:00; arrival breaks the tie: seq 8 > seq 7 → seq 8.
            [{"timestamp": at(10), "seq": 8}, {"timestamp": at(10), "seq": 7}],
            8,
            id="equal-timestamps-seq-breaks-tie",
        ),
        pytest.param(
            # 11:00+02:00 is 09:00Z, earlier than 10:00Z → seq 3 despite the larger wall clock.
            [{"timestamp": at(11, offset_hours=2), "seq": 9}, {"timestamp": at(10), "seq": 3}],
            3,
            id="offsets-compare-as-instants",
        ),
    ],
)
def test_latest_is_by_timestamp_then_seq_in_any_arrival_order(rows, expected_seq):
    for arrival in orderings(rows):
        assert latest(arrival)["seq"] == expected_seq


def test_latest_of_nothing_is_none():
    assert latest([]) is None


def test_latest_refuses_naive_timestamps():
    with pytest.raises(ValueError):
        latest([{"timestamp": datetime(2024, 3, 4, 10), "seq": 1}, {"timestamp": at(9), "seq": 2}])


# --- median -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param([], None, id="empty"),
        pytest.param([0.4], 0.4, id="one"),
        # sorted 1,2,3 → middle 2
        pytest.param([3, 1, 2], 2, id="odd"),
        # sorted 1,2,3,4 → (2+3)/2 = 2.5
        pytest.param([4, 1, 3, 2], 2.5, id="even"),
        # sorted 0, 0.5, 1, 1 → (0.5+1)/2 = 0.75
        pytest.param([1.0, 0.0, 1.0, 0.5], 0.75, id="even-rates"),
        # sorted 0.5, 0.5 → (0.5+0.5)/2 = 0.5
        pytest.param([0.5, 0.5], 0.5, id="even-equal-middles"),
    ],
)
def test_median_is_the_true_median(values, expected):
    assert median(values) == expected


# --- mastery ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("grades", "expected"),
    [
        pytest.param(
            # Original 60 at 09:00 (seq 5), regrade 90 at 10:00 arrived first (seq 4).
            # mastery = 90/100 = 0.9; attempts 2; average (60+90)/2/100 = 0.75; last 10:00.
            [graded("u1", "a1", 90, at(10), 4), graded("u1", "a1", 60, at(9), 5)],
            {("u1", "S1"): (0.9, 2, 0.75, at(10))},
            id="regrade-arrives-before-original",
        ),
        pytest.param(
            # Both at 10:00: seq 8 (70) beats seq 7 (40). mastery 0.7; average (40+70)/2/100 = 0.55.
            [graded("u1", "a1", 70, at(10), 8), graded("u1", "a1", 40, at(10), 7)],
            {("u1", "S1"): (0.7, 2, 0.55, at(10))},
            id="equal-timestamps-seq-breaks-tie",
        ),
        pytest.param(
            # g1 (S1,S2) 80 at 09:00 in class c1; g2 (S2) 50 at 10:00 in another class; u2 100 on S1.
            # u1/S1: only g1 → 0.8, 1, 0.8, 09:00.
            # u1/S2: latest g2 → 0.5; 2 attempts; (80+50)/2/100 = 0.65; 10:00.
            # u2/S1: 1.0, 1, 1.0, 11:00.
            [
                graded("u1", "a1", 80, at(9), 1, ("S1", "S2")),
                graded("u1", "a7", 50, at(10), 2, ("S2",)),
                graded("u2", "a1", 100, at(11), 3, ("S1",)),
            ],
            {
                ("u1", "S1"): (0.8, 1, 0.8, at(9)),
                ("u1", "S2"): (0.5, 2, 0.65, at(10)),
                ("u2", "S1"): (1.0, 1, 1.0, at(11)),
            },
            id="standards-across-assignments-and-students",
        ),
        pytest.param(
            # Three grades on S1: 20@09, 100@11, 60@10 → latest is 100@11.
            # average (20+100+60)/3/100 = 0.6.
            [
                graded("u1", "a1", 20, at(9), 1),
                graded("u1", "a2", 100, at(11), 2),
                graded("u1", "a3", 60, at(10), 3),
            ],
            {("u1", "S1"): (1.0, 3, 0.6, at(11))},
            id="latest-is-not-last-arrived",
        ),
        pytest.param([], {}, id="no-grades"),
    ],
)
def test_compute_mastery(grades, expected):
    for arrival in orderings(grades):
        result = compute_mastery(arrival)
        assert set(result) == set(expected)
        for (student_id, standard_id), (score, attempts, average, last_at) in expected.items():
            mastery = result[(student_id, standard_id)]
            assert mastery.student_id == student_id
            assert mastery.standard_id == standard_id
            assert mastery.mastery_score == pytest.approx(score)
            assert mastery.attempts == attempts
            assert mastery.average_score == pytest.approx(average)
            assert mastery.last_assessed_at == last_at


def test_compute_mastery_reads_dataclass_rows_like_dicts():
    # 90 at 10:00 is latest; (90+60)/2/100 = 0.75.
    rows = [
        Grade("u1", "a1", ("S1",), 60, at(9), 1),
        Grade("u1", "a1", ("S1",), 90, at(10), 2),
    ]
    assert compute_mastery(rows) == {
        ("u1", "S1"): MasteryResult("u1", "S1", 0.9, 2, 0.75, at(10)),
    }


# --- class rollup -----------------------------------------------------------


@pytest.mark.parametrize(
    ("assigned", "grades", "students", "assignments", "expected"),
    [
        pytest.param(
            # 4 assigned pairs; graded: (u1,a1) latest = regrade 90 (10:00, arrived first),
            # (u2,a1) 70. completion 2/4 = 0.5; average (90+70)/2 = 80.
            [("u1", "a1"), ("u1", "a2"), ("u2", "a1"), ("u2", "a2")],
            [
                graded("u1", "a1", 90, at(10), 1),
                graded("u1", "a1", 60, at(9), 2),
                graded("u2", "a1", 70, at(9), 3),
            ],
            ["u1", "u2", "u1"],
            ["a1", "a2", "a1"],
            ClassRollup(2, 2, 0.5, 80.0),
            id="regrade-replaces-earlier-grade",
        ),
        pytest.param(
            # Same timestamp: seq 8 (70) wins over seq 7 (40). completion 1/1; average 70.
            [("u1", "a1")],
            [graded("u1", "a1", 40, at(10), 7), graded("u1", "a1", 70, at(10), 8)],
            ["u1"],
            ["a1"],
            ClassRollup(1, 1, 1.0, 70.0),
            id="equal-timestamps-seq-breaks-tie",
        ),
        pytest.param(
            # Nothing assigned → completion null; one graded pair → average 75.
            [],
            [graded("u1", "a1", 75, at(9), 1)],
            ["u1"],
            ["a1"],
            ClassRollup(1, 1, None, 75.0),
            id="nothing-assigned-completion-null",
        ),
        pytest.param(
            # 2 assigned, none graded → completion 0/2 = 0; average null.
            [("u1", "a1"), ("u2", "a1")],
            [],
            ["u1", "u2"],
            ["a1"],
            ClassRollup(2, 1, 0.0, None),
            id="nothing-graded-average-null",
        ),
        pytest.param(
            # Only (u1,a1) assigned; (u1,a2) graded without assignment.
            # completion counts assigned pairs only: 1/1; average over graded pairs (50+100)/2 = 75.
            # u3 only created a submission for a3: counted as student and assignment.
            [("u1", "a1")],
            [graded("u1", "a1", 50, at(9), 1), graded("u1", "a2", 100, at(10), 2)],
            ["u1", "u3"],
            ["a1", "a2", "a3"],
            ClassRollup(2, 3, 1.0, 75.0),
            id="unassigned-grade-counts-for-average-not-completion",
        ),
        pytest.param(
            # 3 assigned pairs, (u1,a1) assigned twice still one pair; graded (u1,a1) 80 → 1/3.
            [("u1", "a1"), ("u1", "a1"), ("u1", "a2"), ("u2", "a1")],
            [graded("u1", "a1", 80, at(9), 1)],
            ["u1", "u2"],
            ["a1", "a2"],
            ClassRollup(2, 2, 1 / 3, 80.0),
            id="duplicate-assignment-is-one-pair",
        ),
        pytest.param([], [], [], [], ClassRollup(0, 0, None, None), id="empty-class"),
    ],
)
def test_class_rollup(assigned, grades, students, assignments, expected):
    for arrival in orderings(grades):
        result = class_rollup(assigned, latest_grades(arrival), students, assignments)
        assert result.student_count == expected.student_count
        assert result.assignment_count == expected.assignment_count
        assert result.completion_rate == (
            None if expected.completion_rate is None else pytest.approx(expected.completion_rate)
        )
        assert result.average_score == (
            None if expected.average_score is None else pytest.approx(expected.average_score)
        )


# --- risk flags -------------------------------------------------------------

MISSING = "missing_submissions"
TREND = "score_trend_down"
BELOW = "completion_below_median"
LOW = "low_mastery"


def details(assigned, missing, threshold, last_two, rate, class_median, mean_mastery=None, standards=0) -> dict:
    """The details a student's risk entry carries."""
    return {
        "assigned": assigned,
        "missing": missing,
        "missing_threshold": threshold,
        "last_two_scores": last_two,
        "completion_rate": rate,
        "class_median_completion_rate": class_median,
        "mean_mastery": mean_mastery,
        "mastery_standards": standards,
    }


def pairs(student: str, *assignments: str) -> list[tuple[str, str]]:
    """Assigned (student, assignment) pairs of one student."""
    return [(student, a) for a in assignments]


@pytest.mark.parametrize(
    ("assigned", "grades", "threshold", "expected"),
    [
        pytest.param(
            # Assigned 2, graded 0: missing 2 ≥ min(3, 2) = 2 → flagged. Only student:
            # rate 0/2 = 0, median 0 → not below. No grades → no trend.
            pairs("u1", "a1", "a2"),
            [],
            3,
            {"u1": ([MISSING], details(2, 2, 2, [], 0.0, 0.0))},
            id="few-assignments-none-graded",
        ),
        pytest.param(
            # Assigned 2, graded 1: missing 1 < min(3, 2) = 2 → not flagged.
            # One graded assignment → no trend. rate 1/2, median 1/2 → not below.
            pairs("u1", "a1", "a2"),
            [graded("u1", "a1", 80, at(9), 1)],
            3,
            {"u1": ([], details(2, 1, 2, [80], 0.5, 0.5))},
            id="few-assignments-one-missing-single-grade",
        ),
        pytest.param(
            # Assigned 5, graded 3 rising (60, 70, 80): missing 2 < min(3, 5) = 3 → not flagged.
            # last two 70 → 80 is up. rate 3/5.
            pairs("u1", "a1", "a2", "a3", "a4", "a5"),
            [
                graded("u1", "a1", 60, at(9), 1),
                graded("u1", "a2", 70, at(10), 2),
                graded("u1", "a3", 80, at(11), 3),
            ],
            3,
            {"u1": ([], details(5, 2, 3, [70, 80], 3 / 5, 3 / 5))},
            id="many-assignments-two-missing",
        ),
        pytest.param(
            # Assigned 5, graded 2: missing 3 ≥ min(3, 5) = 3 → flagged. rate 2/5.
            pairs("u1", "a1", "a2", "a3", "a4", "a5"),
            [graded("u1", "a1", 60, at(9), 1), graded("u1", "a2", 70, at(10), 2)],
            3,
            {"u1": ([MISSING], details(5, 3, 3, [60, 70], 2 / 5, 2 / 5))},
            id="many-assignments-three-missing",
        ),
        pytest.param(
            # Threshold 1: assigned 5, missing 1 ≥ min(1, 5) = 1 → flagged. rate 4/5.
            pairs("u1", "a1", "a2", "a3", "a4", "a5"),
            [graded("u1", a, 70, at(9 + i), i + 1) for i, a in enumerate(["a1", "a2", "a3", "a4"])],
            1,
            {"u1": ([MISSING], details(5, 1, 1, [70, 70], 4 / 5, 4 / 5))},
            id="configured-threshold",
        ),
        pytest.param(
            # One assignment graded 90 then regraded 50: one graded assignment → one
            # latest grade [50] → no trend even though the score fell.
            pairs("u1", "a1"),
            [graded("u1", "a1", 90, at(9), 1), graded("u1", "a1", 50, at(10), 2)],
            3,
            {"u1": ([], details(1, 0, 1, [50], 1.0, 1.0))},
            id="single-graded-assignment-regraded-down-no-trend",
        ),
        pytest.param(
            # a1 80@09 (seq 3), a2 70@10 (seq 2), a1 regrade 60@11 arrived first (seq 1).
            # Latest per assignment: a2 70@10, a1 60@11 → in time order 70, 60 → down.
            pairs("u1", "a1", "a2"),
            [
                graded("u1", "a1", 60, at(11), 1),
                graded("u1", "a2", 70, at(10), 2),
                graded("u1", "a1", 80, at(9), 3),
            ],
            3,
            {"u1": ([TREND], details(2, 0, 2, [70, 60], 1.0, 1.0))},
            id="trend-uses-regrade-timestamp-not-arrival",
        ),
        pytest.param(
            # Both at 10:00: a2 60 (seq 4) then a1 80 (seq 5) → 60, 80 → up, not flagged.
            pairs("u1", "a1", "a2"),
            [graded("u1", "a1", 80, at(10), 5), graded("u1", "a2", 60, at(10), 4)],
            3,
            {"u1": ([], details(2, 0, 2, [60, 80], 1.0, 1.0))},
            id="trend-equal-timestamps-seq-order-up",
        ),
        pytest.param(
            # Both at 10:00: a1 80 (seq 4) then a2 60 (seq 5) → 80, 60 → down.
            pairs("u1", "a1", "a2"),
            [graded("u1", "a1", 80, at(10), 4), graded("u1", "a2", 60, at(10), 5)],
            3,
            {"u1": ([TREND], details(2, 0, 2, [80, 60], 1.0, 1.0))},
            id="trend-equal-timestamps-seq-order-down",
        ),
        pytest.param(
            # Odd class of 3, each assigned a1, a2: rates u1 2/2 = 1, u2 1/2 = 0.5, u3 0/2 = 0.
            # median of 0, 0.5, 1 = 0.5. u3: 0 < 0.5 → below; missing 2 ≥ 2 → missing.
            # u2: 0.5 not < 0.5; missing 1 < 2. u1: 70 → 80 up.
            pairs("u1", "a1", "a2") + pairs("u2", "a1", "a2") + pairs("u3", "a1", "a2"),
            [
                graded("u1", "a1", 70, at(9), 1),
                graded("u1", "a2", 80, at(10), 2),
                graded("u2", "a1", 90, at(9), 3),
            ],
            3,
            {
                "u1": ([], details(2, 0, 2, [70, 80], 1.0, 0.5)),
                "u2": ([], details(2, 1, 2, [90], 0.5, 0.5)),
                "u3": ([MISSING, BELOW], details(2, 2, 2, [], 0.0, 0.5)),
            },
            id="median-odd-class",
        ),
        pytest.param(
            # Even class of 4, each assigned a1, a2: rates 1, 1, 0.5, 0.
            # median of 0, 0.5, 1, 1 = (0.5+1)/2 = 0.75 (a lower-middle median 0.5 would spare u3).
            # u3: 0.5 < 0.75 → below; missing 1 < 2. u4: 0 < 0.75 → below; missing 2 ≥ 2.
            pairs("u1", "a1", "a2")
            + pairs("u2", "a1", "a2")
            + pairs("u3", "a1", "a2")
            + pairs("u4", "a1", "a2"),
            [
                graded("u1", "a1", 70, at(9), 1),
                graded("u1", "a2", 70, at(10), 2),
                graded("u2", "a1", 60, at(9), 3),
                graded("u2", "a2", 90, at(10), 4),
                graded("u3", "a1", 50, at(9), 5),
            ],
            3,
            {
                "u1": ([], details(2, 0, 2, [70, 70], 1.0, 0.75)),
                "u2": ([], details(2, 0, 2, [60, 90], 1.0, 0.75)),
                "u3": ([BELOW], details(2, 1, 2, [50], 0.5, 0.75)),
                "u4": ([MISSING, BELOW], details(2, 2, 2, [], 0.0, 0.75)),
            },
            id="median-even-class",
        ),
        pytest.param(
            # u1 has a grade (90 then 40) on two unassigned assignments: assigned 0,
            # missing 0 → not flagged; no rate, so not in the median; 90 → 40 is down.
            # u2: 1/1 → median of [1] = 1.
            pairs("u2", "a1"),
            [
                graded("u1", "a1", 90, at(9), 1),
                graded("u1", "a2", 40, at(10), 2),
                graded("u2", "a1", 75, at(9), 3),
            ],
            3,
            {
                "u1": ([TREND], details(0, 0, 0, [90, 40], None, 1.0)),
                "u2": ([], details(1, 0, 1, [75], 1.0, 1.0)),
            },
            id="graded-without-assignment",
        ),
        pytest.param([], [], 3, {}, id="empty-class"),
    ],
)
def test_risk_flags(assigned, grades, threshold, expected):
    for arrival in orderings(grades):
        flags = risk_flags(assigned, arrival, missing_threshold=threshold)
        # The seed's reasons and figures (every grade here is on one standard, so no low_mastery).
        assert {
            student_id: (entry["reasons"], strip_mastery(entry["details"])) for student_id, entry in flags.items()
        } == {student_id: (reasons, strip_mastery(figures)) for student_id, (reasons, figures) in expected.items()}


def test_risk_flags_default_threshold_is_three():
    # Assigned 4 (a1–a4): 1 graded → missing 3 ≥ min(3, 4) = 3 → flagged;
    # 2 graded → missing 2 < 3 → not flagged. Any other default fails one side.
    assigned = pairs("u1", "a1", "a2", "a3", "a4")
    one_graded = [graded("u1", "a1", 80, at(9), 1)]
    two_graded = one_graded + [graded("u1", "a2", 80, at(10), 2)]
    assert risk_flags(assigned, one_graded)["u1"]["reasons"] == [MISSING]
    assert risk_flags(assigned, two_graded)["u1"]["reasons"] == []


# --- mastery from running totals and per-standard class averages ------------------


@pytest.mark.parametrize(
    ("attempts", "total", "latest_score", "expected"),
    [
        # 60 then regrade 90: latest 90 → 0.9; (60+90)/2/100 = 0.75.
        pytest.param(2, 150, 90, (0.9, 0.75), id="regrade"),
        # 33.3 + 66.7 + 100 = 200 over 3 → 66.666…/100 = 0.6666…; latest 100 → 1.0.
        pytest.param(3, Decimal("200.0"), Decimal("100"), (1.0, 2 / 3), id="decimal-thirds"),
        # One attempt of 0 → 0.0 and 0.0.
        pytest.param(1, 0, 0, (0.0, 0.0), id="zero"),
    ],
)
def test_mastery_from_totals(attempts, total, latest_score, expected):
    result = mastery_from_totals("u1", "S1", attempts, total, latest_score, at(10))
    assert (result.mastery_score, result.average_score) == pytest.approx(expected)
    assert (result.attempts, result.last_assessed_at) == (attempts, at(10))


def test_mastery_from_totals_matches_compute_mastery():
    # Same grades as "regrade-arrives-before-original" above: totals 150 over 2, latest 90.
    grades = [graded("u1", "a1", 90, at(10), 4), graded("u1", "a1", 60, at(9), 5)]
    assert mastery_from_totals("u1", "S1", 2, 150, 90, at(10)) == compute_mastery(grades)[("u1", "S1")]


def test_mastery_from_totals_refuses_zero_attempts():
    with pytest.raises(ValueError):
        mastery_from_totals("u1", "S1", 0, 0, 0, at(10))


def test_mastery_by_standard():
    # S2: 0.5 and 1.0 → 0.75 over 2 students; S1: 0.8 alone → 0.8 over 1. Sorted by id.
    rows = [("S2", 0.5), ("S1", 0.8), ("S2", 1.0)]
    assert mastery_by_standard(rows) == [
        {"standard_id": "S1", "average_mastery": 0.8, "students": 1},
        {"standard_id": "S2", "average_mastery": 0.75, "students": 2},
    ]
    assert mastery_by_standard([]) == []


# --- rollup and risk flags from per-student aggregates ------------------------------


def agg(student, assigned, graded_assigned, graded, score_sum, last_two=(), standards=0,
        mastery_sum=0) -> StudentAggregate:
    return StudentAggregate(student, assigned, graded_assigned, graded, score_sum, tuple(last_two), standards,
                            mastery_sum)


@pytest.mark.parametrize(
    ("students", "assignment_count", "expected"),
    [
        pytest.param(
            # u1: 2 assigned, 1 of them graded, 2 graded pairs (90 + 40); u2: 1 assigned + graded (75);
            # u3 only created a submission. completion (1+1)/(2+1) = 2/3; average (90+40+75)/3 = 205/3.
            [agg("u1", 2, 1, 2, 130, (90.0, 40.0)), agg("u2", 1, 1, 1, 75, (75.0,)), agg("u3", 0, 0, 0, 0)],
            4,
            ClassRollup(3, 4, 2 / 3, 205 / 3),
            id="counts-and-mean",
        ),
        pytest.param(
            # Scores 0.1 and 0.2 as floats: fmean = fsum 0.30000000000000004 / 2 = 0.15000000000000002,
            # which is what the pair-based rollup gives; the exact decimal mean 0.15 would differ.
            [agg("u1", 0, 0, 2, exact_score(0.1) + exact_score(0.2), (0.1, 0.2))],
            2,
            ClassRollup(1, 2, None, 0.15000000000000002),
            id="mean-of-the-floats-like-fmean",
        ),
        pytest.param([agg("u1", 2, 0, 0, 0)], 2, ClassRollup(1, 2, 0.0, None), id="nothing-graded"),
        pytest.param([], 0, ClassRollup(0, 0, None, None), id="empty-class"),
    ],
)
def test_rollup_from_aggregates(students, assignment_count, expected):
    # Exact equality: the stored rollup must be the reference's float, bit for bit.
    assert rollup_from_aggregates(students, assignment_count) == expected


def test_risk_flags_from_aggregates():
    # u1: assigned 4, 1 graded → missing 3 ≥ min(3, 4); last two 90 then 40 → trend down;
    # rates u1 1/4, u2 1/1 → median (0.25 + 1)/2 = 0.625 → u1 below. u2: nothing.
    # u3 has neither an assigned nor a graded pair: not listed. u4 graded only: rate None.
    students = [
        agg("u2", 1, 1, 1, 75, (75.0,)),
        agg("u1", 4, 1, 2, 130, (90.0, 40.0)),
        agg("u3", 0, 0, 0, 0),
        agg("u4", 0, 0, 2, 150, (70.0, 80.0)),
    ]
    flags = risk_flags_from_aggregates(students, missing_threshold=3)
    assert {s: (e["reasons"], e["details"]) for s, e in flags.items()} == {
        "u1": ([MISSING, TREND, BELOW], details(4, 3, 3, [90.0, 40.0], 0.25, 0.625)),
        "u2": ([], details(1, 0, 1, [75.0], 1.0, 0.625)),
        "u4": ([], details(0, 0, 0, [70.0, 80.0], None, 0.625)),
    }
    assert list(flags) == ["u1", "u2", "u4"]


def strip_mastery(entry_details: dict) -> dict:
    """The seed's details only (the table above predates low_mastery; mastery has its own tests)."""
    return {k: v for k, v in entry_details.items() if k not in ("mean_mastery", "mastery_standards")}


# --- triage: severity components, priority, low_mastery, explanations ------------------


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        pytest.param(SeverityParts(), 0, id="nothing"),
        # m = 3/5: 100 × 0.35 × 0.6 = 21.
        pytest.param(SeverityParts(missing=Fraction(3, 5)), 21, id="m-only"),
        # t = 13/30 (a drop of 13): 100 × 0.20 × 13/30 = 26/3 = 8.67 → 9.
        pytest.param(SeverityParts(trend=Fraction(13, 30)), 9, id="t-only"),
        # c = 0.8 − 0.4 = 0.4: 100 × 0.20 × 0.4 = 8.
        pytest.param(SeverityParts(completion=Fraction(2, 5)), 8, id="c-only"),
        # mean mastery 0.45: k = 0.25/0.7 = 5/14; 100 × 0.25 × 5/14 = 125/14 = 8.93 → 9.
        pytest.param(SeverityParts(mastery=Fraction(5, 14)), 9, id="k-only"),
        # Each component at its maximum 1: 35 + 20 + 20 + 25 = 100.
        pytest.param(SeverityParts(Fraction(1), Fraction(1), Fraction(1), Fraction(1)), 100, id="all-full"),
        # Exactly half a point rounds up, not to even: m = 1/70 → 100 × 0.35/70 = 0.5 → 1;
        # c = 1/8 → 100 × 0.2/8 = 2.5 → 3 (in floats 0.35 × (1/70) × 100 is 0.49999999999999994).
        pytest.param(SeverityParts(missing=Fraction(1, 70)), 1, id="half-rounds-up"),
        pytest.param(SeverityParts(completion=Fraction(1, 8)), 3, id="two-and-a-half-rounds-up"),
        # Just below a half: c = 0.124 → 2.48 → 2.
        pytest.param(SeverityParts(completion=Fraction(124, 1000)), 2, id="below-half-rounds-down"),
        # m 3/5 (21) + t 13/30 (8.67) + c 0.4 (8) = 37.67 → 38.
        pytest.param(SeverityParts(Fraction(3, 5), Fraction(13, 30), Fraction(2, 5)), 38, id="sum-then-round"),
    ],
)
def test_severity_components_one_by_one(parts, expected):
    assert severity(parts) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (0, "low"), (19, "low"), (20, "medium"), (39, "medium"), (40, "high"), (100, "high")])
def test_priority_boundaries(value, expected):
    assert priority(value) == expected


def triage_of(flags: dict) -> dict:
    return {s: (e["reasons"], e["severity"], e["priority"], e["explanations"]) for s, e in flags.items()}


def test_triage_of_a_class_worked_by_hand():
    # Each assigned 5. Rates u1 2/5, u2 5/5, u3 4/5, u4 4/5 → sorted .4, .8, .8, 1 → median 0.8.
    students = [
        # u1: missing 3 ≥ 3; 75 → 62 (drop 13); 0.4 < 0.8; one standard only (0.62) → no mastery part.
        agg("u1", 5, 2, 2, 137, (75.0, 62.0), standards=1, mastery_sum=62),
        # u2: nothing; two standards, mean (90 + 90)/2/100 = 0.9 ≥ 0.7 → k = 0.
        agg("u2", 5, 5, 5, 400, (70.0, 80.0), standards=2, mastery_sum=180),
        # u3: four standards, mean 180/4/100 = 0.45 < 0.6 → low_mastery.
        agg("u3", 5, 4, 4, 360, (90.0, 90.0), standards=4, mastery_sum=180),
        # u4: 80 → 62.5 (drop 17.5); three standards, mean (55 + 60 + 65)/3/100 = 0.6: not below 0.6.
        agg("u4", 5, 4, 4, 300, (80.0, 62.5), standards=3, mastery_sum=180),
    ]
    flags = risk_flags_from_aggregates(students, missing_threshold=3)
    assert triage_of(flags) == {
        # m 3/5 → 21; t 13/30 → 8.67; c 0.4 → 8; k 0 → 37.67 → 38, medium.
        "u1": ([MISSING, TREND, BELOW], 38, "medium", [
            "3 of 5 assigned pairs not graded", "last grade 62 after 75 (−13)",
            "completion 40 % vs class median 80 %"]),
        "u2": ([], 0, "low", []),
        # m 1/5 → 7; k (0.7 − 0.45)/0.7 = 5/14 → 8.93 → 15.93 → 16, low.
        "u3": ([LOW], 16, "low", ["mean mastery 45 % over 4 standards"]),
        # m 1/5 → 7; t 17.5/30 = 7/12 → 11.67; k (0.7 − 0.6)/0.7 = 1/7 → 3.57 → 22.24 → 22, medium
        # (severity counts mastery below 0.7 even where low_mastery, below 0.6, does not flag it).
        "u4": ([TREND], 22, "medium", ["last grade 62.5 after 80 (−17.5)"]),
    }
    assert flags["u3"]["details"]["mean_mastery"] == 0.45
    assert (flags["u1"]["details"]["mean_mastery"], flags["u1"]["details"]["mastery_standards"]) == (0.62, 1)
    # The threshold is a setting: at 0.61, u4's mean 0.6 is below it.
    raised = risk_flags_from_aggregates(students, missing_threshold=3, low_mastery=0.61)
    assert triage_of(raised)["u4"] == ([TREND, LOW], 22, "medium",
                                        ["last grade 62.5 after 80 (−17.5)", "mean mastery 60 % over 3 standards"])


def test_explanations_round_half_up():
    # Each assigned 8. Rates w1 1/8, w2 8/8, w3 7/8 → median 7/8 = 87.5 % → "88"; w1 12.5 % → "13".
    # w1: 75.25 → 62.125: "62.13" (half up at 2 decimals), drop 13.125 → "13.13".
    # Mean mastery (45 + 46)/2/100 = 0.455 → 45.5 % → "46".
    students = [
        agg("w1", 8, 1, 2, Fraction("137.375"), (75.25, 62.125), standards=2, mastery_sum=91),
        agg("w2", 8, 8, 8, 640, (80.0, 80.0)),
        agg("w3", 8, 7, 7, 560, (80.0, 80.0)),
    ]
    w1 = risk_flags_from_aggregates(students)["w1"]
    assert w1["explanations"] == [
        "7 of 8 assigned pairs not graded", "last grade 62.13 after 75.25 (−13.13)",
        "completion 13 % vs class median 88 %", "mean mastery 46 % over 2 standards"]
    # m 7/8 → 30.625; t 13.125/30 → 8.75; c 7/8 − 1/8 → 15; k (0.7 − 0.455)/0.7 = 0.35 → 8.75 → 63.125 → 63.
    assert (w1["severity"], w1["priority"]) == (63, "high")


def test_low_mastery_needs_two_standards():
    # One standard at 0.1: no reason and k = 0 (fewer than 2); the same with two standards at 0.1:
    # low_mastery, k = 0.6/0.7 = 6/7 → 100 × 0.25 × 6/7 = 21.43 → 21.
    one = risk_flags_from_aggregates([agg("u1", 0, 0, 1, 10, (10.0,), standards=1, mastery_sum=10)])["u1"]
    two = risk_flags_from_aggregates([agg("u1", 0, 0, 1, 10, (10.0,), standards=2, mastery_sum=20)])["u1"]
    assert (one["reasons"], one["severity"]) == ([], 0)
    assert (two["reasons"], two["severity"], two["explanations"]) == (
        [LOW], 21, ["mean mastery 10 % over 2 standards"])


# --- trend ---------------------------------------------------------------------------


@pytest.mark.parametrize(("day", "week"), [
    (date(2026, 12, 31), "2026-W53"),  # a Thursday: 2026 has 53 ISO weeks
    (date(2027, 1, 3), "2026-W53"),  # Sunday: still the last week of 2026
    (date(2027, 1, 4), "2027-W01"),  # Monday
    (date(2024, 12, 30), "2025-W01"),  # Monday of the week that holds 2025-01-02
    (date(2026, 3, 2), "2026-W10"),
])
def test_iso_week(day, week):
    assert iso_week(day) == week


def test_weekly_trend_is_chronological_with_exact_means():
    rows = [
        (date(2027, 1, 4), 1, Decimal("70")),
        # 0.1 + 0.2 over 2 → exactly 0.15 (a float mean would give 0.15000000000000002).
        (date(2026, 12, 28), 2, Decimal("0.3")),
        (date(2026, 12, 21), 3, Decimal("200")),
    ]
    assert weekly_trend(rows) == [
        {"week": "2026-W52", "average_score": 200 / 3, "grades": 3},
        {"week": "2026-W53", "average_score": 0.15, "grades": 2},
        {"week": "2027-W01", "average_score": 70.0, "grades": 1},
    ]
    assert weekly_trend([]) == []


SCORES = st.one_of(
    st.integers(0, 100),
    st.sampled_from([0.1, 0.2, 0.3, 12.5, 33.3, 66.7, 99.9, 5e-324, 1e-7]),
    st.floats(0, 100, allow_nan=False, allow_infinity=False),
)
STANDARDS = st.lists(st.sampled_from(["S0", "S1", "S2"]), min_size=1, max_size=3)


@st.composite
def class_histories(draw):
    """Random assigned pairs, grades (with regrades, timestamp ties and 1–3 standards), created-only
    students, and grades of the same students in another class (they move mastery only)."""
    students = [f"u{i}" for i in range(draw(st.integers(1, 5)))]
    assignments = [f"a{i}" for i in range(draw(st.integers(1, 4)))]
    pair = st.tuples(st.sampled_from(students), st.sampled_from(assignments))
    assigned = draw(st.lists(pair, max_size=12))
    grades = [
        graded(s, a, draw(SCORES), at(9, draw(st.integers(0, 5))), seq, tuple(draw(STANDARDS)))
        for seq, (s, a) in enumerate(draw(st.lists(pair, max_size=14)), start=1)
    ]
    elsewhere = [
        graded(s, "other-class", draw(SCORES), at(9, draw(st.integers(0, 5))), 100 + seq, tuple(draw(STANDARDS)))
        for seq, s in enumerate(draw(st.lists(st.sampled_from(students), max_size=4)))
    ]
    created = draw(st.lists(pair, max_size=3))
    return assigned, grades, created, elsewhere


def stored_aggregates(assigned, grades, seen_students, elsewhere) -> list[StudentAggregate]:
    """The aggregates as PostgreSQL keeps them: exact NUMERIC sums of Decimal(float(score)) for the
    rollup and of the latest scores' decimals (as written) for mastery."""
    reference = student_aggregates(assigned, grades, seen_students, elsewhere)
    graded_latest = latest_grades(grades)
    out = []
    with localcontext() as ctx:
        ctx.prec = 100_000  # exact: far more digits than any sum of these expansions has
        for s in reference.values():
            mine = [g for (u, _), g in graded_latest.items() if u == s.student_id]
            total = sum((Decimal(float(g["score"])) for g in mine), Decimal(0))
            assert Fraction(total) == s.score_sum
            mastery_sum = Decimal(str(s.mastery_score_sum.numerator)) / s.mastery_score_sum.denominator
            assert Fraction(mastery_sum) == s.mastery_score_sum
            out.append(StudentAggregate(s.student_id, s.assigned, s.graded_assigned, s.graded, total,
                                        tuple(float(Decimal(repr(float(x)))) for x in s.last_two_scores),
                                        s.mastery_standards, mastery_sum))
    return out


@settings(max_examples=400, deadline=None)
@given(class_histories(), st.integers(1, 4), st.sampled_from([0.6, 0.75, 0.333]))
def test_aggregate_functions_equal_the_pair_based_reference(history, threshold, low_mastery):
    assigned, grades, created, elsewhere = history
    graded_latest = latest_grades(grades)
    seen_students = [s for s, _ in assigned + created] + [g["student_id"] for g in grades]
    seen_assignments = [a for _, a in assigned + created] + [g["assignment_id"] for g in grades]

    expected_rollup = class_rollup(assigned, graded_latest, seen_students, seen_assignments)
    expected_flags = risk_flags(assigned, grades, missing_threshold=threshold, other_class_grades=elsewhere,
                                low_mastery=Fraction(str(low_mastery)))

    aggregates = stored_aggregates(assigned, grades, seen_students, elsewhere)
    # Any row order: the recompute reads them ordered, but nothing may depend on it.
    for rows in (aggregates, aggregates[::-1]):
        assert rollup_from_aggregates(rows, len(set(seen_assignments))) == expected_rollup
        flags = risk_flags_from_aggregates(rows, missing_threshold=threshold, low_mastery=low_mastery)
        assert flags == expected_flags
        assert list(flags) == list(expected_flags)
