"""Learning-progress reads (SPEC §3.1, §4): the class dashboard, mastery, timelines, triage, trends, page data.

Visibility is an argument: `teacher_id=None` sees every class; a teacher id sees only
the classes linked to that teacher and the students in them. The triage and trend reads
(`class_triage`, `class_trend`) take it and answer None for "unknown" and "not yours" alike
(one 404); the older reads of one class (`class_dashboard`, `class_risk`, `student_timeline`, …)
expect the caller to have checked `class_visible` (or `class_student_visible`) first.

Ids that break ties in an order (`student_id` in the risk list) compare by code point
(`COLLATE "C"`), whatever the database's locale.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import Date, cast, exists, func, select, text
from sqlalchemy.orm import Session

from tutormax.models.learning import (
    LearningActivity,
    LearningClassRollup,
    LearningClassStandard,
    LearningClassStudent,
    LearningClassTeacher,
    LearningMastery,
    LearningPair,
    LearningRiskFlag,
)
from tutormax.rules.learning import (
    TREND_WEEKS,
    MasteryResult,
    mastery_by_standard,
    mastery_from_totals,
    mastery_score,
    weekly_trend,
)

RECENT_ACTIVITY = 20


def _utc(value: datetime) -> datetime:
    return value.astimezone(timezone.utc)


def _score(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def class_known(session: Session, class_id: str) -> bool:
    return bool(session.scalar(select(exists().where(LearningPair.class_id == class_id))))


def class_linked(session: Session, class_id: str, teacher_id: str) -> bool:
    return bool(session.scalar(select(exists().where(
        LearningClassTeacher.class_id == class_id, LearningClassTeacher.teacher_id == teacher_id))))


def class_visible(session: Session, class_id: str, teacher_id: str | None) -> bool:
    """The class has learning events and, for a teacher (`teacher_id` given), is linked to that teacher."""
    return class_known(session, class_id) if teacher_id is None else class_linked(session, class_id, teacher_id)


def student_visible(session: Session, student_id: str, teacher_id: str | None) -> bool:
    """The student has learning events and, when `teacher_id` is given, is in one of that teacher's classes."""
    condition = exists().where(LearningPair.student_id == student_id)
    if teacher_id is not None:
        condition = exists().where(
            LearningPair.student_id == student_id,
            LearningClassTeacher.class_id == LearningPair.class_id,
            LearningClassTeacher.teacher_id == teacher_id,
        )
    return bool(session.scalar(select(condition)))


# The dashboard in one round trip: it is read far more often than it changes. Numbers
# travel as JSON text and are parsed as Decimal, so they convert exactly as Core rows do.
_CLASS_DASHBOARD = text("""
    SELECT json_build_object(
        'rollup', (SELECT json_build_object(
                       'student_count', student_count, 'assignment_count', assignment_count,
                       'completion_rate', completion_rate, 'average_score', average_score)
                   FROM learning_class_rollups WHERE class_id = :class_id),
        'at_risk', (SELECT coalesce(json_agg(json_build_array(student_id, reasons, severity, priority)
                                             ORDER BY severity DESC, student_id COLLATE "C"), '[]')
                    FROM learning_risk_flags WHERE class_id = :class_id),
        'recent', (SELECT coalesce(json_agg(json_build_array(event_type, student_id, assignment_id, score,
                                                             to_char("timestamp" AT TIME ZONE 'UTC',
                                                                     'YYYY-MM-DD"T"HH24:MI:SS.US'))
                                            ORDER BY "timestamp" DESC, event_pk DESC), '[]')
                   FROM (SELECT * FROM learning_activity WHERE class_id = :class_id
                         ORDER BY "timestamp" DESC, event_pk DESC LIMIT :recent) AS newest),
        'mastery', (SELECT coalesce(json_agg(json_build_array(m.standard_id, m.latest_score)), '[]')
                    FROM learning_mastery m
                    JOIN learning_class_standards cs
                      ON cs.student_id = m.student_id AND cs.standard_id = m.standard_id
                    WHERE cs.class_id = :class_id)
    )::text
""")


def class_dashboard(session: Session, class_id: str, teacher_id: str) -> dict:
    """The dashboard of one class (the caller has checked the class is visible)."""
    raw = session.execute(_CLASS_DASHBOARD, {"class_id": class_id, "recent": RECENT_ACTIVITY}).scalar_one()
    found = json.loads(raw, parse_float=Decimal)
    # Linked but not yet recomputed (its first chain is in flight): an empty class.
    rollup = found["rollup"] or {"student_count": 0, "assignment_count": 0, "completion_rate": None,
                                 "average_score": None}
    return {
        "class_id": class_id,
        "teacher_id": teacher_id,
        "student_count": rollup["student_count"],
        "assignment_count": rollup["assignment_count"],
        "completion_rate": _score(rollup["completion_rate"]),
        "average_score": _score(rollup["average_score"]),
        "at_risk_students": [{"student_id": student, "reasons": list(reasons), "severity": severity,
                              "priority": priority}
                             for student, reasons, severity, priority in found["at_risk"]],
        "recent_activity": [
            {"event_type": kind, "student_id": student, "assignment_id": assignment, "score": _score(score),
             "timestamp": datetime.fromisoformat(utc).replace(tzinfo=timezone.utc)}
            for kind, student, assignment, score, utc in found["recent"]
        ],
        "mastery_by_standard": mastery_by_standard(
            (standard_id, mastery_score(latest)) for standard_id, latest in found["mastery"]),
    }


def _mastery(row) -> MasteryResult:
    """A mastery row (ORM object or Core row with the same columns) as the rule's result."""
    return mastery_from_totals(row.student_id, row.standard_id, row.attempts, row.score_total, row.latest_score,
                               _utc(row.latest_at))


def student_mastery(session: Session, student_id: str) -> list[dict]:
    """The student's mastery per standard, sorted by standard_id."""
    rows = session.scalars(
        select(LearningMastery).where(LearningMastery.student_id == student_id).order_by(LearningMastery.standard_id)
    ).all()
    return [
        {"standard_id": m.standard_id, "mastery_score": m.mastery_score, "attempts": m.attempts,
         "average_score": m.average_score, "last_assessed_at": m.last_assessed_at}
        for m in map(_mastery, rows)
    ]


def student_timeline(session: Session, class_id: str, student_id: str, limit: int) -> list[dict]:
    """The student's learning events in the class, newest first."""
    rows = session.scalars(
        select(LearningActivity)
        .where(LearningActivity.class_id == class_id, LearningActivity.student_id == student_id)
        .order_by(LearningActivity.timestamp.desc(), LearningActivity.event_pk.desc())
        .limit(limit)
    ).all()
    return [
        {"event_type": r.event_type, "assignment_id": r.assignment_id, "standard_ids": list(r.standard_ids),
         "score": _score(r.score), "timestamp": _utc(r.timestamp)}
        for r in rows
    ]


def class_risk(session: Session, class_id: str, priority: str | None = None) -> list[dict]:
    """The class's students with at least one risk reason (or only those of `priority`), by severity
    (highest first), then student_id: reasons, details, severity, priority, explanations."""
    query = select(LearningRiskFlag).where(LearningRiskFlag.class_id == class_id)
    if priority is not None:
        query = query.where(LearningRiskFlag.priority == priority)
    rows = session.scalars(
        query.order_by(LearningRiskFlag.severity.desc(), LearningRiskFlag.student_id.collate("C"))).all()
    return [{"student_id": r.student_id, "reasons": list(r.reasons), "details": r.details, "severity": r.severity,
             "priority": r.priority, "explanations": list(r.explanations)} for r in rows]


def class_triage(session: Session, class_id: str, teacher_id: str | None, priority: str | None = None
                 ) -> list[dict] | None:
    """The risk list of `class_risk`, or None when the class is unknown or not visible to `teacher_id`."""
    return class_risk(session, class_id, priority) if class_visible(session, class_id, teacher_id) else None


def class_student_visible(session: Session, class_id: str, student_id: str, teacher_id: str | None) -> bool:
    """The class is visible to `teacher_id` and the student has a learning event in it."""
    return class_visible(session, class_id, teacher_id) and bool(session.scalar(select(exists().where(
        LearningClassStudent.class_id == class_id, LearningClassStudent.student_id == student_id))))


def class_trend(session: Session, class_id: str, teacher_id: str | None, student_id: str | None = None
                ) -> list[dict] | None:
    """SPEC §3.1 trend of the class (or of one student in it): per ISO week (of the UTC instant) of each
    graded pair's latest grade, `week`, the mean of those grades (`average_score`) and how many (`grades`),
    over the last 12 weeks that have grades, oldest first. A regrade moves its pair to the regrade's week.

    None when the class is unknown or not visible to `teacher_id`, or the student has no event in it.
    """
    visible = (class_visible(session, class_id, teacher_id) if student_id is None
               else class_student_visible(session, class_id, student_id, teacher_id))
    if not visible:
        return None
    week = cast(func.date_trunc("week", func.timezone("UTC", LearningPair.grade_at)), Date).label("week")
    query = (select(week, func.count(), func.sum(LearningPair.grade_score))
             .where(LearningPair.class_id == class_id, LearningPair.grade_event_pk.is_not(None)))
    if student_id is not None:
        query = query.where(LearningPair.student_id == student_id)
    rows = session.execute(query.group_by(week).order_by(week.desc()).limit(TREND_WEEKS)).all()
    return weekly_trend(rows)


# --- page data that has no JSON twin ---------------------------------------------

def class_summaries(db: Session, teacher_id: str | None, page: int, per_page: int) -> tuple[list[dict], int, int]:
    """A page of classes (a teacher's linked classes, or all), newest activity first; the total; the page shown.

    A page past the end shows the last page.
    """
    if teacher_id is None:
        ids = select(LearningClassRollup.class_id).subquery()
    else:
        ids = select(LearningClassTeacher.class_id).where(LearningClassTeacher.teacher_id == teacher_id).subquery()
    total = db.scalar(select(func.count()).select_from(ids)) or 0
    page = min(max(page, 1), max((total + per_page - 1) // per_page, 1))
    # One index probe per class on (class_id, timestamp): cheap however long the history.
    last_activity = (select(func.max(LearningActivity.timestamp))
                     .where(LearningActivity.class_id == ids.c.class_id).scalar_subquery())
    rows = db.execute(
        select(ids.c.class_id, last_activity.label("last_activity"), LearningClassRollup)
        .outerjoin(LearningClassRollup, LearningClassRollup.class_id == ids.c.class_id)
        .order_by(last_activity.desc().nulls_last(), ids.c.class_id)
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    class_ids = [row.class_id for row in rows]
    at_risk = dict(db.execute(
        select(LearningRiskFlag.class_id, func.count())
        .where(LearningRiskFlag.class_id.in_(class_ids)).group_by(LearningRiskFlag.class_id)
    ).all()) if class_ids else {}
    summaries = [
        {
            "class_id": row.class_id,
            "last_activity": row.last_activity,
            "student_count": row.LearningClassRollup.student_count if row.LearningClassRollup else 0,
            "completion_rate": row.LearningClassRollup.completion_rate if row.LearningClassRollup else None,
            "average_score": row.LearningClassRollup.average_score if row.LearningClassRollup else None,
            "at_risk_count": at_risk.get(row.class_id, 0),
        }
        for row in rows
    ]
    return summaries, total, page


def natural_key(value: str) -> list:
    """Sort key that puts `u2` before `u10`, as people expect of numbered ids."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", value)]


def class_mastery_grid(db: Session, class_id: str) -> dict:
    """Students × standards of a class: each student's mastery on the standards graded in the class."""
    students = db.scalars(
        select(LearningPair.student_id).where(LearningPair.class_id == class_id)
        .group_by(LearningPair.student_id).order_by(LearningPair.student_id)
    ).all()
    rows = db.execute(
        select(LearningMastery.student_id, LearningMastery.standard_id, LearningMastery.latest_score)
        .join(LearningClassStandard, (LearningClassStandard.student_id == LearningMastery.student_id)
              & (LearningClassStandard.standard_id == LearningMastery.standard_id))
        .where(LearningClassStandard.class_id == class_id)
    ).all()
    cells = {(m.student_id, m.standard_id): mastery_score(m.latest_score) for m in rows}
    return {"students": sorted(students, key=natural_key),
            "standards": sorted({standard for _, standard in cells}, key=natural_key), "cells": cells}


def class_completion_rates(db: Session, class_id: str) -> dict[str, float]:
    """Per student with ≥1 assigned pair: graded assigned pairs ÷ assigned pairs (SPEC §3.1)."""
    assigned = func.count().filter(LearningPair.assigned)
    graded = func.count().filter(LearningPair.assigned & LearningPair.grade_at.is_not(None))
    rows = db.execute(
        select(LearningPair.student_id, assigned, graded)
        .where(LearningPair.class_id == class_id).group_by(LearningPair.student_id)
    ).all()
    return {student: done / total for student, total, done in rows if total}
