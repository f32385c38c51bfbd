"""Beat jobs on queue `maintenance`: the outbox sweeper, which also repairs overdue pending work.

Pending work (`pending_work` rows) is what a later step still owes events that are
already processed: a debounced tutor-metrics recompute, an essay-cache invalidation.
Its fast path lives in Redis (locks, marks, countdown messages, after-commit calls);
a domain records the row in the transaction that finishes the events
(`record_pending`) and registers how to do the work (`register_repair`). The step
that does the work deletes the row; the sweeper does the work itself for rows past
their `due_at`, so a Redis wipe only delays it.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta

import redis
from celery import shared_task
from sqlalchemy import and_, delete, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from tutormax.batching import chunked
from tutormax.config import PIPELINE_QUEUES, RECOMPUTE_QUEUES, get_settings
from tutormax.db import session_scope, utcnow
from tutormax.metrics import queue_depths
from tutormax.models.events import STATUS_RECEIVED, Event, OutboxEntry, PendingWork
from tutormax.tasks.chains import ring

log = logging.getLogger(__name__)

SWEEP_LIMIT = 5000
# While messages still wait in the pipeline queues, a claimed row that shows no
# progress is most likely queued behind them, not lost: wait this many stale
# periods before releasing it, so a backlog is not doubled by the sweeper.
BUSY_FACTOR = 10
# Pending work repaired per transaction; a sweep repairs chunks for at most half its period.
REPAIR_CHUNK = 200
RECORD_CHUNK = 5000


@dataclass(frozen=True)
class Repair:
    """How to do one kind of pending work: `run(session, subject_ids)` inside the sweeper's
    transaction returns True when the work is done (the rows go) or False to try again
    after `delay()` seconds; `delay()` is also how long a fresh row waits for its fast path."""

    run: Callable[[Session, list[str]], bool]
    delay: Callable[[], float]


REPAIRS: dict[str, Repair] = {}


def register_repair(kind: str, run: Callable[[Session, list[str]], bool], delay: Callable[[], float]) -> None:
    """Declare a kind of pending work (domain modules call this on import)."""
    REPAIRS[kind] = Repair(run, delay)


def record_pending(session: Session, kind: str, subject_ids: Collection[str], token: str | None = None,
                   delay_seconds: float | None = None) -> None:
    """Note, in the caller's transaction, that `subject_ids` are owed work of `kind`.

    Due after `delay_seconds` (default: the kind's delay). An existing row keeps its
    earlier due time: the work is owed since then. With a `token`, the row also names
    this request, so that its requester can settle it after the commit
    (`settle_pending_request`) unless a later request came in.
    """
    delay = REPAIRS[kind].delay() if delay_seconds is None else delay_seconds
    due = func.now() + timedelta(seconds=delay)
    keys = ["kind", "subject_id"]
    # Sorted, so concurrent chains take the rows' locks in one order; chunked below
    # PostgreSQL's limit of bound parameters per statement.
    for chunk in chunked(sorted(subject_ids), RECORD_CHUNK):
        stmt = insert(PendingWork).values([{"kind": kind, "subject_id": s, "due_at": due, "token": token}
                                           for s in chunk])
        if token is None:
            session.execute(stmt.on_conflict_do_nothing(index_elements=keys))
        else:
            session.execute(stmt.on_conflict_do_update(index_elements=keys, set_={"token": stmt.excluded.token}))


def settle_pending(session: Session, kind: str, subject_ids: Sequence[str]) -> None:
    """The work of `kind` for `subject_ids` is being done in this transaction: drop its rows.

    Call it before reading what the work reads: a row recorded by a transaction that
    commits later survives (or is re-inserted after this one commits), so nothing owed
    after this point is forgotten.
    """
    if subject_ids:
        session.execute(
            delete(PendingWork).where(PendingWork.kind == kind, PendingWork.subject_id.in_(list(subject_ids))),
            execution_options={"synchronize_session": False},
        )


def settle_pending_request(token: str) -> None:
    """After its commit, a requester did the work itself: drop the rows its request still names.

    A row that a later request took over carries that request's token and stays for it
    (or for the sweeper).
    """
    with session_scope() as session:
        session.execute(delete(PendingWork).where(PendingWork.token == token),
                        execution_options={"synchronize_session": False})


def repair_pending_work(budget_seconds: float) -> dict[str, int]:
    """Do the overdue pending work, chunk by chunk, for up to `budget_seconds`; returns {kind: done}."""
    done: dict[str, int] = defaultdict(int)
    deadline = time.monotonic() + budget_seconds
    while True:
        with session_scope() as session:
            rows = session.execute(
                select(PendingWork.kind, PendingWork.subject_id)
                .where(PendingWork.due_at <= func.now())
                .order_by(PendingWork.due_at)
                .limit(REPAIR_CHUNK)
                .with_for_update(skip_locked=True)
            ).all()
            by_kind: dict[str, list[str]] = defaultdict(list)
            for kind, subject_id in rows:
                by_kind[kind].append(subject_id)
            for kind, subject_ids in by_kind.items():
                repair = REPAIRS.get(kind)
                these = tuple_(PendingWork.kind, PendingWork.subject_id).in_([(kind, s) for s in subject_ids])
                if repair is not None and repair.run(session, subject_ids):
                    session.execute(delete(PendingWork).where(these), execution_options={"synchronize_session": False})
                    done[kind] += len(subject_ids)
                else:
                    # Not done (Redis still away, or a kind this release does not know): later.
                    retry_in = repair.delay() if repair is not None else 3600
                    session.execute(
                        update(PendingWork).where(these)
                        .values(due_at=func.now() + timedelta(seconds=max(retry_in, 1))),
                        execution_options={"synchronize_session": False},
                    )
        if len(rows) < REPAIR_CHUNK or time.monotonic() >= deadline:
            break
    if done:
        log.warning("repaired overdue pending work", extra={"done": dict(done)})
    return dict(done)


def pipeline_backlog() -> int | None:
    """Messages waiting in the pipeline queues, None when Redis cannot say."""
    try:
        depths = queue_depths()
    except redis.RedisError:
        return None
    return sum(depths[q] for q in (*PIPELINE_QUEUES, *RECOMPUTE_QUEUES))


@shared_task(name="tutormax.maintenance.sweep_outbox")
def sweep_outbox() -> int:
    """Restart events whose chain has made no progress within TUTORMAX_OUTBOX_STALE_SECONDS.

    An unclaimed row that waited that long lost its ring (Redis wiped, a web process
    killed before publishing); a claimed one lost its chain (a worker killed, a
    message gone with Redis). Both are released (unclaimed) and their domain's
    doorbell rung, so the next chain claims them with everything else that waits:
    claims are exclusive, so the repair never doubles work that is still running.
    Then it does the pending work that is overdue (see the module doc).
    """
    stale = get_settings().outbox_stale_seconds
    restarted = _sweep_outbox_rows(stale)
    repair_pending_work(budget_seconds=max(1.0, stale / 4))
    return restarted


def _sweep_outbox_rows(stale: int) -> int:
    """Release the stale outbox rows and ring their domains; returns how many events restart."""
    backlog = pipeline_backlog()
    now = utcnow()
    unclaimed_cutoff = now - timedelta(seconds=stale)
    claimed_cutoff = now - timedelta(seconds=stale * (1 if backlog == 0 else BUSY_FACTOR))
    groups: dict[str, list[int]] = defaultdict(list)
    with session_scope() as session:
        rows = session.execute(
            select(OutboxEntry.event_pk, OutboxEntry.domain, Event.status)
            .join(Event, Event.id == OutboxEntry.event_pk)
            .where(or_(
                and_(OutboxEntry.claimed_at.is_(None), OutboxEntry.due_at < unclaimed_cutoff),
                and_(OutboxEntry.claimed_at.is_not(None), OutboxEntry.due_at < claimed_cutoff),
            ))
            .order_by(OutboxEntry.due_at)
            .limit(SWEEP_LIMIT)
            .with_for_update(of=OutboxEntry, skip_locked=True)
        ).all()
        finished = [pk for pk, _d, status in rows if status != STATUS_RECEIVED]
        for pk, domain, status in rows:
            if status == STATUS_RECEIVED:
                groups[domain].append(pk)
        if finished:
            session.execute(delete(OutboxEntry).where(OutboxEntry.event_pk.in_(finished)))
        live = [pk for ids in groups.values() for pk in ids]
        if live:
            session.execute(
                update(OutboxEntry)
                .where(OutboxEntry.event_pk.in_(live))
                .values(due_at=func.now(), claimed_at=None, dispatch_count=OutboxEntry.dispatch_count + 1),
                execution_options={"synchronize_session": False},
            )
    if groups:
        count = sum(len(v) for v in groups.values())
        log.warning("outbox sweeper restarting stale events",
                    extra={"count": count, "backlog": backlog,
                           "event_pks": [pk for v in groups.values() for pk in v][:50]})
        ring(groups, force=True)
        return count
    return 0
