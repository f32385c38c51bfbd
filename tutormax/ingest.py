"""Storing accepted events exactly once, with their outbox rows, then ringing the doorbell.

One INSERT … ON CONFLICT DO NOTHING per batch makes idempotency race-free:
of two concurrent identical POSTs, one inserts and the other waits on the
unique index and then finds the committed row. After the commit, each domain
with new events has its doorbell rung (tutormax.tasks.pipeline.ring): a chain
claims the new outbox rows, together with whatever else arrived meanwhile.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, tuple_
from sqlalchemy.dialects.postgresql import insert

from tutormax import metrics
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
    """Store events (set-based), commit, then ring for the new ones; one result per input."""
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
    counted = metrics.MetricsBatch()
    counted.inc_many("tutormax_events_ingested", [({"type": t}, n) for t, n in new_types.items()])
    counted.inc("tutormax_events_duplicate", duplicates)
    counted.flush()

    domains = sorted({domain for _pk, domain in inserted.values()})
    if domains:
        pipeline.ring(domains)
    log.info("events stored", extra={"correlation_id": correlation_id, "accepted": len(inserted),
                                     "duplicates": duplicates,
                                     "event_pks": sorted(pk for pk, _ in inserted.values())[:50]})
    return results
