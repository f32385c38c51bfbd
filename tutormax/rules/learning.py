"""Learning-progress formulas of SPEC §3.1 as pure functions over plain data.

Inputs are mappings (rows loaded as dicts) or objects with the same attributes,
e.g. :class:`Grade`. Keys read: ``student_id``, ``assignment_id``,
``standard_ids``, ``score`` (0–100), ``timestamp`` (aware datetime) and ``seq``
(the event's database id, i.e. arrival order).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from statistics import fmean
from typing import Any, TypeVar

__all__ = [
    "DEFAULT_LOW_MASTERY",
    "DEFAULT_MISSING_THRESHOLD",
    "PRIORITIES",
    "REASON_COMPLETION_BELOW_MEDIAN",
    "REASON_LOW_MASTERY",
    "REASON_MISSING_SUBMISSIONS",
    "REASON_SCORE_TREND_DOWN",
    "TREND_WEEKS",
    "ClassRollup",
    "Grade",
    "MasteryResult",
    "Pair",
    "SeverityParts",
    "StudentAggregate",
    "iso_week",
    "latest",
    "mastery_by_standard",
    "mastery_from_totals",
    "mastery_score",
    "median",
    "order_key",
    "priority",
    "risk_flags_from_aggregates",
    "rollup_from_aggregates",
    "severity",
    "weekly_trend",
]

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

# (student_id, assignment_id)
Pair = tuple[str, str]

DEFAULT_MISSING_THRESHOLD = 3

REASON_MISSING_SUBMISSIONS = "missing_submissions"
REASON_SCORE_TREND_DOWN = "score_trend_down"
REASON_COMPLETION_BELOW_MEDIAN = "completion_below_median"
REASON_LOW_MASTERY = "low_mastery"

DEFAULT_LOW_MASTERY = 0.6

PRIORITY_HIGH, PRIORITY_MEDIUM, PRIORITY_LOW = "high", "medium", "low"
PRIORITIES = (PRIORITY_HIGH, PRIORITY_MEDIUM, PRIORITY_LOW)

# How many of the most recent weeks that have grades a trend shows.
TREND_WEEKS = 12


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


def median(values: Iterable[T]) -> T | float | None:
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
    """One student's pairs in one class, reduced to what the rollup and the triage need."""

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
    # The standards the student was graded on in this class, with their mastery across all
    # classes: how many, and the exact sum of their latest scores (0–100).
    mastery_standards: int = 0
    mastery_score_sum: Decimal | Fraction | int = 0


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


# --- triage: severity, priority and explanations (SPEC §3.1) ---------------------

# A drop of this many points between the last two grades makes the trend component 1.
TREND_DROP_FOR_FULL_WEIGHT = 30
# Mean mastery at or above this adds nothing to severity.
MASTERY_TARGET = Fraction(7, 10)


def exact(value: Decimal | Fraction | float | int) -> Fraction:
    """The number as an exact fraction; a float as its shortest repr, i.e. as it was written in JSON."""
    return Fraction(repr(value)) if isinstance(value, float) else Fraction(value)


def _half_up(value: Fraction, places: int = 0) -> str:
    """A non-negative value rounded half up to at most `places` decimals, without trailing zeros."""
    text = f"{Decimal(math.floor(value * 10**places + Fraction(1, 2))).scaleb(-places):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def percent_text(share: Fraction) -> str:
    """A 0–1 share as whole percent, halves rounded up: 0.125 → "13"."""
    return _half_up(share * 100)


def score_text(score: Fraction) -> str:
    """A 0–100 score with at most 2 decimals, halves rounded up: 62.5 → "62.5", 62.125 → "62.13", 62.0 → "62"."""
    return _half_up(score, 2)


@dataclass(frozen=True)
class SeverityParts:
    """The four components of SPEC §3.1's severity, each exact and within 0–1."""

    missing: Fraction = Fraction(0)  # m = missing ÷ assigned
    trend: Fraction = Fraction(0)  # t = min(1, drop ÷ 30)
    completion: Fraction = Fraction(0)  # c = max(0, class median rate − the student's rate)
    mastery: Fraction = Fraction(0)  # k = max(0, (0.7 − mean mastery) ÷ 0.7)


def severity(parts: SeverityParts) -> int:
    """100 × (0.35·m + 0.20·t + 0.20·c + 0.25·k), computed exactly and rounded half up (0–100)."""
    weighted = (Fraction(35, 100) * parts.missing + Fraction(20, 100) * parts.trend
                + Fraction(20, 100) * parts.completion + Fraction(25, 100) * parts.mastery)
    return math.floor(100 * weighted + Fraction(1, 2))


def priority(severity_value: int) -> str:
    """`high` from severity 40, `medium` from 20, else `low`."""
    if severity_value >= 40:
        return PRIORITY_HIGH
    if severity_value >= 20:
        return PRIORITY_MEDIUM
    return PRIORITY_LOW


@dataclass(frozen=True)
class _Figures:
    """One student's exact figures in one class: what the reasons, severity and explanations read."""

    assigned: int
    missing: int
    rate: Fraction | None  # graded assigned pairs ÷ assigned pairs; None without assigned pairs
    class_median: Fraction | None
    last_two: tuple[Fraction, ...]  # older first
    mastery_standards: int
    mean_mastery: Fraction | None  # over mastery_standards; None when there are none

    @property
    def drop(self) -> Fraction:
        """The previous minus the last grade (0 with fewer than two)."""
        return self.last_two[0] - self.last_two[1] if len(self.last_two) == 2 else Fraction(0)

    def severity_parts(self) -> SeverityParts:
        rated = self.rate is not None and self.class_median is not None
        mastered = self.mastery_standards >= 2 and self.mean_mastery is not None
        return SeverityParts(
            missing=Fraction(self.missing, self.assigned) if self.assigned else Fraction(0),
            trend=min(Fraction(1), self.drop / TREND_DROP_FOR_FULL_WEIGHT) if self.drop > 0 else Fraction(0),
            completion=max(Fraction(0), self.class_median - self.rate) if rated else Fraction(0),
            mastery=max(Fraction(0), (MASTERY_TARGET - self.mean_mastery) / MASTERY_TARGET) if mastered
            else Fraction(0),
        )


def _explanation(reason: str, figures: _Figures) -> str:
    """One sentence with the numbers behind `reason`, in SPEC §3.1's words."""
    if reason == REASON_MISSING_SUBMISSIONS:
        return f"{figures.missing} of {figures.assigned} assigned pairs not graded"
    if reason == REASON_SCORE_TREND_DOWN:
        before, last = figures.last_two
        return f"last grade {score_text(last)} after {score_text(before)} (−{score_text(figures.drop)})"
    if reason == REASON_COMPLETION_BELOW_MEDIAN:
        return f"completion {percent_text(figures.rate)} % vs class median {percent_text(figures.class_median)} %"
    if reason == REASON_LOW_MASTERY:
        return f"mean mastery {percent_text(figures.mean_mastery)} % over {figures.mastery_standards} standards"
    raise ValueError(f"unknown risk reason {reason!r}")


def _reasons(figures: _Figures, missing_threshold: int, low_mastery: Fraction) -> list[str]:
    """The seed's three risk reasons exactly as before, then low_mastery."""
    reasons: list[str] = []
    if figures.missing > 0 and figures.missing >= min(missing_threshold, figures.assigned):
        reasons.append(REASON_MISSING_SUBMISSIONS)
    if figures.drop > 0:
        reasons.append(REASON_SCORE_TREND_DOWN)
    if figures.rate is not None and figures.class_median is not None and figures.rate < figures.class_median:
        reasons.append(REASON_COMPLETION_BELOW_MEDIAN)
    if figures.mastery_standards >= 2 and figures.mean_mastery is not None and figures.mean_mastery < low_mastery:
        reasons.append(REASON_LOW_MASTERY)
    return reasons


def risk_flags_from_aggregates(
    students: Iterable[StudentAggregate],
    missing_threshold: int = DEFAULT_MISSING_THRESHOLD,
    low_mastery: float | Decimal | Fraction = DEFAULT_LOW_MASTERY,
) -> dict[str, dict[str, Any]]:
    """Triage (SPEC §3.1) of every student of the class with an assigned pair or a grade, by student_id:
    `reasons`, `details` (the figures behind them), `severity`, `priority` and `explanations`.

    All arithmetic is exact (fractions of the scores as written), so a reason, its
    severity component and its sentence never disagree.
    """
    rows = sorted((s for s in students if s.assigned or s.graded), key=lambda s: s.student_id)
    rates = {s.student_id: Fraction(s.graded_assigned, s.assigned) for s in rows if s.assigned}
    class_median = median(rates.values())
    threshold = exact(low_mastery)

    flags: dict[str, dict[str, Any]] = {}
    for s in rows:
        figures = _Figures(
            assigned=s.assigned,
            missing=s.assigned - s.graded_assigned,
            rate=rates.get(s.student_id),
            class_median=class_median,
            last_two=tuple(exact(score) for score in s.last_two_scores),
            mastery_standards=s.mastery_standards,
            mean_mastery=(exact(s.mastery_score_sum) / (100 * s.mastery_standards)
                          if s.mastery_standards else None),
        )
        reasons = _reasons(figures, missing_threshold, threshold)
        score = severity(figures.severity_parts())
        flags[s.student_id] = {
            "reasons": reasons,
            "details": {
                "assigned": s.assigned,
                "missing": figures.missing,
                "missing_threshold": min(missing_threshold, s.assigned),
                "last_two_scores": list(s.last_two_scores),
                "completion_rate": None if figures.rate is None else float(figures.rate),
                "class_median_completion_rate": None if class_median is None else float(class_median),
                "mean_mastery": None if figures.mean_mastery is None else float(figures.mean_mastery),
                "mastery_standards": s.mastery_standards,
            },
            "severity": score,
            "priority": priority(score),
            "explanations": [_explanation(reason, figures) for reason in reasons],
        }
    return flags


# --- trend (SPEC §3.1) ------------------------------------------------------------


def iso_week(day: date) -> str:
    """The ISO week of a (UTC) day as `YYYY-Www`: 2026-12-31 → 2026-W53, 2027-01-04 → 2027-W01."""
    year, week, _ = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


def weekly_trend(weeks: Iterable[tuple[date, int, Decimal | Fraction | int]]) -> list[dict[str, Any]]:
    """Trend rows from (a UTC day of the ISO week, graded pairs, exact sum of their latest scores),
    in chronological order: `week`, `average_score` (exact mean rounded once, 0–100), `grades`."""
    return [
        {"week": iso_week(day), "average_score": float(exact(total) / grades), "grades": grades}
        for day, grades, total in sorted(weeks, key=lambda row: row[0])
        if grades
    ]
