"""Tutoring reads (SPEC §3.3, §4): the roster, tutor records, window metrics (with their tier flags),
their daily history, sessions.

Each function about one tutor answers None for an unknown tutor; who may read tutors at
all is the web layer's decision (teacher-bound keys may not).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from tutormax.db import utcnow
from tutormax.models.tutoring import (
    METRIC_FIELDS,
    SessionFeedback,
    Tutor,
    TutoringSession,
    TutorMetrics,
    TutorMetricsHistory,
)
from tutormax.rules.tutoring import WINDOWS, tier_flags
from tutormax.schemas.tutoring import FEEDBACK_COLUMNS, ROSTER_METRICS, SESSION_COLUMNS


def _local_iso(moment: datetime | None, offset_minutes: int | None) -> str | None:
    """A stored UTC datetime as RFC 3339 in the offset the producer sent."""
    if moment is None:
        return None
    return moment.astimezone(timezone(timedelta(minutes=offset_minutes or 0))).isoformat()


def _tutor_known(session: Session, tutor_id: str) -> bool:
    return session.scalar(select(Tutor.tutor_id).where(Tutor.tutor_id == tutor_id)) is not None


def _metric_values(row: TutorMetrics | TutorMetricsHistory | None) -> dict:
    """The window's metrics and the tier table's green and red flags (by the rule the tier was given by);
    every value null when it has not been computed yet."""
    values = {name: None if row is None else getattr(row, name) for name in METRIC_FIELDS}
    green, red = (None, None) if row is None else tier_flags(values)
    return {**values, "green_flags": green, "red_flags": red, "computed_at": None if row is None else row.computed_at}


def tutor_record(session: Session, tutor_id: str) -> dict | None:
    """The tutor record with its derived fields, or None when unknown."""
    tutor = session.get(Tutor, tutor_id)
    if tutor is None:
        return None
    return {
        **{c.key: getattr(tutor, c.key) for c in Tutor.__table__.columns
           if c.key not in ("event_timestamp", "event_pk")},
        "updated_at": tutor.event_timestamp,
    }


def tutor_metrics(session: Session, tutor_id: str, windows: list[str]) -> dict | None:
    """The tutor's current metrics for each of `windows` (all values null until computed); None when unknown."""
    if not _tutor_known(session, tutor_id):
        return None
    rows = {
        row.window: row
        for row in session.scalars(
            select(TutorMetrics).where(TutorMetrics.tutor_id == tutor_id, TutorMetrics.window.in_(windows))
        )
    }
    return {"tutor_id": tutor_id, "windows": {w: _metric_values(rows.get(w)) for w in windows}}


def tutor_metrics_history(session: Session, tutor_id: str, window: str, days: int) -> dict | None:
    """One row per UTC day of the last `days` days for `window`, oldest first; None when unknown."""
    since = utcnow().date() - timedelta(days=days - 1)
    if not _tutor_known(session, tutor_id):
        return None
    rows = session.scalars(
        select(TutorMetricsHistory)
        .where(TutorMetricsHistory.tutor_id == tutor_id, TutorMetricsHistory.window == window,
               TutorMetricsHistory.day >= since)
        .order_by(TutorMetricsHistory.day)
    ).all()
    return {"tutor_id": tutor_id, "window": window, "days": days,
            "history": [{"day": row.day, **_metric_values(row)} for row in rows]}


def _feedback(row: SessionFeedback | None) -> dict | None:
    if row is None:
        return None
    return {
        **{name: getattr(row, name) for name in FEEDBACK_COLUMNS},
        "improvement_areas": row.improvement_areas or [],
        "submitted_at": _local_iso(row.submitted_at, row.submitted_at_offset_minutes),
    }


def tutor_sessions(session: Session, tutor_id: str, limit: int) -> dict | None:
    """The tutor's enriched sessions, newest scheduled_start first, each with its feedback; None when unknown."""
    if not _tutor_known(session, tutor_id):
        return None
    rows = session.execute(
        select(TutoringSession, SessionFeedback)
        .outerjoin(SessionFeedback, SessionFeedback.session_id == TutoringSession.session_id)
        .where(TutoringSession.tutor_id == tutor_id)
        .order_by(TutoringSession.scheduled_start.desc(), TutoringSession.session_id.desc())
        .limit(limit)
    ).all()
    sessions = [
        {
            **{name: getattr(s, name) for name in SESSION_COLUMNS},
            "scheduled_start": _local_iso(s.scheduled_start, s.scheduled_start_offset_minutes),
            "actual_start": _local_iso(s.actual_start, s.actual_start_offset_minutes),
            "feedback": _feedback(f),
        }
        for s, f in rows
    ]
    return {"tutor_id": tutor_id, "sessions": sessions}


ROSTER_WINDOW = "30day"


def _like_pattern(text: str) -> str:
    """`%text%` for LIKE with `\\` as escape: `%`, `_` and `\\` in `text` match themselves."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def tutor_roster(session: Session, tier: str | None = None, q: str | None = None, sort: str = "tutor_id",
                 limit: int = 50, offset: int = 0) -> dict:
    """A page of tutors with each window's tier and key metrics and the 30-day red flags:
    `{"tutors": [...], "pagination": {"limit", "offset", "total"}}`.

    `tier` keeps the tutors whose 30-day tier it is; `q` keeps those whose id or name holds it
    (case-insensitive); `sort` is `tutor_id` or a key metric of the 30-day window, `-` first for
    descending, nulls last either way, ties by tutor_id. One statement (the total is a window
    count over the matches), plus a count when the page lies past the end.
    """
    metrics = {window: aliased(TutorMetrics, name=f"metrics_{window}") for window in WINDOWS}
    columns = [Tutor.tutor_id, Tutor.name, Tutor.status]
    for window, m in metrics.items():
        columns += [getattr(m, name).label(f"{window}.{name}") for name in ("performance_tier", *ROSTER_METRICS)]
    query = select(*columns).select_from(Tutor)
    for window, m in metrics.items():
        query = query.outerjoin(m, (m.tutor_id == Tutor.tutor_id) & (m.window == window))
    main = metrics[ROSTER_WINDOW]
    if tier is not None:
        query = query.where(main.performance_tier == tier)
    if q:
        pattern = _like_pattern(q)
        query = query.where(Tutor.tutor_id.ilike(pattern, escape="\\") | Tutor.name.ilike(pattern, escape="\\"))

    key = sort.removeprefix("-")
    descending = sort.startswith("-")
    by_id = Tutor.tutor_id.collate("C")  # code point order, whatever the database's locale
    if key == "tutor_id":
        order = [by_id.desc() if descending else by_id]
    elif key in ROSTER_METRICS:
        column = getattr(main, key)
        order = [(column.desc() if descending else column.asc()).nulls_last(), by_id]
    else:
        raise ValueError(f"cannot sort the roster by {sort!r}")
    rows = session.execute(
        query.add_columns(func.count().over().label("total")).order_by(*order).limit(limit).offset(offset)
    ).mappings().all()
    if rows:
        total = rows[0]["total"]
    else:
        total = session.scalar(select(func.count()).select_from(query.subquery())) if offset else 0

    tutors = []
    for row in rows:
        windows = {window: {name: row[f"{window}.{name}"] for name in ("performance_tier", *ROSTER_METRICS)}
                   for window in WINDOWS}
        computed = windows[ROSTER_WINDOW]["performance_tier"] is not None
        tutors.append({"tutor_id": row["tutor_id"], "name": row["name"], "status": row["status"],
                       "red_flags": tier_flags(windows[ROSTER_WINDOW])[1] if computed else None,
                       "windows": windows})
    return {"tutors": tutors, "pagination": {"limit": limit, "offset": offset, "total": total}}
