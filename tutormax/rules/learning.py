"""Learning-progress formulas of SPEC §3.1 as pure functions over plain data.

Inputs are mappings (rows loaded as dicts) or objects with the same attributes,
e.g. :class:`Grade`. Keys read: ``student_id``, ``assignment_id``,
``standard_ids``, ``score`` (0–100), ``timestamp`` (aware datetime) and ``seq``
(the event's database id, i.e. arrival order).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from statistics import fmean
from typing import Any, Callable, TypeVar

__all__ = [
    "DEFAULT_MISSING_THRESHOLD",
    "REASON_COMPLETION_BELOW_MEDIAN",
    "REASON_MISSING_SUBMISSIONS",
    "REASON_SCORE_TREND_DOWN",
    "ClassRollup",
    "Grade",
    "MasteryResult",
    "Pair",
    "StudentAggregate",
    "class_rollup",
    "compute_mastery",
    "exact_score",
    "latest",
    "latest_by",
    "latest_grades",
    "mastery_by_standard",
    "mastery_from_totals",
    "mastery_score",
    "median",
    "order_key",
    "risk_flags",
    "risk_flags_from_aggregates",
    "rollup_from_aggregates",
    "student_aggregates",
]

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

# (student_id, assignment_id)
Pair = tuple[str, str]

DEFAULT_MISSING_THRESHOLD = 3

REASON_MISSING_SUBMISSIONS = "missing_submissions"
REASON_SCORE_TREND_DOWN = "score_trend_down"
REASON_COMPLETION_BELOW_MEDIAN = "completion_below_median"


@dataclass(frozen=True)
class Grade:
    """One SUBMISSION_GRADED event, as the rules need it."""

    student_id: str
    assignment_id: str
    standard_ids: tuple[str, ...]
    score: float
    timestamp: datetime
    seq: int


@dataclass(frozen=True)
class MasteryResult:
    """Mastery of one student on one standard (scores on the 0–1 scale)."""

    student_id: str
    standard_id: str
    mastery_score: float
    attempts: int
    average_score: float
    last_assessed_at: datetime


@dataclass(frozen=True)
class ClassRollup:
    """Class rollup; average_score stays on the 0–100 scale of the grades."""

    student_count: int
    assignment_count: int
    completion_rate: float | None
    average_score: float | None


def _field(item: Any, name: str) -> Any:
    """Read `name` from a mapping row or an object attribute."""
    if isinstance(item, Mapping):
        return item[name]
    return getattr(item, name)


def order_key(item: Any) -> tuple[datetime, int]:
    """Sort key for "latest": event timestamp, ties broken by arrival (seq)."""
    timestamp = _field(item, "timestamp")
    # Comparing naive with aware datetimes raises only sometimes; refuse early.
    if timestamp.tzinfo is None or timestamp.utcoffset() is None:
        raise ValueError("timestamp must be timezone-aware")
    return timestamp, int(_field(item, "seq"))


def latest(items: Iterable[T]) -> T | None:
    """The latest item by (timestamp, seq), or None when there is none."""
    return max(items, key=order_key, default=None)


def latest_by(items: Iterable[T], key: Callable[[T], K]) -> dict[K, T]:
    """The latest item by (timestamp, seq) within each group of `key`."""
    winners: dict[K, T] = {}
    for item in items:
        group = key(item)
        current = winners.get(group)
        if current is None or order_key(item) > order_key(current):
            winners[group] = item
    return winners


def latest_grades(grades: Iterable[T]) -> dict[Pair, T]:
    """Each (student_id, assignment_id) pair's latest grade; a regrade replaces the earlier one."""
    return latest_by(grades, lambda g: (_field(g, "student_id"), _field(g, "assignment_id")))


def median(values: Iterable[float]) -> float | None:
    """True median (mean of the two middle values for an even count); None when empty."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return None
    middle = n // 2
    if n % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


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


def mastery_score(latest_score: Decimal | float | int) -> float:
    """SPEC §3.1 `mastery_score`: the latest graded score ÷ 100, rounded once to a float.

    Dividing a Decimal by 100 only moves its exponent and a float division is
    correctly rounded, so this equals the exact quotient rounded once, without
    the cost of a Fraction (dashboards compute it for every student × standard).
    """
    return float(latest_score / 100)


def mastery_from_totals(
    student_id: str,
    standard_id: str,
    attempts: int,
    score_total: Decimal | float | int,
    latest_score: Decimal | float | int,
    last_assessed_at: datetime,
) -> MasteryResult:
    """Mastery from running totals: the exact sum of the attempts' scores and the latest score.

    The division is exact then rounded once, so the result does not depend on the
    order in which the totals were accumulated.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    return MasteryResult(
        student_id=student_id,
        standard_id=standard_id,
        mastery_score=mastery_score(latest_score),
        attempts=attempts,
        average_score=float(Fraction(score_total) / (attempts * 100)),
        last_assessed_at=last_assessed_at,
    )


def mastery_by_standard(masteries: Iterable[tuple[str, float]]) -> list[dict[str, Any]]:
    """Per standard: the mean mastery_score of the given (standard_id, mastery_score) rows
    and how many there are, sorted by standard_id."""
    by_standard: dict[str, list[float]] = {}
    for standard_id, score in masteries:
        by_standard.setdefault(standard_id, []).append(score)
    return [
        {"standard_id": standard_id, "average_mastery": fmean(scores), "students": len(scores)}
        for standard_id, scores in sorted(by_standard.items())
    ]


# --- the same views from per-student aggregates -------------------------------
#
# The class recompute does not load one row per (student, assignment) pair: it reads
# one aggregate row per student of the class. These functions give exactly what
# `class_rollup` and `risk_flags` (the reference) give for the pairs behind them.


@dataclass(frozen=True)
class StudentAggregate:
    """One student's pairs in one class, reduced to what the rollup and risk flags need."""

    student_id: str
    # Assigned pairs; assigned pairs that have a grade; graded pairs (assigned or not).
    assigned: int
    graded_assigned: int
    graded: int
    # Exact sum of the graded pairs' latest scores, each taken as the float the reference
    # averages (see `exact_score`), so the mean comes out bit-for-bit the same.
    score_sum: Decimal | Fraction | int
    # The latest scores of the two most recently graded pairs, by the grade's (timestamp, seq), older first.
    last_two_scores: tuple[float, ...]


def exact_score(score: Decimal | float | int) -> Fraction:
    """The exact value of the score's float: the reference's `fmean` is `fsum` of these floats ÷ n."""
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


def rollup_from_aggregates(students: Iterable[StudentAggregate], assignment_count: int) -> ClassRollup:
    """`class_rollup` from the class's per-student aggregates and its distinct assignment count."""
    rows = list(students)
    assigned = sum(s.assigned for s in rows)
    graded = sum(s.graded for s in rows)
    # fsum rounds the exact sum of the floats once; so does float() of the exact Fraction.
    total = sum((Fraction(s.score_sum) for s in rows), Fraction(0))
    return ClassRollup(
        student_count=len({s.student_id for s in rows}),
        assignment_count=assignment_count,
        completion_rate=sum(s.graded_assigned for s in rows) / assigned if assigned else None,
        average_score=float(total) / graded if graded else None,
    )


def risk_flags_from_aggregates(
    students: Iterable[StudentAggregate],
    missing_threshold: int = DEFAULT_MISSING_THRESHOLD,
) -> dict[str, dict[str, Any]]:
    """`risk_flags` from the class's per-student aggregates: same students, reasons and details."""
    rows = sorted((s for s in students if s.assigned or s.graded), key=lambda s: s.student_id)
    rates = {s.student_id: s.graded_assigned / s.assigned for s in rows if s.assigned}
    class_median = median(rates.values())

    flags: dict[str, dict[str, Any]] = {}
    for s in rows:
        missing = s.assigned - s.graded_assigned
        effective_threshold = min(missing_threshold, s.assigned)
        last_two = list(s.last_two_scores)
        rate = rates.get(s.student_id)

        reasons: list[str] = []
        if missing > 0 and missing >= effective_threshold:
            reasons.append(REASON_MISSING_SUBMISSIONS)
        if len(last_two) == 2 and last_two[1] < last_two[0]:
            reasons.append(REASON_SCORE_TREND_DOWN)
        if rate is not None and class_median is not None and rate < class_median:
            reasons.append(REASON_COMPLETION_BELOW_MEDIAN)

        flags[s.student_id] = {
            "reasons": reasons,
            "details": {
                "assigned": s.assigned,
                "missing": missing,
                "missing_threshold": effective_threshold,
                "last_two_scores": last_two,
                "completion_rate": rate,
                "class_median_completion_rate": class_median,
            },
        }
    return flags
