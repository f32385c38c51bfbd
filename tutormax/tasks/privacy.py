"""Erasure of a student or tutor (SPEC §4 "Privacy"), an asynchronous job on the `maintenance` queue.

`request_erasure` records the job (`privacy_erasures`, pending) and pending work
`privacy_erasure` in one transaction, then sends `erase_subject`; if that message is lost,
the sweeper sends it again. The job does everything in one transaction, set-based (one
statement per table, however many events the person has), holding only the locks of what
it changes: the person's classes (learning), the student (reading), the tutor's record:

- events that concern only the person are deleted, with their dead letters; events they
  share (SESSION_COMPLETED, FEEDBACK_SUBMITTED) are kept with the person's id replaced by
  `privacy.pseudonym` and `free_text_feedback` removed; dead-lettered events about them go;
- the views are brought to what the remaining log gives: the person's rows are deleted or
  pseudonymized, the classes they were in are recomputed (rollups, triage, teacher links);
  tutor metrics do not read a student's id or text, so a student's erasure leaves them be;
  an erased tutor's record, activities, metrics and history are deleted;
- their profile-stream entries and Redis keys are deleted (before the commit, so a Redis
  failure retries the whole job; and once more after it);
- the tombstone is written, so ingest drops any later event naming them.

Running it again finds nothing and reports zero counts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import kombu.exceptions
import redis
from celery import shared_task
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from tutormax.batching import chunked
from tutormax.config import get_settings
from tutormax.db import after_commit, session_scope, utcnow
from tutormax.locks import lock_all
from tutormax.models.privacy import ERASURE_DONE, ERASURE_PENDING, PrivacyErasure, PrivacyTombstone
from tutormax.privacy import SUBJECT_FIELDS, pseudonym, subject_hash
from tutormax.queries.privacy import stream_entries
from tutormax.redis_client import get_redis
from tutormax.tasks.learning import FACT_TYPES, lock_classes, recompute_classes
from tutormax.tasks.maintenance import record_pending, register_repair, settle_pending
from tutormax.tasks.pipeline import TRANSIENT, backoff_seconds
from tutormax.tasks.profile_stream import DEDUPE_PREFIX, STREAM
from tutormax.tasks.reading import STUDENT_LOCKS
from tutormax.tasks.tutoring import METRICS_KIND, debounce

log = logging.getLogger(__name__)

ERASURE_KIND = "privacy_erasure"
SHARED_TYPES = ("SESSION_COMPLETED", "FEEDBACK_SUBMITTED")
FREE_TEXT_FIELDS = ("free_text_feedback",)
MAX_RETRIES = 10
VERIFY_DELAY_SECONDS = 5
MAX_PASSES = 10

# Every table the job may write, locked ROW EXCLUSIVE first (as a recompute does) so that a
# running rebuild is waited for before any advisory lock is taken.
WRITTEN_TABLES = (
    "learning_activity", "learning_pairs", "learning_grades", "learning_class_standards",
    "learning_class_teachers", "learning_class_students", "learning_class_totals", "learning_mastery",
    "learning_class_rollups", "learning_risk_flags", "reading_checkouts", "reading_profiles",
    "reading_profile_publications", "tutors", "tutoring_sessions", "tutoring_feedback", "tutor_activities",
    "tutor_metrics", "tutor_metrics_history",
)


def request_erasure(kind: str, subject_id: str, requested_by: str) -> int:
    """Record an erasure job and send it; returns its id (the job runs on the maintenance queue)."""
    with session_scope() as session:
        erasure = PrivacyErasure(kind=kind, subject_hash=subject_hash(kind, subject_id), subject_id=subject_id,
                                 requested_by=requested_by[:128], status=ERASURE_PENDING, counts={})
        session.add(erasure)
        session.flush()
        erasure_id = erasure.id
        record_pending(session, ERASURE_KIND, [str(erasure_id)])
    try:
        erase_subject.delay(erasure_id)
    except (kombu.exceptions.OperationalError, OSError):
        log.warning("erasure not sent; the sweeper sends it", extra={"erasure_id": erasure_id})
    log.info("erasure requested", extra={"erasure_id": erasure_id, "kind": kind})
    return erasure_id


def erasure_status(session: Session, erasure_id: int) -> dict[str, Any] | None:
    """The job's audit row as the API shows it, or None."""
    erasure = session.get(PrivacyErasure, erasure_id)
    if erasure is None:
        return None
    return {"erasure_id": erasure.id, "kind": erasure.kind, "status": erasure.status,
            "requested_by": erasure.requested_by, "requested_at": erasure.requested_at,
            "finished_at": erasure.finished_at, "counts": erasure.counts or {}}


def verify_delay_seconds() -> float:
    """How long after a pass the next one looks again (see `erase_subject`)."""
    return min(VERIFY_DELAY_SECONDS, get_settings().outbox_stale_seconds)


@shared_task(bind=True, name="tutormax.maintenance.erase_subject")
def erase_subject(self, erasure_id: int) -> str:
    """Run one pass of an erasure job (idempotent: a job already done is left as it is).

    A job is done after a pass that found nothing left, and never after the first pass: an
    event about the person whose INSERT began before the tombstone committed, or a pipeline
    stage that loaded one of their events before the first pass and wrote after it, is found
    by the next pass, `verify_delay_seconds()` later. The tombstone makes the passes converge.
    """
    started = time.monotonic()
    try:
        with session_scope() as session:
            erasure = session.scalars(
                select(PrivacyErasure).where(PrivacyErasure.id == erasure_id).with_for_update()
            ).one_or_none()
            if erasure is None or erasure.status == ERASURE_DONE:
                return "done"
            found = erase(session, erasure.kind, erasure.subject_id or "")
            previous = dict(erasure.counts or {})
            passes = previous.pop("passes", 0) + 1
            first_pass_ms = previous.pop("first_pass_ms", None)
            counts = {name: previous.get(name, 0) + found.get(name, 0) for name in {*previous, *found}}
            if first_pass_ms is None:
                first_pass_ms = round((time.monotonic() - started) * 1000)
            finished = passes > 1 and not any(found.values()) or passes >= MAX_PASSES
            totals = {**counts, "passes": passes, "first_pass_ms": first_pass_ms}
            erasure.counts = totals
            if finished:
                settle_pending(session, ERASURE_KIND, [str(erasure_id)])
                erasure.status, erasure.finished_at = ERASURE_DONE, utcnow()
                erasure.subject_id = None  # the audit keeps no personal data
            else:
                after_commit(session, lambda: erase_subject.apply_async((erasure_id,),
                                                                        countdown=verify_delay_seconds()),
                             "schedule the erasure's next pass")
    except TRANSIENT as exc:
        raise self.retry(exc=exc, countdown=backoff_seconds(self.request.retries, cap=60),
                         max_retries=MAX_RETRIES) from exc
    log.info("erasure pass", extra={"erasure_id": erasure_id, "pass": passes, "found": found,
                                    "done": finished})
    if finished:
        log.info("erasure done", extra={"erasure_id": erasure_id, "counts": totals})
    return "done" if finished else "again"


def erase(session: Session, kind: str, subject_id: str) -> dict[str, int]:
    """Remove the person from every table and Redis in the caller's transaction; returns the counts."""
    field = SUBJECT_FIELDS[kind]
    alias = pseudonym(kind, subject_id)
    params = {"sid": subject_id, "alias": alias, "field": field}
    session.execute(text(f"LOCK TABLE {', '.join(WRITTEN_TABLES)} IN ROW EXCLUSIVE MODE"))
    counts: dict[str, int] = {}

    classes: list[str] = []
    if kind == "student":
        classes = list(session.scalars(text(
            "SELECT DISTINCT class_id FROM learning_pairs WHERE student_id = :sid ORDER BY class_id"), params))
        lock_classes(session, classes)
        lock_all(session, STUDENT_LOCKS, [subject_id])

    # The log: one scan finds the person's events.
    events = session.execute(text(
        "SELECT id, type, status FROM events WHERE payload ->> :field = :sid"), params).all()
    shared = [e.id for e in events if e.type in SHARED_TYPES and e.status != "dead_lettered"]
    kept = set(shared)
    doomed = [e.id for e in events if e.id not in kept]
    learning_pks = [e.id for e in events if e.type in FACT_TYPES]
    counts["dead_letters_deleted"] = session.execute(text(
        "DELETE FROM dead_letters WHERE event_pk = ANY(:pks)"), {"pks": [e.id for e in events]}).rowcount
    counts["events_deleted"] = session.execute(text(
        "DELETE FROM events WHERE id = ANY(:pks)"), {"pks": doomed}).rowcount
    counts["events_pseudonymized"] = session.execute(text(
        "UPDATE events SET payload = jsonb_set(payload - CAST(:free AS text[]), ARRAY[:field],"
        " to_jsonb(CAST(:alias AS text))) WHERE id = ANY(:pks)"),
        {**params, "pks": shared, "free": list(FREE_TEXT_FIELDS)}).rowcount

    deleted = 0
    if kind == "student":
        deleted += _erase_learning(session, subject_id, classes, learning_pks)
        for table in ("reading_checkouts", "reading_profiles", "reading_profile_publications"):
            deleted += session.execute(text(f"DELETE FROM {table} WHERE student_id = :sid"), params).rowcount
    else:
        # The record first: it waits for a metrics recompute that holds it FOR SHARE.
        for table in ("tutors", "tutor_activities", "tutor_metrics", "tutor_metrics_history"):
            deleted += session.execute(text(f"DELETE FROM {table} WHERE tutor_id = :sid"), params).rowcount
        settle_pending(session, METRICS_KIND, [subject_id])
    counts["view_rows_deleted"] = deleted
    counts["view_rows_pseudonymized"] = sum(session.execute(text(
        f"UPDATE {table} SET {field} = :alias{extra} WHERE {field} = :sid"), params).rowcount
        for table, extra in (("tutoring_sessions", ""),
                             ("tutoring_feedback", ", free_text_feedback = NULL, has_text_feedback = false")))
    counts["classes_recomputed"] = len(classes)

    counts["redis_entries_deleted"] = _erase_redis(kind, subject_id)
    after_commit(session, lambda: _erase_redis(kind, subject_id), "trim erased person from Redis")
    session.execute(insert(PrivacyTombstone).values(subject_hash=subject_hash(kind, subject_id), kind=kind)
                    .on_conflict_do_nothing(index_elements=["subject_hash"]))
    return counts


def _erase_learning(session: Session, student_id: str, classes: Sequence[str], event_pks: Sequence[int]) -> int:
    """Delete the student's learning rows, then recompute their classes from what is left."""
    params = {"sid": student_id, "classes": list(classes), "pks": list(event_pks)}
    # By student too (a scan: the table has no index on it), for grades whose events are already
    # gone: written by a stage that loaded the event before an earlier pass.
    deleted = session.execute(text(
        "DELETE FROM learning_grades WHERE event_pk = ANY(:pks) OR student_id = :sid"), params).rowcount
    for table in ("learning_activity", "learning_pairs", "learning_class_students", "learning_risk_flags"):
        deleted += session.execute(text(
            f"DELETE FROM {table} WHERE class_id = ANY(:classes) AND student_id = :sid"), params).rowcount
    for table in ("learning_class_standards", "learning_mastery"):
        deleted += session.execute(text(f"DELETE FROM {table} WHERE student_id = :sid"), params).rowcount
    if not classes:
        return deleted
    # What the rest of each class's log gives: its assignment count and its teacher links.
    session.execute(text("""
        UPDATE learning_class_totals t
        SET assignment_count = (SELECT count(DISTINCT p.assignment_id) FROM learning_pairs p
                                WHERE p.class_id = t.class_id)
        WHERE t.class_id = ANY(:classes)"""), params)
    session.execute(text("DELETE FROM learning_class_teachers WHERE class_id = ANY(:classes)"), params)
    session.execute(text("""
        INSERT INTO learning_class_teachers (class_id, teacher_id)
        SELECT DISTINCT payload ->> 'class_id', payload ->> 'teacher_id' FROM events
        WHERE domain = 'learning' AND payload ->> 'class_id' = ANY(:classes) AND payload ->> 'teacher_id' <> ''
          AND (status = 'processed' OR (status = 'received' AND persisted_at IS NOT NULL))
        ON CONFLICT DO NOTHING"""), params)
    empty = list(session.scalars(text("""
        SELECT c FROM unnest(CAST(:classes AS text[])) AS c
        WHERE NOT EXISTS (SELECT 1 FROM learning_pairs p WHERE p.class_id = c)"""), params))
    for table in ("learning_class_totals", "learning_class_rollups", "learning_risk_flags",
                  "learning_class_teachers"):
        session.execute(text(f"DELETE FROM {table} WHERE class_id = ANY(:empty)"), {"empty": empty})
    gone = set(empty)
    recompute_classes(session, [c for c in classes if c not in gone])
    return deleted


def _erase_redis(kind: str, subject_id: str) -> int:
    """Delete the person's profile-stream entries and Redis keys; returns how many went."""
    client = get_redis()
    removed = 0
    if kind == "student":
        entries = stream_entries(subject_id)
        if entries is None:
            raise redis.ConnectionError("could not read the profile stream")
        for ids in chunked([entry_id for entry_id, _fields in entries], 1000):
            removed += client.xdel(STREAM, *ids)
        keys = list(client.scan_iter(match=f"{DEDUPE_PREFIX}{_glob_escape(subject_id)}:*", count=1000))
    else:
        keys = [debounce.lock_key(subject_id), debounce.dirty_key(subject_id)]
    if keys:
        removed += client.delete(*keys)
    return removed


def _glob_escape(value: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in value)


def repair_erasures(session: Session, erasure_ids: list[str]) -> bool:
    """Sweeper: send again the jobs still pending (their message was lost); done when none is."""
    pending = session.scalars(select(PrivacyErasure.id).where(
        PrivacyErasure.id.in_([int(i) for i in erasure_ids]), PrivacyErasure.status == ERASURE_PENDING)).all()
    try:
        for erasure_id in pending:
            erase_subject.delay(erasure_id)
    except (kombu.exceptions.OperationalError, OSError):
        return False
    return not pending


register_repair(ERASURE_KIND, repair_erasures, lambda: 2 * get_settings().outbox_stale_seconds)
