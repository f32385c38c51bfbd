"""The chain: validate → enrich → persist → recompute, each a Celery task on its own queue.

How chains start (the doorbell): a request that stores events rings its domain's
doorbell, a Redis key set with SET NX; only the request that sets it sends a
validate task. That task clears the ring first, then claims every unclaimed outbox
row of its domain (up to TUTORMAX_CHAIN_BATCH, one statement, FOR UPDATE SKIP
LOCKED) and carries those ids down the chain; each stage sends the next one with
the ids that passed, and a chain that claims nothing stops at once. Under load a
chain therefore carries everything that arrived while the previous one ran; at low
load an event starts its chain at once. A lost ring (Redis wiped, a process killed
between SET and publish) is bounded by the ring's TTL and repaired by the outbox
sweeper, which rings for unclaimed rows that waited too long.

Chains may also start from explicit ids (the sweeper's repairs, a dead-letter
replay, a referential wait re-running one stage later). Stages are idempotent:
they only touch events still `received`, stamp stage times with COALESCE, and move
an event to `processed` exactly once.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta, timezone

import redis
from celery import shared_task
from celery.exceptions import MaxRetriesExceededError
from marshmallow import ValidationError
from sqlalchemy import exc as sa_exc
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tutormax import metrics
from tutormax.config import DOMAINS, get_settings
from tutormax.db import session_scope, utcnow
from tutormax.models.events import OutboxEntry
from tutormax.registry import STAGES, AwaitReference, PermanentFailure, handler_for
from tutormax.schemas.events import validate_stored_event
from tutormax.tasks.chains import clear_ring, dispatch, ring, send_stage, stage_task_name
from tutormax.tasks.deadletters import dead_letter

log = logging.getLogger(__name__)

# Failures of infrastructure, not of the event: retry the whole task with backoff.
TRANSIENT = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    redis.ConnectionError,
    redis.TimeoutError,
)
MAX_TRANSIENT_RETRIES = 10
MAX_BACKOFF_SECONDS = 300  # far below the broker's visibility_timeout (see celeryconfig)

# A referenced record usually arrives within moments (producers reorder within small
# windows): the first retry comes after a quarter second, then doubling up to a minute.
REFERENCE_FIRST_WAIT_SECONDS = 0.25
REFERENCE_MAX_WAIT_SECONDS = 60.0


_STAMP_COLUMN = {"validate": "validated_at", "enrich": "enriched_at", "persist": "persisted_at"}

# What handlers read of an event (Core rows: attribute access, no ORM identity map).
_EVENT_COLUMNS = "e.id, e.source, e.event_id, e.type, e.domain, e.timestamp, e.tz_offset_minutes, " \
                 "e.payload, e.correlation_id"

_LOAD = text(f"SELECT {_EVENT_COLUMNS} FROM events e "
             "WHERE e.id = ANY(:ids) AND e.status = 'received' ORDER BY e.id")

# Claim the oldest unclaimed outbox rows of a domain and load their events, in one round trip.
# SKIP LOCKED: concurrent chains of the same domain claim disjoint sets without waiting.
_CLAIM = text(f"""
    WITH claimed AS (
        UPDATE outbox SET claimed_at = now(), due_at = now()
        WHERE event_pk IN (
            SELECT event_pk FROM outbox
            WHERE domain = :domain AND claimed_at IS NULL
            ORDER BY event_pk LIMIT :limit
            FOR UPDATE SKIP LOCKED)
        RETURNING event_pk)
    SELECT {_EVENT_COLUMNS} FROM events e JOIN claimed c ON c.event_pk = e.id
    WHERE e.status = 'received' ORDER BY e.id
""")

# The stage stamp and the outbox heartbeat (an event making progress is not stale
# for the sweeper) in one statement. An explicitly dispatched chain claims its rows here.
_STAMP = {
    stage: text(f"""
        WITH stamped AS (
            UPDATE events SET {column} = coalesce({column}, now())
            WHERE id = ANY(:ids) RETURNING id)
        UPDATE outbox SET due_at = now(), claimed_at = coalesce(claimed_at, now())
        WHERE event_pk IN (SELECT id FROM stamped)
    """)
    for stage, column in _STAMP_COLUMN.items()
}

# The last stage: `processed` exactly once (guarded), outbox rows gone, in one statement.
_FINISH = text("""
    WITH finished AS (
        UPDATE events SET status = 'processed', processed_at = now()
        WHERE id = ANY(:ids) AND status = 'received'
        RETURNING id, type, received_at, processed_at),
    released AS (DELETE FROM outbox WHERE event_pk = ANY(:ids))
    SELECT id, type, received_at, processed_at FROM finished
""")


class BatchFailed(Exception):
    """A handler raised for a whole batch: its events are re-run one by one."""

    def __init__(self, ids: Sequence[int]) -> None:
        super().__init__(f"{len(ids)} events")
        self.ids = list(ids)


def backoff_seconds(attempt: int, cap: int = MAX_BACKOFF_SECONDS) -> int:
    """Exponential backoff: 1, 2, 4, … seconds, capped."""
    return min(2 ** max(attempt, 0), cap)


def revalidate(events: Sequence) -> dict[int, Exception]:
    """Check stored events against today's schemas: a row written by an older
    version or by hand must not reach the views (it is dead-lettered instead)."""
    failures: dict[int, Exception] = {}
    for event in events:
        offset = timezone(timedelta(minutes=event.tz_offset_minutes or 0))
        body = {**(event.payload or {}), "event_id": event.event_id, "source": event.source,
                "type": event.type, "timestamp": event.timestamp.astimezone(offset).isoformat()}
        try:
            validate_stored_event(body)
        except ValidationError as exc:
            failures[event.id] = PermanentFailure("invalid_payload", json.dumps(exc.messages, sort_keys=True))
    return failures


def _load_events(session: Session, stage: str, domain: str, ids: Sequence[int] | None) -> list:
    """The chain's live events; `ids=None` (a doorbell chain) claims them from the outbox."""
    if ids is not None:
        return session.execute(_LOAD, {"ids": list(ids)}).all()
    assert stage == "validate", "only a chain's first stage claims"
    return session.execute(_CLAIM, {"domain": domain, "limit": max(1, get_settings().chain_batch)}).all()


def _run_handler(stage: str, domain: str, ids: Sequence[int] | None) -> tuple[list[int], dict[int, Exception], list]:
    """Run one stage for `ids` (or the claimed ones) in one transaction; return (ok ids, failures, finished rows).

    Any non-transient error raises BatchFailed with the batch's ids (the transaction,
    claim included, is rolled back), so the caller can re-run each event alone.
    """
    handler = handler_for(domain, stage)
    with session_scope() as session:
        events = _load_events(session, stage, domain, ids)
        if not events:
            return [], {}, []
        try:
            failures: dict[int, Exception] = revalidate(events) if stage == "validate" else {}
            live = [e for e in events if e.id not in failures]
            if handler and live:
                failures.update(handler(session, live) or {})
            ok = [e.id for e in events if e.id not in failures]
            finished: list = []
            if ok and stage in _STAMP:
                session.execute(_STAMP[stage], {"ids": ok})
            elif ok:
                finished = session.execute(_FINISH, {"ids": ok}).all()
        except TRANSIENT:
            raise
        except Exception as exc:
            raise BatchFailed([e.id for e in events]) from exc
        return ok, failures, finished


def _isolate(stage: str, domain: str, ids: Sequence[int]) -> tuple[list[int], dict[int, Exception], list]:
    """Retry each event alone so one poison event cannot sink its chain."""
    ok: list[int] = []
    failures: dict[int, Exception] = {}
    finished: list = []
    for event_pk in ids:
        try:
            one_ok, one_failures, one_finished = _run_handler(stage, domain, [event_pk])
        except BatchFailed as exc:  # the poison event itself
            failures[event_pk] = exc.__cause__ or exc
            continue
        ok += one_ok
        failures.update(one_failures)
        finished += one_finished
    return ok, failures, finished


def run_stage(task, stage: str, ids: Sequence[int] | None, domain: str) -> list[int]:
    """The body shared by every stage task; sends the next stage with the ids that passed.

    `ids=None` is a doorbell chain: clear the ring first, then claim (see the module doc).
    """
    if ids is not None:
        ids = [int(i) for i in ids]
        if not ids:
            return []
    elif task.request.retries == 0:
        clear_ring(domain)
    batch = metrics.MetricsBatch()
    batch.inc("tutormax_pipeline_tasks", stage=stage)
    try:
        try:
            ok, failures, finished = _run_handler(stage, domain, ids)
        except BatchFailed as exc:
            log.warning("stage failed for the batch; isolating events",
                        extra={"stage": stage, "domain": domain, "event_pks": exc.ids[:50]},
                        exc_info=exc.__cause__)
            ok, failures, finished = _isolate(stage, domain, exc.ids)
    except TRANSIENT as exc:
        batch.flush()
        attempt = task.request.retries
        log.warning("transient failure; retrying",
                    extra={"stage": stage, "event_pks": (ids or [])[:50], "attempt": attempt, "error": str(exc)})
        try:
            raise task.retry(exc=exc, countdown=backoff_seconds(attempt), max_retries=MAX_TRANSIENT_RETRIES)
        except MaxRetriesExceededError:
            if ids:
                dead_letter([(i, stage, "transient_error", repr(exc), attempt + 1) for i in ids])
            return []

    if ids is None and len(ok) + len(failures) >= max(1, get_settings().chain_batch):
        ring([domain])  # the claim filled a whole chain: more may be waiting
    if failures:
        _handle_failures(stage, domain, failures)
    if finished:
        _record_finished(batch, finished)
    batch.flush()
    if ok and stage != STAGES[-1]:
        send_stage(STAGES[STAGES.index(stage) + 1], domain, ok)
    log.info("stage done", extra={"stage": stage, "domain": domain, "ok": len(ok), "failed": len(failures),
                                  "event_pks": (ids if ids is not None else ok)[:20]})
    return ok


def _handle_failures(stage: str, domain: str, failures: Mapping[int, Exception]) -> None:
    waiting: dict[int, AwaitReference] = {}
    dead: list[tuple[int, str, str, str, int]] = []
    for event_pk, exc in failures.items():
        if isinstance(exc, AwaitReference):
            waiting[event_pk] = exc
        elif isinstance(exc, PermanentFailure):
            dead.append((event_pk, stage, exc.reason, str(exc), 1))
        else:
            dead.append((event_pk, stage, "processing_error", f"{type(exc).__name__}: {exc}", 1))
    if dead:
        dead_letter(dead)
    if waiting:
        _schedule_waits(stage, domain, waiting)


def _schedule_waits(stage: str, domain: str, waiting: Mapping[int, AwaitReference]) -> None:
    """Re-run `stage` later for events whose reference is unknown, or dead-letter them when time is up."""
    limit = timedelta(seconds=get_settings().reference_wait_seconds)
    now = utcnow()
    expired: list[tuple[int, str, str, str, int]] = []
    by_delay: dict[float, list[int]] = defaultdict(list)
    with session_scope() as session:
        known = set(session.scalars(select(OutboxEntry.event_pk).where(OutboxEntry.event_pk.in_(list(waiting)))))
        for event_pk in set(waiting) - known:
            # Every unfinished event keeps an outbox row, so the sweeper can always find it.
            session.add(OutboxEntry(event_pk=event_pk, domain=domain, claimed_at=now))
        session.flush()
        rows = session.scalars(
            select(OutboxEntry).where(OutboxEntry.event_pk.in_(list(waiting))).with_for_update()
        ).all()
        for row in rows:
            started = row.wait_started_at or now
            row.wait_started_at = started
            row.wait_attempts += 1
            row.claimed_at = row.claimed_at or now  # its countdown carries it, not the doorbell
            remaining = (started + limit - now).total_seconds()
            if remaining <= 0:
                exc = waiting[row.event_pk]
                expired.append((row.event_pk, stage, exc.reason, str(exc), row.wait_attempts))
                continue
            delay = min(REFERENCE_FIRST_WAIT_SECONDS * 2 ** (row.wait_attempts - 1), REFERENCE_MAX_WAIT_SECONDS,
                        max(remaining, REFERENCE_FIRST_WAIT_SECONDS))
            row.due_at = now + timedelta(seconds=delay)
            by_delay[delay].append(row.event_pk)
    if expired:
        dead_letter(expired)
    for delay, ids in by_delay.items():
        log.info("waiting for a referenced record",
                 extra={"stage": stage, "event_pks": ids, "countdown": delay})
        dispatch({domain: ids}, start=stage, countdown=delay)


def _record_finished(batch: metrics.MetricsBatch, rows: Iterable) -> None:
    by_type: dict[str, int] = defaultdict(int)
    latencies = []
    for _pk, event_type, received_at, processed_at in rows:
        by_type[event_type] += 1
        latencies.append(max((processed_at - received_at).total_seconds(), 0.0))
    batch.inc_many("tutormax_events_processed", [({"type": t}, n) for t, n in by_type.items()])
    batch.observe_many("tutormax_event_e2e_seconds", latencies)


@shared_task(bind=True, name=stage_task_name("validate"))
def validate(self, ids: list[int] | None, domain: str) -> list[int]:
    return run_stage(self, "validate", ids, domain)


@shared_task(bind=True, name=stage_task_name("enrich"))
def enrich(self, ids: list[int], domain: str) -> list[int]:
    return run_stage(self, "enrich", ids, domain)


@shared_task(bind=True, name=stage_task_name("persist"))
def persist(self, ids: list[int], domain: str) -> list[int]:
    return run_stage(self, "persist", ids, domain)


def _recompute_task(domain: str):
    @shared_task(bind=True, name=stage_task_name("recompute", domain))
    def recompute(self, ids: list[int], domain: str = domain) -> list[int]:
        return run_stage(self, "recompute", ids, domain)

    return recompute


RECOMPUTE_TASKS = {domain: _recompute_task(domain) for domain in DOMAINS}
STAGE_TASKS = {"validate": validate, "enrich": enrich, "persist": persist}



