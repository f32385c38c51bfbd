"""Storing accepted events exactly once, with their outbox rows, then dispatching.

One INSERT … ON CONFLICT DO NOTHING per batch makes idempotency race-free:
of two concurrent identical POSTs, one inserts and the other waits on the
unique index and then finds the committed row.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, tuple_
from sqlalchemy.dialects.postgresql import insert

from tutormax import metrics
from tutormax.config import get_settings
from tutormax.db import session_scope
from tutormax.models.events import Event, OutboxEntry
from tutormax.schemas.events import ValidatedEvent
from tutormax.tasks import pipeline

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredEvent:
    id: int
    duplicate: bool


def store_events(events: Sequence[ValidatedEvent], correlation_id: str | None = None) -> list[StoredEvent]:
    """Store events (set-based), commit, then dispatch the new ones; one result per input."""
    if not events:
        return []
    keys = [(e.source, e.event_id) for e in events]
    with session_scope() as session:
        stmt = (
            insert(Event)
            .values([
                {
                    "source": e.source, "event_id": e.event_id, "type": e.type, "domain": e.domain,
                    "timestamp": e.timestamp, "tz_offset_minutes": e.tz_offset_minutes,
                    "payload": e.payload, "correlation_id": correlation_id,
                }
                for e in events
            ])
            .on_conflict_do_nothing(index_elements=["source", "event_id"])
            .returning(Event.id, Event.source, Event.event_id, Event.domain)
        )
        inserted = {(src, eid): (pk, domain) for pk, src, eid, domain in session.execute(stmt)}
        if inserted:
            session.execute(insert(OutboxEntry).values(
                [{"event_pk": pk, "domain": domain} for pk, domain in inserted.values()]
            ))
        missing = [k for k in set(keys) if k not in inserted]
        existing = {}
        if missing:
            existing = {
                (src, eid): pk
                for pk, src, eid in session.execute(
                    select(Event.id, Event.source, Event.event_id).where(
                        tuple_(Event.source, Event.event_id).in_(missing)
                    )
                )
            }

    results: list[StoredEvent] = []
    first_seen: set[tuple[str, str]] = set()
    for key in keys:
        if key in inserted and key not in first_seen:
            first_seen.add(key)
            results.append(StoredEvent(inserted[key][0], duplicate=False))
        else:
            pk = inserted[key][0] if key in inserted else existing[key]
            results.append(StoredEvent(pk, duplicate=True))

    new_types = Counter(e.type for e, r in zip(events, results) if not r.duplicate)
    duplicates = sum(r.duplicate for r in results)
    metrics.inc_many("tutormax_events_ingested", [({"type": t}, n) for t, n in new_types.items()])
    if duplicates:
        metrics.inc("tutormax_events_duplicate", duplicates)

    groups: dict[str, list[int]] = defaultdict(list)
    for pk, domain in inserted.values():
        groups[domain].append(pk)
    if groups:
        dispatcher.submit(groups)
    log.info("events stored", extra={"correlation_id": correlation_id, "accepted": len(inserted),
                                     "duplicates": duplicates,
                                     "event_pks": sorted(pk for pk, _ in inserted.values())[:50]})
    return results


class CoalescingDispatcher:
    """Merges the dispatches of concurrent requests in one process into shared chains.

    Under load, single-event POSTs would otherwise cost four Celery tasks per event;
    holding dispatch for TUTORMAX_DISPATCH_LINGER_MS (default 10 ms) lets the events
    that arrive meanwhile ride in the same chains. The events are already committed
    with their outbox rows, so a process that dies inside the linger loses nothing:
    the sweeper dispatches them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, list[int]] = defaultdict(list)
        self._timer: threading.Timer | None = None

    def submit(self, groups: dict[str, list[int]]) -> None:
        linger = get_settings().dispatch_linger_ms / 1000
        if linger <= 0:
            pipeline.dispatch(groups)
            return
        with self._lock:
            for domain, ids in groups.items():
                self._pending[domain].extend(ids)
            if self._timer is None:
                self._timer = threading.Timer(linger, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        """Send everything pending now."""
        with self._lock:
            pending, self._pending, self._timer = self._pending, defaultdict(list), None
        if pending:
            pipeline.dispatch(pending)


dispatcher = CoalescingDispatcher()
atexit.register(dispatcher.flush)
