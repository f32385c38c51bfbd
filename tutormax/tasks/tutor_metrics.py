"""Tutor performance metrics (SPEC §3.3): read a tutor's records of the longest window, apply the
window formulas of tutormax.rules.tutoring, upsert the current values and today's history row.

The cost is bounded by the tutor's records of the last 90 days, not by history. Who
calls it and when (debounced, nightly, repaired, rebuilt) is tutormax.tasks.tutoring's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from tutormax.models.tutoring import (
    METRIC_FIELDS,
    SessionFeedback,
    Tutor,
    TutorActivity,
    TutoringSession,
    TutorMetrics,
    TutorMetricsHistory,
)
from tutormax.rules.tutoring import WINDOWS, window_metrics

LONGEST_WINDOW = timedelta(days=max(WINDOWS.values()))


def compute_metrics(session: Session, tutor_ids: Sequence[str], now: datetime) -> dict[str, dict[str, dict]]:
    """{tutor_id: {window: metrics}} from the stored records of the longest window (bounded cost)."""
    start = now - LONGEST_WINDOW
    in_range = (
        TutoringSession.tutor_id.in_(tutor_ids),
        TutoringSession.scheduled_start >= start,
        TutoringSession.scheduled_start < now,
    )
    sessions: dict[str, list[dict]] = defaultdict(list)
    for row in session.execute(
        select(TutoringSession.tutor_id, TutoringSession.session_id, TutoringSession.scheduled_start,
               TutoringSession.session_number, TutoringSession.actual_start, TutoringSession.no_show,
               TutoringSession.tutor_initiated_reschedule, TutoringSession.late_start_minutes,
               TutoringSession.engagement_score, TutoringSession.learning_objectives_met).where(*in_range)
    ).mappings():
        sessions[row["tutor_id"]].append(dict(row))
    feedback: dict[str, list[dict]] = defaultdict(list)
    for tutor_id, session_id, rating in session.execute(
        select(TutoringSession.tutor_id, SessionFeedback.session_id, SessionFeedback.overall_rating)
        .join(TutoringSession, TutoringSession.session_id == SessionFeedback.session_id)
        .where(*in_range)
    ):
        feedback[tutor_id].append({"session_id": session_id, "overall_rating": rating})
    activities: dict[str, list[dict]] = defaultdict(list)
    for tutor_id, activity_type, timestamp, response_time in session.execute(
        select(TutorActivity.tutor_id, TutorActivity.activity_type, TutorActivity.timestamp,
               TutorActivity.response_time_minutes)
        .where(TutorActivity.tutor_id.in_(tutor_ids), TutorActivity.timestamp >= start,
               TutorActivity.timestamp < now)
    ):
        activities[tutor_id].append({"activity_type": activity_type, "timestamp": timestamp,
                                     "metadata": {"response_time_minutes": response_time}})
    return {
        tutor_id: {
            window: window_metrics(sessions[tutor_id], feedback[tutor_id], activities[tutor_id], now, days)
            for window, days in WINDOWS.items()
        }
        for tutor_id in tutor_ids
    }


def store_metrics(session: Session, tutor_ids: Sequence[str], now: datetime) -> None:
    """Upsert the current metrics and today's history row of each tutor and window."""
    if not tutor_ids:
        return
    # Only tutors that still have a record: an erased tutor (SPEC §4 "Privacy") gets no metrics
    # back from a recompute that was already scheduled. FOR SHARE makes the erasure's DELETE of
    # the record wait for this transaction, so its DELETE of the metrics comes after these writes.
    tutor_ids = session.scalars(
        select(Tutor.tutor_id).where(Tutor.tutor_id.in_(list(tutor_ids)))
        .order_by(Tutor.tutor_id).with_for_update(read=True)
    ).all()
    if not tutor_ids:
        return
    computed = compute_metrics(session, tutor_ids, now)
    rows = [
        {"tutor_id": tutor_id, "window": window, **{f: values[f] for f in METRIC_FIELDS}, "computed_at": now}
        for tutor_id, by_window in computed.items()
        for window, values in by_window.items()
    ]
    for model, keys, extra in ((TutorMetrics, ["tutor_id", "window"], {}),
                               (TutorMetricsHistory, ["tutor_id", "window", "day"], {"day": now.date()})):
        stmt = insert(model).values([{**row, **extra} for row in rows])
        stmt = stmt.on_conflict_do_update(
            index_elements=keys,
            set_={c: stmt.excluded[c] for c in (*METRIC_FIELDS, "computed_at")},
            # Two runs racing: the one that read later wins.
            where=model.__table__.c.computed_at <= stmt.excluded.computed_at,
        )
        session.execute(stmt)
