"""The chain: validate → enrich → persist → recompute, each a Celery task on its own queue.

Every task takes a list of event database ids and returns the ids that passed,
so a batch of N events costs ⌈N/TUTORMAX_CHAIN_BATCH⌉ chains, not N. Stages are
idempotent: they only touch events still `received`, stamp stage times with
COALESCE, and move an event to `processed` exactly once.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta, timezone

import kombu.exceptions
import redis
from celery import chain, shared_task
from celery.exceptions import MaxRetriesExceededError
from marshmallow import ValidationError
from sqlalchemy import delete, func, select, update
from sqlalchemy import exc as sa_exc

from tutormax import metrics
from tutormax.config import DOMAINS, get_settings
from tutormax.db import session_scope, utcnow
from tutormax.models.events import STATUS_PROCESSED, STATUS_RECEIVED, Event, OutboxEntry
from tutormax.schemas.events import validate_event
from tutormax.registry import STAGES, AwaitReference, PermanentFailure, handler_for
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

_STAMP = {
    "validate": Event.validated_at,
    "enrich": Event.enriched_at,
    "persist": Event.persisted_at,
}


def backoff_seconds(attempt: int, cap: int = MAX_BACKOFF_SECONDS) -> int:
    """Exponential backoff: 1, 2, 4, … seconds, capped."""
    return min(2 ** max(attempt, 0), cap)


def revalidate(events: Sequence[Event]) -> dict[int, Exception]:
    """Check stored events against today's schemas: a row written by an older
    version or by hand must not reach the views (it is dead-lettered instead)."""
    failures: dict[int, Exception] = {}
    for event in events:
        offset = timezone(timedelta(minutes=event.tz_offset_minutes or 0))
        body = {**(event.payload or {}), "event_id": event.event_id, "source": event.source,
                "type": event.type, "timestamp": event.timestamp.astimezone(offset).isoformat()}
        try:
            validate_event(body)
        except ValidationError as exc:
            failures[event.id] = PermanentFailure("invalid_payload", json.dumps(exc.messages, sort_keys=True))
    return failures


def _run_handler(stage: str, domain: str, ids: Sequence[int]) -> tuple[list[int], dict[int, Exception], list]:
    """Run one stage for `ids` in one transaction; return (ok ids, failures, finished rows)."""
    handler = handler_for(domain, stage)
    with session_scope() as session:
        events = session.scalars(
            select(Event).where(Event.id.in_(ids), Event.status == STATUS_RECEIVED).order_by(Event.id)
        ).all()
        if not events:
            return [], {}, []
        failures: dict[int, Exception] = revalidate(events) if stage == "validate" else {}
        if handler:
            live = [e for e in events if e.id not in failures]
            if live:
                failures.update(handler(session, live) or {})
        ok = [e.id for e in events if e.id not in failures]
        finished: list = []
        if ok and stage in _STAMP:
            column = _STAMP[stage]
            session.execute(
                update(Event).where(Event.id.in_(ok)).values({column: func.coalesce(column, func.now())}),
                execution_options={"synchronize_session": False},
            )
            # A heartbeat: an event making progress is not stale for the sweeper.
            session.execute(
                update(OutboxEntry).where(OutboxEntry.event_pk.in_(ok)).values(due_at=func.now()),
                execution_options={"synchronize_session": False},
            )
        elif ok:
            finished = session.execute(
                update(Event)
                .where(Event.id.in_(ok), Event.status == STATUS_RECEIVED)
                .values(status=STATUS_PROCESSED, processed_at=func.now())
                .returning(Event.id, Event.type, Event.received_at, Event.processed_at),
                execution_options={"synchronize_session": False},
            ).all()
            session.execute(delete(OutboxEntry).where(OutboxEntry.event_pk.in_(ok)))
        return ok, failures, finished


def _isolate(stage: str, domain: str, ids: Sequence[int]) -> tuple[list[int], dict[int, Exception], list]:
    """Retry each event alone so one poison event cannot sink its chain."""
    ok: list[int] = []
    failures: dict[int, Exception] = {}
    finished: list = []
    for event_pk in ids:
        try:
            one_ok, one_failures, one_finished = _run_handler(stage, domain, [event_pk])
        except TRANSIENT:
            raise
        except Exception as exc:  # noqa: BLE001 - the poison event itself
            failures[event_pk] = exc
            continue
        ok += one_ok
        failures.update(one_failures)
        finished += one_finished
    return ok, failures, finished


def run_stage(task, stage: str, ids: Sequence[int], domain: str) -> list[int]:
    """The body shared by every stage task."""
    ids = [int(i) for i in ids]
    if not ids:
        return []
    try:
        try:
            ok, failures, finished = _run_handler(stage, domain, ids)
        except TRANSIENT:
            raise
        except Exception:  # noqa: BLE001
            log.warning("stage failed for the batch; isolating events",
                        extra={"stage": stage, "domain": domain, "event_pks": ids}, exc_info=True)
            ok, failures, finished = _isolate(stage, domain, ids)
    except TRANSIENT as exc:
        attempt = task.request.retries
        log.warning("transient failure; retrying",
                    extra={"stage": stage, "event_pks": ids, "attempt": attempt, "error": str(exc)})
        try:
            raise task.retry(exc=exc, countdown=backoff_seconds(attempt), max_retries=MAX_TRANSIENT_RETRIES)
        except MaxRetriesExceededError:
            dead_letter([(i, stage, "transient_error", repr(exc), attempt + 1) for i in ids])
            return []

    if failures:
        _handle_failures(stage, domain, failures)
    if finished:
        _record_finished(finished)
    log.info("stage done", extra={"stage": stage, "domain": domain, "ok": len(ok), "failed": len(failures),
                                  "event_pks": ids[:20]})
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
    by_delay: dict[int, list[int]] = defaultdict(list)
    with session_scope() as session:
        known = set(session.scalars(select(OutboxEntry.event_pk).where(OutboxEntry.event_pk.in_(list(waiting)))))
        for event_pk in set(waiting) - known:
            # Every unfinished event keeps an outbox row, so the sweeper can always find it.
            session.add(OutboxEntry(event_pk=event_pk, domain=domain))
        session.flush()
        rows = session.scalars(
            select(OutboxEntry).where(OutboxEntry.event_pk.in_(list(waiting))).with_for_update()
        ).all()
        for row in rows:
            started = row.wait_started_at or now
            row.wait_started_at = started
            row.wait_attempts += 1
            remaining = (started + limit - now).total_seconds()
            if remaining <= 0:
                exc = waiting[row.event_pk]
                expired.append((row.event_pk, stage, exc.reason, str(exc), row.wait_attempts))
                continue
            delay = max(1, min(backoff_seconds(row.wait_attempts - 1, cap=60), int(remaining + 0.999)))
            row.due_at = now + timedelta(seconds=delay)
            by_delay[delay].append(row.event_pk)
    if expired:
        dead_letter(expired)
    for delay, ids in by_delay.items():
        log.info("waiting for a referenced record",
                 extra={"stage": stage, "event_pks": ids, "countdown": delay})
        dispatch({domain: ids}, start=stage, countdown=delay)


def _record_finished(rows: Iterable) -> None:
    by_type: dict[str, int] = defaultdict(int)
    latencies = []
    for _pk, event_type, received_at, processed_at in rows:
        by_type[event_type] += 1
        latencies.append(max((processed_at - received_at).total_seconds(), 0.0))
    metrics.inc_many("tutormax_events_processed", [({"type": t}, n) for t, n in by_type.items()])
    metrics.observe_many("tutormax_event_e2e_seconds", latencies)


@shared_task(bind=True, name="tutormax.pipeline.validate")
def validate(self, ids: list[int], domain: str) -> list[int]:
    return run_stage(self, "validate", ids, domain)


@shared_task(bind=True, name="tutormax.pipeline.enrich")
def enrich(self, ids: list[int], domain: str) -> list[int]:
    return run_stage(self, "enrich", ids, domain)


@shared_task(bind=True, name="tutormax.pipeline.persist")
def persist(self, ids: list[int], domain: str) -> list[int]:
    return run_stage(self, "persist", ids, domain)


def _recompute_task(domain: str):
    @shared_task(bind=True, name=f"tutormax.pipeline.recompute.{domain}")
    def recompute(self, ids: list[int], domain: str = domain) -> list[int]:
        return run_stage(self, "recompute", ids, domain)

    return recompute


RECOMPUTE_TASKS = {domain: _recompute_task(domain) for domain in DOMAINS}
STAGE_TASKS = {"validate": validate, "enrich": enrich, "persist": persist}


def build_chain(domain: str, ids: Sequence[int], start: str = "validate"):
    """The chain of stages from `start` on for one domain's ids."""
    stages = STAGES[STAGES.index(start):]
    tasks = [RECOMPUTE_TASKS[domain] if s == "recompute" else STAGE_TASKS[s] for s in stages]
    first, rest = tasks[0], tasks[1:]
    return chain(first.s(list(ids), domain=domain), *(t.s(domain=domain) for t in rest))


def chunked(ids: Sequence[int], size: int) -> Iterable[list[int]]:
    for i in range(0, len(ids), size):
        yield list(ids[i:i + size])


def dispatch(groups: Mapping[str, Sequence[int]], start: str = "validate", countdown: int | None = None) -> bool:
    """Send chains for {domain: ids}; False (and nothing raised) when the broker is unreachable.

    Called only after the events' transaction has committed. A failed send is
    repaired by the outbox sweeper, so the caller never has to undo anything.
    """
    size = max(1, get_settings().chain_batch)
    try:
        for domain, ids in groups.items():
            for part in chunked(sorted(ids), size):
                build_chain(domain, part, start).apply_async(countdown=countdown)
    except (kombu.exceptions.OperationalError, redis.RedisError, OSError) as exc:
        log.error("dispatch failed; the outbox sweeper will retry",
                  extra={"error": str(exc), "domains": list(groups)})
        return False
    return True
