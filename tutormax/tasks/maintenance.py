"""Beat jobs on queue `maintenance`: the outbox sweeper."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta

import redis
from celery import shared_task
from sqlalchemy import and_, delete, func, or_, select, update

from tutormax.config import PIPELINE_QUEUES, RECOMPUTE_QUEUES, get_settings
from tutormax.db import session_scope, utcnow
from tutormax.metrics import queue_depths
from tutormax.models.events import STATUS_RECEIVED, Event, OutboxEntry
from tutormax.tasks.pipeline import ring

log = logging.getLogger(__name__)

SWEEP_LIMIT = 5000
# While messages still wait in the pipeline queues, a claimed row that shows no
# progress is most likely queued behind them, not lost: wait this many stale
# periods before releasing it, so a backlog is not doubled by the sweeper.
BUSY_FACTOR = 10


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
    """
    stale = get_settings().outbox_stale_seconds
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
                    extra={"count": count, "backlog": backlog, "event_pks": [pk for v in groups.values() for pk in v][:50]})
        ring(groups, force=True)
        return count
    return 0
