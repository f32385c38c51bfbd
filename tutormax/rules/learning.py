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
from typing import Any, TypeVar

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
    "latest",
    "mastery_by_standard",
    "mastery_from_totals",
    "mastery_score",
    "median",
    "order_key",
    "risk_flags_from_aggregates",
    "rollup_from_aggregates",
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
# one aggregate row per student of the class. These functions give exactly what the
# reference implementations over the pairs give (tests/rules/reference_learning.py).


@dataclass(frozen=True)
class StudentAggregate:
    """One student's pairs in one class, reduced to what the rollup and risk flags need."""

    student_id: str
    # Assigned pairs; assigned pairs that have a grade; graded pairs (assigned or not).
    assigned: int
    graded_assigned: int
    graded: int
    # Exact sum of the graded pairs' latest scores, each taken as the exact value of its
    # float, so the mean comes out bit-for-bit what `fmean` of the floats gives.
    score_sum: Decimal | Fraction | int
    # The latest scores of the two most recently graded pairs, by the grade's (timestamp, seq), older first.
    last_two_scores: tuple[float, ...]


def rollup_from_aggregates(students: Iterable[StudentAggregate], assignment_count: int) -> ClassRollup:
    """The class rollup (SPEC §3.1) from the class's per-student aggregates and its distinct assignment count."""
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
    """Risk reasons and details (SPEC §3.1) for every student of the class with an assigned pair or a grade."""
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
