"""Reference implementations of SPEC §3.1 over plain pairs and grades, for the tests only.

Production computes the same views from stored per-student aggregates
(tutormax.rules.learning `rollup_from_aggregates`, `risk_flags_from_aggregates`);
these straightforward versions are the oracle the property tests hold them against.
They take only the result types and reason names from production, never its logic:
"latest", the median, the severity and the sentences are worked out here again, the
plain way (grades in lists, `statistics.median`, `Decimal` rounding for the text).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from statistics import fmean
from typing import Any

from tutormax.rules.learning import (
    DEFAULT_MISSING_THRESHOLD,
    REASON_COMPLETION_BELOW_MEDIAN,
    REASON_LOW_MASTERY,
    REASON_MISSING_SUBMISSIONS,
    REASON_SCORE_TREND_DOWN,
    ClassRollup,
    MasteryResult,
    Pair,
    StudentAggregate,
)


def get(row: Any, name: str) -> Any:
    """A field of a dict row or of a dataclass row."""
    return row[name] if isinstance(row, Mapping) else getattr(row, name)


def when(row: Any) -> tuple:
    """Grades are ordered by timestamp; the database id (`seq`) settles exact ties."""
    return (get(row, "timestamp"), get(row, "seq"))


def latest_grades(grades: Iterable[Any]) -> dict[Pair, Any]:
    """Each (student_id, assignment_id) pair's latest grade; a regrade replaces the earlier one."""
    by_pair: dict[Pair, list[Any]] = {}
    for grade in grades:
        by_pair.setdefault((get(grade, "student_id"), get(grade, "assignment_id")), []).append(grade)
    return {pair: sorted(found, key=when)[-1] for pair, found in by_pair.items()}


def latest_per_standard(grades: Iterable[Any]) -> dict[tuple[str, str], list[Any]]:
    """Per (student_id, standard_id): its grades oldest first (a standard listed twice on an event counts once)."""
    assessed: dict[tuple[str, str], list[Any]] = {}
    for grade in grades:
        for standard_id in set(get(grade, "standard_ids")):
            assessed.setdefault((get(grade, "student_id"), standard_id), []).append(grade)
    return {key: sorted(found, key=when) for key, found in assessed.items()}


def compute_mastery(grades: Iterable[Any]) -> dict[tuple[str, str], MasteryResult]:
    """Mastery per (student_id, standard_id) from graded events of any class."""
    results: dict[tuple[str, str], MasteryResult] = {}
    for (student_id, standard_id), assessed in latest_per_standard(grades).items():
        results[(student_id, standard_id)] = MasteryResult(
            student_id=student_id,
            standard_id=standard_id,
            mastery_score=get(assessed[-1], "score") / 100,
            attempts=len(assessed),
            average_score=fmean(get(g, "score") for g in assessed) / 100,
            last_assessed_at=get(assessed[-1], "timestamp"),
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
        fmean(get(g, "score") for g in graded_latest.values()) if graded_latest else None
    )
    return ClassRollup(
        student_count=len(set(students)),
        assignment_count=len(set(assignments)),
        completion_rate=completion_rate,
        average_score=average_score,
    )


def written(score: float | int) -> Fraction:
    """A score as the producer wrote it (JSON numbers arrive as floats; their repr is what was sent)."""
    return Fraction(str(score))


def class_masteries(class_grades: list[Any], all_grades: list[Any]) -> dict[str, list[Fraction]]:
    """Per student: the latest score (÷ 100, exact) of every standard graded in this class,
    taken across all classes' grades."""
    latest = latest_per_standard(all_grades)
    standards: dict[str, set[str]] = {}
    for grade in class_grades:
        standards.setdefault(get(grade, "student_id"), set()).update(get(grade, "standard_ids"))
    return {
        student_id: [written(get(latest[(student_id, s)][-1], "score")) / 100 for s in sorted(mine)]
        for student_id, mine in standards.items()
    }


def rounded(value: Fraction, quantum: str) -> str:
    """Half-up rounding to `quantum` ("1" or "0.01"), written without trailing zeros."""
    with localcontext() as ctx:
        ctx.prec = 60
        text = format((Decimal(value.numerator) / Decimal(value.denominator))
                      .quantize(Decimal(quantum), rounding=ROUND_HALF_UP), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def risk_flags(
    assigned_pairs: Iterable[Pair],
    class_grades: Iterable[Any],
    missing_threshold: int = DEFAULT_MISSING_THRESHOLD,
    other_class_grades: Iterable[Any] = (),
    low_mastery: Fraction = Fraction(3, 5),
) -> dict[str, dict[str, Any]]:
    """Triage of every student with an assigned pair or a grade in one class: reasons, details,
    severity, priority, explanations. `other_class_grades` only move mastery (it is across classes).

    Students with no reason are returned too, with empty `reasons`.
    """
    class_grades = list(class_grades)
    graded_latest = latest_grades(class_grades)
    masteries = class_masteries(class_grades, class_grades + list(other_class_grades))
    assigned_by_student: dict[str, set[str]] = {}
    for student_id, assignment_id in assigned_pairs:
        assigned_by_student.setdefault(student_id, set()).add(assignment_id)

    rates = {
        student_id: Fraction(sum((student_id, a) in graded_latest for a in assignment_ids), len(assignment_ids))
        for student_id, assignment_ids in assigned_by_student.items()
    }
    class_median = statistics.median(rates.values()) if rates else None
    graded_students = {student_id for student_id, _ in graded_latest}

    flags: dict[str, dict[str, Any]] = {}
    for student_id in sorted(assigned_by_student.keys() | graded_students):
        assignment_ids = assigned_by_student.get(student_id, set())
        assigned = len(assignment_ids)
        missing = len([a for a in assignment_ids if (student_id, a) not in graded_latest])
        # Trend follows when each assignment's current grade was given, not arrival.
        mine = sorted((g for (s, _), g in graded_latest.items() if s == student_id), key=when)
        last_two = [get(g, "score") for g in mine[-2:]]
        drop = written(last_two[0]) - written(last_two[1]) if len(last_two) == 2 else Fraction(0)
        rate = rates.get(student_id)
        mastery = masteries.get(student_id, [])
        mean_mastery = sum(mastery, Fraction(0)) / len(mastery) if mastery else None

        found: list[tuple[str, str]] = []
        if missing and missing >= min(missing_threshold, assigned):
            found.append((REASON_MISSING_SUBMISSIONS, f"{missing} of {assigned} assigned pairs not graded"))
        if drop > 0:
            found.append((REASON_SCORE_TREND_DOWN, "last grade {} after {} (−{})".format(
                rounded(written(last_two[1]), "0.01"), rounded(written(last_two[0]), "0.01"),
                rounded(drop, "0.01"))))
        if rate is not None and rate < class_median:
            found.append((REASON_COMPLETION_BELOW_MEDIAN, "completion {} % vs class median {} %".format(
                rounded(rate * 100, "1"), rounded(class_median * 100, "1"))))
        if len(mastery) > 1 and mean_mastery < low_mastery:
            found.append((REASON_LOW_MASTERY, "mean mastery {} % over {} standards".format(
                rounded(mean_mastery * 100, "1"), len(mastery))))

        # Severity in hundredths of a point: 35·m + 20·t + 20·c + 25·k, each part 0–1.
        m = Fraction(missing, assigned) if assigned else 0
        t = min(drop / 30, 1) if drop > 0 else 0
        c = max(class_median - rate, 0) if rate is not None else 0
        k = max((Fraction(7, 10) - mean_mastery) / Fraction(7, 10), 0) if len(mastery) > 1 else 0
        points = 35 * m + 20 * t + 20 * c + 25 * k
        severity = int(points) + (1 if points - int(points) >= Fraction(1, 2) else 0)

        flags[student_id] = {
            "reasons": [reason for reason, _ in found],
            "details": {
                "assigned": assigned,
                "missing": missing,
                "missing_threshold": min(missing_threshold, assigned),
                "last_two_scores": last_two,
                "completion_rate": None if rate is None else float(rate),
                "class_median_completion_rate": None if class_median is None else float(class_median),
                "mean_mastery": None if mean_mastery is None else float(mean_mastery),
                "mastery_standards": len(mastery),
            },
            "severity": severity,
            "priority": "high" if severity >= 40 else "medium" if severity >= 20 else "low",
            "explanations": [sentence for _, sentence in found],
        }
    return flags


def exact_score(score: Decimal | float | int) -> Fraction:
    """The exact value of the score's float: `fmean` is `fsum` of these floats ÷ n."""
    return Fraction(float(score))


def student_aggregates(
    assigned_pairs: Iterable[Pair],
    class_grades: Iterable[Any],
    students: Iterable[str],
    other_class_grades: Iterable[Any] = (),
) -> dict[str, StudentAggregate]:
    """Per-student aggregates of one class from its pairs (the reference for the stored aggregates)."""
    class_grades = list(class_grades)
    graded_latest = latest_grades(class_grades)
    masteries = class_masteries(class_grades, class_grades + list(other_class_grades))
    assigned = set(assigned_pairs)
    out: dict[str, StudentAggregate] = {}
    for student_id in sorted(set(students) | {s for s, _ in assigned} | {s for s, _ in graded_latest}):
        mine_assigned = {pair for pair in assigned if pair[0] == student_id}
        mine_graded = [g for (s, _), g in graded_latest.items() if s == student_id]
        last_two = sorted(mine_graded, key=when)[-2:]
        mastery = masteries.get(student_id, [])
        out[student_id] = StudentAggregate(
            student_id=student_id,
            assigned=len(mine_assigned),
            graded_assigned=len(mine_assigned & graded_latest.keys()),
            graded=len(mine_graded),
            score_sum=sum((exact_score(get(g, "score")) for g in mine_graded), Fraction(0)),
            last_two_scores=tuple(get(g, "score") for g in last_two),
            mastery_standards=len(mastery),
            mastery_score_sum=sum(mastery, Fraction(0)) * 100,
        )
    return out
