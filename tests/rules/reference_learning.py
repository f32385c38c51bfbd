"""Reference implementations of SPEC §3.1 over plain pairs and grades, for the tests only.

Production computes the same views from stored per-student aggregates
(tutormax.rules.learning `rollup_from_aggregates`, `risk_flags_from_aggregates`);
these straightforward versions are the oracle the property tests hold them against.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from decimal import Decimal
from fractions import Fraction
from statistics import fmean
from typing import Any, Callable, TypeVar

from tutormax.rules.learning import (
    DEFAULT_MISSING_THRESHOLD,
    REASON_COMPLETION_BELOW_MEDIAN,
    REASON_MISSING_SUBMISSIONS,
    REASON_SCORE_TREND_DOWN,
    ClassRollup,
    MasteryResult,
    Pair,
    StudentAggregate,
    _field,
    median,
    order_key,
)
from tutormax.upserts import newest_by

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


def latest_by(items: Iterable[T], key: Callable[[T], K]) -> dict[K, T]:
    """The latest item by (timestamp, seq) within each group of `key`."""
    return {key(item): item for item in newest_by(items, key=key, order=order_key)}


def latest_grades(grades: Iterable[T]) -> dict[Pair, T]:
    """Each (student_id, assignment_id) pair's latest grade; a regrade replaces the earlier one."""
    return latest_by(grades, lambda g: (_field(g, "student_id"), _field(g, "assignment_id")))


def compute_mastery(grades: Iterable[Any]) -> dict[tuple[str, str], MasteryResult]:
    """Mastery per (student_id, standard_id) from graded events of any class."""
    by_standard: dict[tuple[str, str], list[Any]] = {}
    for grade in grades:
        student_id = _field(grade, "student_id")
        # A standard listed twice on one event is still one assessment of it.
        for standard_id in dict.fromkeys(_field(grade, "standard_ids")):
            by_standard.setdefault((student_id, standard_id), []).append(grade)

    results: dict[tuple[str, str], MasteryResult] = {}
    for (student_id, standard_id), assessed in by_standard.items():
        last = max(assessed, key=order_key)
        results[(student_id, standard_id)] = MasteryResult(
            student_id=student_id,
            standard_id=standard_id,
            mastery_score=_field(last, "score") / 100,
            attempts=len(assessed),
            average_score=fmean(_field(g, "score") for g in assessed) / 100,
            last_assessed_at=_field(last, "timestamp"),
        )
    return results


def class_rollup(
    assigned_pairs: Iterable[Pair],
    graded_latest: Mapping[Pair, Any],
    students: Iterable[str],
    assignments: Iterable[str],
) -> ClassRollup:
    """Rollup of one class.

    `graded_latest` is `latest_grades(...)` of the class; `students` and
    `assignments` are the ids seen on any learning event of the class.
    average_score is the mean of each graded pair's latest score on the 0–100
    scale: SPEC divides by 100 only for mastery, not for the rollup.
    """
    assigned = set(assigned_pairs)
    completion_rate = (
        len(assigned & graded_latest.keys()) / len(assigned) if assigned else None
    )
    average_score = (
        fmean(_field(g, "score") for g in graded_latest.values()) if graded_latest else None
    )
    return ClassRollup(
        student_count=len(set(students)),
        assignment_count=len(set(assignments)),
        completion_rate=completion_rate,
        average_score=average_score,
    )


def risk_flags(
    assigned_pairs: Iterable[Pair],
    graded_latest: Mapping[Pair, Any],
    missing_threshold: int = DEFAULT_MISSING_THRESHOLD,
) -> dict[str, dict[str, Any]]:
    """Risk reasons and details for every student with an assigned pair or a grade in one class.

    `graded_latest` is `latest_grades(...)` of the class. Students with no flag
    are returned with empty `reasons` so their details can be stored too.
    """
    assigned_by_student: dict[str, set[str]] = {}
    for student_id, assignment_id in assigned_pairs:
        assigned_by_student.setdefault(student_id, set()).add(assignment_id)
    latest_by_student: dict[str, list[Any]] = {}
    for (student_id, _), grade in graded_latest.items():
        latest_by_student.setdefault(student_id, []).append(grade)

    rates = {
        student_id: sum((student_id, a) in graded_latest for a in assignment_ids)
        / len(assignment_ids)
        for student_id, assignment_ids in assigned_by_student.items()
    }
    class_median = median(rates.values())

    flags: dict[str, dict[str, Any]] = {}
    for student_id in sorted(assigned_by_student.keys() | latest_by_student.keys()):
        assignment_ids = assigned_by_student.get(student_id, set())
        assigned = len(assignment_ids)
        missing = sum((student_id, a) not in graded_latest for a in assignment_ids)
        effective_threshold = min(missing_threshold, assigned)
        # Trend follows when each assignment's current grade was given, not arrival.
        trend = [
            _field(g, "score")
            for g in sorted(latest_by_student.get(student_id, []), key=order_key)
        ]
        last_two = trend[-2:]
        rate = rates.get(student_id)

        reasons: list[str] = []
        if missing > 0 and missing >= effective_threshold:
            reasons.append(REASON_MISSING_SUBMISSIONS)
        if len(last_two) == 2 and last_two[1] < last_two[0]:
            reasons.append(REASON_SCORE_TREND_DOWN)
        if rate is not None and class_median is not None and rate < class_median:
            reasons.append(REASON_COMPLETION_BELOW_MEDIAN)

        flags[student_id] = {
            "reasons": reasons,
            "details": {
                "assigned": assigned,
                "missing": missing,
                "missing_threshold": effective_threshold,
                "last_two_scores": last_two,
                "completion_rate": rate,
                "class_median_completion_rate": class_median,
            },
        }
    return flags


def exact_score(score: Decimal | float | int) -> Fraction:
    """The exact value of the score's float: `fmean` is `fsum` of these floats ÷ n."""
    return Fraction(float(score))


def student_aggregates(
    assigned_pairs: Iterable[Pair],
    graded_latest: Mapping[Pair, Any],
    students: Iterable[str],
) -> dict[str, StudentAggregate]:
    """Per-student aggregates of one class from its pairs (the reference for the stored aggregates)."""
    assigned = set(assigned_pairs)
    out: dict[str, StudentAggregate] = {}
    for student_id in sorted(set(students) | {s for s, _ in assigned} | {s for s, _ in graded_latest}):
        mine_assigned = {pair for pair in assigned if pair[0] == student_id}
        mine_graded = [g for (s, _), g in graded_latest.items() if s == student_id]
        last_two = sorted(mine_graded, key=order_key)[-2:]
        out[student_id] = StudentAggregate(
            student_id=student_id,
            assigned=len(mine_assigned),
            graded_assigned=len(mine_assigned & graded_latest.keys()),
            graded=len(mine_graded),
            score_sum=sum((exact_score(_field(g, "score")) for g in mine_graded), Fraction(0)),
            last_two_scores=tuple(_field(g, "score") for g in last_two),
        )
    return out
