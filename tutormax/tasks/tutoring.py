"""Tutoring (SPEC §3.3): stage handlers, the debounced tutor-metrics recompute and the nightly job.

Chain stages:
- enrich: referential check. A session or activity needs its tutor, a feedback its
  session; records created earlier in the same chain count (tutors before sessions
  before feedback), otherwise the event waits (`AwaitReference`).
- persist: upserts by the records' own ids with their derived fields
  (`tutormax.rules.tutoring`), guarded by (event timestamp, event pk) so an older
  event never overwrites a newer one; activities are facts keyed by event pk.
- recompute: asks for a debounced metrics recompute of each affected tutor.

Debounce, per tutor and across workers (`tutormax.debounce`): the first request takes a
Redis lock and schedules `recompute_tutor_metrics` with a countdown; later requests only
mark the tutor dirty; the run clears the mark before it reads and, when the tutor was
marked meanwhile, runs once more. The request is also recorded in PostgreSQL with the
events' `processed` (pending work), so a Redis wipe only delays it; it is sent after the
commit, so the run reads what the chain wrote.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

import kombu.exceptions
import redis
from celery import shared_task
from celery.exceptions import MaxRetriesExceededError
from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from tutormax import metrics
from tutormax.batching import chunked
from tutormax.config import get_settings
from tutormax.db import after_commit, session_scope, utcnow
from tutormax.debounce import Debounce
from tutormax.models.events import Event
from tutormax.models.tutoring import (
    SessionFeedback,
    Tutor,
    TutorActivity,
    TutoringSession,
    TutorMetrics,
)
from tutormax.rebuilds import lock_views, replayable
from tutormax.registry import AwaitReference, register, register_rebuild
from tutormax.rules.tutoring import (
    feedback_delay_hours,
    feedback_derived,
    session_derived,
    tutor_derived,
)
from tutormax.schemas.tutoring import (
    CATEGORY_FIELDS,
    FEEDBACK_SUBMITTED,
    SESSION_COMPLETED,
    TUTOR_ACTIVITY,
    TUTOR_UPSERTED,
)
from tutormax.tasks.maintenance import record_pending, register_repair, settle_pending
from tutormax.tasks.pipeline import TRANSIENT, backoff_seconds
from tutormax.tasks.tutor_metrics import LONGEST_WINDOW, store_metrics
from tutormax.upserts import newest_by, upsert_newest_wins

log = logging.getLogger(__name__)

# Referenced records first, so a chain may carry a tutor and its sessions and their feedback.
TYPE_ORDER = (TUTOR_UPSERTED, SESSION_COMPLETED, FEEDBACK_SUBMITTED, TUTOR_ACTIVITY)

METRICS_KIND = "tutor_metrics"
NIGHTLY_BATCH = 200
NIGHTLY_REPAIR_FACTOR = 10
# The lock outlives the countdown plus any plausible run by far, yet expires, so a
# worker that died holding it delays a tutor's metrics by minutes, never forever.
LOCK_MARGIN_SECONDS = 300
MAX_RECOMPUTE_RETRIES = 8



# ------------------------------------------------------------------- helpers


def _dt(value: str | None) -> datetime | None:
    """The aware datetime of an ISO string from a payload (offset kept), or None."""
    return None if value is None else datetime.fromisoformat(value)


def _offset_minutes(moment: datetime | None) -> int | None:
    """The UTC offset of an aware datetime in whole minutes."""
    if moment is None:
        return None
    return int((moment.utcoffset() or timedelta(0)).total_seconds() // 60)


def _onboarding(value: str) -> date | datetime:
    """TUTOR_UPSERTED.onboarding_date: a date or a date-time with offset."""
    return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)


def _newest_by(events: Iterable[Event], key: str) -> list[Event]:
    """The newest event, by (timestamp, pk), per payload `key`: one row per key per statement."""
    return newest_by(events, key=lambda e: e.payload[key], order=lambda e: (e.timestamp, e.id))


def _by_type(events: Iterable[Event]) -> dict[str, list[Event]]:
    grouped: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        grouped[event.type].append(event)
    return grouped


def _upsert(session: Session, model: type, rows: list[dict], keys: Sequence[str]) -> None:
    """Newest-event-wins upsert by the record's own id (see tutormax.upserts)."""
    upsert_newest_wins(session, model.__table__, rows, keys)


def _known(session: Session, column, ids: set[str]) -> set[str]:
    if not ids:
        return set()
    return set(session.scalars(select(column).where(column.in_(ids))))


# ------------------------------------------------------------ stage handlers


def check_references(session: Session, events: Sequence[Event]) -> dict[int, Exception]:
    """Enrich stage: make events wait whose tutor or session is neither stored nor earlier in the chain."""
    grouped = _by_type(events)
    failures: dict[int, Exception] = {}
    chain_tutors = {e.payload["tutor_id"] for e in grouped[TUTOR_UPSERTED]}
    needing_tutor = grouped[SESSION_COMPLETED] + grouped[TUTOR_ACTIVITY]
    tutors = chain_tutors | _known(
        session, Tutor.tutor_id, {e.payload["tutor_id"] for e in needing_tutor} - chain_tutors
    )
    for event in needing_tutor:
        if event.payload["tutor_id"] not in tutors:
            failures[event.id] = AwaitReference("unknown_tutor", f"tutor_id {event.payload['tutor_id']} is unknown")
    chain_sessions = {e.payload["session_id"] for e in grouped[SESSION_COMPLETED] if e.id not in failures}
    sessions = chain_sessions | _known(
        session,
        TutoringSession.session_id,
        {e.payload["session_id"] for e in grouped[FEEDBACK_SUBMITTED]} - chain_sessions,
    )
    for event in grouped[FEEDBACK_SUBMITTED]:
        if event.payload["session_id"] not in sessions:
            failures[event.id] = AwaitReference(
                "unknown_session", f"session_id {event.payload['session_id']} is unknown"
            )
    return failures


def persist_records(session: Session, events: Sequence[Event], now: datetime | None = None) -> dict[int, Exception]:
    """Persist stage: upsert tutors, then sessions, then feedback, then insert activities."""
    now = now or utcnow()
    grouped = _by_type(events)
    failures: dict[int, Exception] = {}
    _upsert_tutors(session, grouped[TUTOR_UPSERTED], now)
    # Checked again here, in the writing transaction: the enrich check ran in an earlier one.
    tutors = _known(
        session, Tutor.tutor_id, {e.payload["tutor_id"] for e in grouped[SESSION_COMPLETED] + grouped[TUTOR_ACTIVITY]}
    )
    for event in grouped[SESSION_COMPLETED] + grouped[TUTOR_ACTIVITY]:
        if event.payload["tutor_id"] not in tutors:
            failures[event.id] = AwaitReference("unknown_tutor", f"tutor_id {event.payload['tutor_id']} is unknown")
    _upsert_sessions(session, [e for e in grouped[SESSION_COMPLETED] if e.id not in failures])
    failures.update(_upsert_feedback(session, grouped[FEEDBACK_SUBMITTED]))
    _insert_activities(session, [e for e in grouped[TUTOR_ACTIVITY] if e.id not in failures])
    return failures


def _upsert_tutors(session: Session, events: list[Event], now: datetime) -> None:
    rows = []
    for event in _newest_by(events, "tutor_id"):
        p = event.payload
        rows.append({
            "tutor_id": p["tutor_id"], "name": p["name"], "email": p["email"],
            "onboarding_date": p["onboarding_date"], "status": p["status"], "subjects": p["subjects"],
            "education_level": p.get("education_level"), "location": p.get("location"),
            "baseline_sessions_per_week": p.get("baseline_sessions_per_week"),
            **tutor_derived(_onboarding(p["onboarding_date"]), p["subjects"], event.timestamp, now),
            "derived_at": now, "event_timestamp": event.timestamp, "event_pk": event.id,
        })
    _upsert(session, Tutor, rows, ["tutor_id"])


def _upsert_sessions(session: Session, events: list[Event]) -> None:
    rows = []
    for event in _newest_by(events, "session_id"):
        p = event.payload
        scheduled, actual = _dt(p["scheduled_start"]), _dt(p.get("actual_start"))
        rows.append({
            "session_id": p["session_id"], "tutor_id": p["tutor_id"], "student_id": p["student_id"],
            "session_number": p["session_number"], "scheduled_start": scheduled,
            "scheduled_start_offset_minutes": _offset_minutes(scheduled), "actual_start": actual,
            "actual_start_offset_minutes": _offset_minutes(actual), "duration_minutes": p["duration_minutes"],
            "subject": p["subject"], "session_type": p.get("session_type") or "1-on-1",
            "tutor_initiated_reschedule": bool(p.get("tutor_initiated_reschedule")),
            "no_show": bool(p.get("no_show")), "late_start_minutes": p.get("late_start_minutes") or 0,
            "engagement_score": p.get("engagement_score"),
            "learning_objectives_met": p.get("learning_objectives_met"),
            "technical_issues": bool(p.get("technical_issues")),
            **session_derived(scheduled, p["duration_minutes"], p.get("late_start_minutes") or 0),
            "event_timestamp": event.timestamp, "event_pk": event.id,
        })
    _upsert(session, TutoringSession, rows, ["session_id"])
    if rows:
        _refresh_feedback_delay(session, [r["session_id"] for r in rows])


def _refresh_feedback_delay(session: Session, session_ids: list[str]) -> None:
    """A rescheduled session changes the delay of feedback already stored for it."""
    stored = session.execute(
        select(SessionFeedback.session_id, SessionFeedback.submitted_at, SessionFeedback.feedback_delay_hours,
               TutoringSession.scheduled_start)
        .join(TutoringSession, TutoringSession.session_id == SessionFeedback.session_id)
        .where(SessionFeedback.session_id.in_(session_ids))
    ).all()
    changes = []
    for session_id, submitted_at, delay, scheduled_start in stored:
        fresh = feedback_delay_hours(submitted_at, scheduled_start)
        if fresh != delay:
            changes.append({"session_id": session_id, "feedback_delay_hours": fresh})
    if changes:
        session.execute(update(SessionFeedback), changes)


def _upsert_feedback(session: Session, events: list[Event]) -> dict[int, Exception]:
    if not events:
        return {}
    starts = dict(session.execute(
        select(TutoringSession.session_id, TutoringSession.scheduled_start)
        .where(TutoringSession.session_id.in_({e.payload["session_id"] for e in events}))
    ).all())
    failures: dict[int, Exception] = {
        e.id: AwaitReference("unknown_session", f"session_id {e.payload['session_id']} is unknown")
        for e in events if e.payload["session_id"] not in starts
    }
    rows = []
    # One feedback per session: the newest event for the session wins, whatever its feedback_id.
    for event in _newest_by([e for e in events if e.id not in failures], "session_id"):
        p = event.payload
        submitted = _dt(p.get("submitted_at")) or event.timestamp
        ratings = {name: p.get(name) for name in CATEGORY_FIELDS}
        rows.append({
            "session_id": p["session_id"], "feedback_id": p["feedback_id"], "tutor_id": p["tutor_id"],
            "student_id": p["student_id"], "overall_rating": p["overall_rating"], **ratings,
            "would_recommend": p.get("would_recommend"), "improvement_areas": p.get("improvement_areas") or [],
            "free_text_feedback": p.get("free_text_feedback"), "submitted_at": submitted,
            "submitted_at_offset_minutes": _offset_minutes(submitted),
            **feedback_derived(p["overall_rating"], ratings, p.get("free_text_feedback"), submitted,
                               starts[p["session_id"]]),
            "event_timestamp": event.timestamp, "event_pk": event.id,
        })
    _upsert(session, SessionFeedback, rows, ["session_id"])
    return failures


def _insert_activities(session: Session, events: list[Event]) -> None:
    if not events:
        return
    rows = []
    for event in events:
        value = (event.payload.get("metadata") or {}).get("response_time_minutes")
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        rows.append({
            "event_pk": event.id, "tutor_id": event.payload["tutor_id"],
            "activity_type": event.payload["activity_type"], "timestamp": event.timestamp,
            "response_time_minutes": float(value) if numeric else None,
        })
    session.execute(insert(TutorActivity).values(rows).on_conflict_do_nothing(index_elements=["event_pk"]))


def request_recomputes(session: Session, events: Sequence[Event]) -> None:
    """Recompute stage: one debounced metrics request per affected tutor of the chain."""
    tutor_ids = {e.payload["tutor_id"] for e in events}
    feedback_sessions = {e.payload["session_id"] for e in events if e.type == FEEDBACK_SUBMITTED}
    if feedback_sessions:
        # The metrics count feedback under its session's tutor.
        tutor_ids |= set(session.scalars(
            select(TutoringSession.tutor_id).where(TutoringSession.session_id.in_(feedback_sessions))
        ))
    # Committed with the events' `processed`: the debounce lives in Redis only. It is
    # asked after the commit, so even a debounce of 0 s reads what this chain wrote.
    record_pending(session, METRICS_KIND, tutor_ids)
    after_commit(session, lambda: request_recompute(sorted(tutor_ids)), "request tutor metrics recomputes")


# ------------------------------------------------------------------ debounce


def lock_ttl_seconds() -> int:
    return get_settings().metrics_debounce_seconds + LOCK_MARGIN_SECONDS


debounce = Debounce(METRICS_KIND, ttl=lock_ttl_seconds)


def request_recompute(tutor_ids: Sequence[str]) -> int:
    """Debounced recompute of each tutor's metrics; returns how many runs were scheduled."""
    taken, coalesced = debounce.request(list(tutor_ids))
    if coalesced:
        metrics.inc("tutormax_recomputes_coalesced", coalesced, kind=METRICS_KIND)
    for tutor_id, token in taken.items():
        _schedule(tutor_id, token)
    return len(taken)


def _schedule(tutor_id: str, token: str) -> None:
    """Send the owner's run; on a broker failure give the lock back so the next event retries."""
    countdown = get_settings().metrics_debounce_seconds
    try:
        recompute_tutor_metrics.apply_async((tutor_id, token), countdown=countdown or None)
    except (kombu.exceptions.OperationalError, OSError) as exc:
        try:
            debounce.release(tutor_id, token)
        except redis.RedisError:
            pass  # the lock's expiry frees it
        # The request is recorded as pending work: the sweeper runs it when it is overdue.
        raise redis.ConnectionError(f"could not schedule the tutor metrics recompute: {exc}") from exc


@shared_task(bind=True, name="tutormax.tutoring.recompute_tutor_metrics")
def recompute_tutor_metrics(self, tutor_id: str, token: str | None = None) -> str:
    """Recompute one tutor's window metrics; with `token`, as the owner of its debounce lock."""
    # Everything requested before this point is committed and read below.
    if token is not None and not debounce.begin(tutor_id, token):
        return "superseded"  # our lock expired and a newer run owns the tutor now
    try:
        with session_scope() as session:
            settle_pending(session, METRICS_KIND, [tutor_id])
            store_metrics(session, [tutor_id], utcnow())
    except TRANSIENT as exc:
        try:
            raise self.retry(exc=exc, countdown=backoff_seconds(self.request.retries, cap=60),
                             max_retries=MAX_RECOMPUTE_RETRIES)
        except MaxRetriesExceededError:
            if token is not None:
                debounce.release(tutor_id, token)
            log.error("tutor metrics recompute failed", extra={"tutor_id": tutor_id, "error": str(exc)})
            return "failed"
    metrics.inc("tutormax_recomputes", kind=METRICS_KIND)
    if token is None:
        return "done"
    if debounce.finish(tutor_id, token):
        # Events landed during this run: one more trailing run, still holding the lock.
        _schedule(tutor_id, token)
        return "again"
    return "done"


# ------------------------------------------------------------------- metrics


def refresh_tutor_derived(session: Session, tutor_ids: Sequence[str], now: datetime) -> None:
    """Recompute the time-dependent derived fields (tenure, newness, level, active today)."""
    rows = session.execute(
        select(Tutor.tutor_id, Tutor.onboarding_date, Tutor.subjects, Tutor.event_timestamp)
        .where(Tutor.tutor_id.in_(tutor_ids))
    ).all()
    changes = [
        {"tutor_id": tutor_id, **tutor_derived(_onboarding(onboarding), subjects, updated_at, now), "derived_at": now}
        for tutor_id, onboarding, subjects, updated_at in rows
    ]
    if changes:
        session.execute(update(Tutor), changes)


@shared_task(name="tutormax.tutoring.nightly_recompute")
def nightly_recompute() -> int:
    """Beat, daily: refresh every tutor's derived fields and recompute the metrics of every
    tutor with sessions in the last 90 days (windows slide), fanned out in batches."""
    now = utcnow()
    with session_scope() as session:
        tutor_ids = session.scalars(select(Tutor.tutor_id).order_by(Tutor.tutor_id)).all()
        due = set(session.scalars(
            select(TutoringSession.tutor_id).distinct()
            .where(TutoringSession.scheduled_start >= now - LONGEST_WINDOW, TutoringSession.scheduled_start < now)
        ))
        # A tutor whose last sessions just slid out of every window still shows them: zero it.
        due |= set(session.scalars(
            select(TutorMetrics.tutor_id).distinct()
            .where(or_(TutorMetrics.total_sessions_scheduled > 0, TutorMetrics.response_time_avg_minutes.isnot(None)))
        ))
        # The batches below are Redis messages: owed in PostgreSQL until each one ran. Given
        # as long as the sweeper gives a busy pipeline, since a big fan-out takes a while.
        record_pending(session, METRICS_KIND, due, delay_seconds=NIGHTLY_REPAIR_FACTOR * repair_delay_seconds())
    batches = 0
    for part in chunked(tutor_ids, NIGHTLY_BATCH):
        recompute_tutor_batch.delay(part, [t for t in part if t in due])
        batches += 1
    log.info("nightly tutor recompute fanned out", extra={"tutors": len(tutor_ids), "due": len(due),
                                                           "batches": batches})
    return batches


@shared_task(bind=True, name="tutormax.tutoring.recompute_tutor_batch")
def recompute_tutor_batch(self, tutor_ids: list[str], metric_tutor_ids: list[str]) -> int:
    """One nightly batch: derived fields of `tutor_ids`, metrics of `metric_tutor_ids`."""
    now = utcnow()
    try:
        with session_scope() as session:
            refresh_tutor_derived(session, tutor_ids, now)
            settle_pending(session, METRICS_KIND, metric_tutor_ids)
            store_metrics(session, metric_tutor_ids, now)
    except TRANSIENT as exc:
        raise self.retry(exc=exc, countdown=backoff_seconds(self.request.retries, cap=60),
                         max_retries=MAX_RECOMPUTE_RETRIES) from exc
    if metric_tutor_ids:
        metrics.inc("tutormax_recomputes", len(metric_tutor_ids), kind=METRICS_KIND)
    return len(metric_tutor_ids)


def repair_overdue_metrics(session: Session, tutor_ids: list[str]) -> bool:
    """Sweeper: recompute tutors whose requested recompute is overdue (its Redis debounce was lost)."""
    store_metrics(session, tutor_ids, utcnow())
    metrics.inc("tutormax_recomputes", len(tutor_ids), kind=METRICS_KIND)
    return True


def repair_delay_seconds() -> float:
    """How long a requested recompute may wait for its debounced run before the sweeper does it."""
    settings = get_settings()
    return settings.metrics_debounce_seconds + settings.outbox_stale_seconds


# ------------------------------------------------------------------- rebuild


def rebuild_tutoring() -> str:
    """Recompute the tutoring views from the event log (one transaction: readers never see them empty).

    The daily history is kept: it records what was computed on past days.
    """
    now = utcnow()
    views = (TutorMetrics, TutorActivity, SessionFeedback, TutoringSession, Tutor)
    with session_scope() as session:
        # Chains wait until the rebuild commits, then find the rebuilt rows (tutormax.rebuilds).
        lock_views(session, [model.__tablename__ for model in views])
        for model in views:
            session.execute(delete(model))
        count = 0
        for event_type in TYPE_ORDER:
            last_pk = 0
            while True:
                events = session.scalars(
                    select(Event)
                    .where(Event.type == event_type, replayable(), Event.id > last_pk)
                    .order_by(Event.id).limit(500)
                ).all()
                if not events:
                    break
                persist_records(session, events, now)
                count += len(events)
                last_pk = events[-1].id
                session.expunge_all()
        tutor_ids = session.scalars(select(Tutor.tutor_id).order_by(Tutor.tutor_id)).all()
        for part in chunked(tutor_ids, NIGHTLY_BATCH):
            store_metrics(session, part, now)
    metrics.inc("tutormax_recomputes", len(tutor_ids), kind=METRICS_KIND)
    return f"{count} events, {len(tutor_ids)} tutors"


register("tutoring", enrich=check_references, persist=persist_records, recompute=request_recomputes)
register_rebuild("tutoring", rebuild_tutoring)
register_repair(METRICS_KIND, repair_overdue_metrics, repair_delay_seconds)
