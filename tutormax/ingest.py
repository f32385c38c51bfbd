"""Storing accepted events exactly once, with their outbox rows, then ringing the doorbell.

One INSERT … ON CONFLICT DO NOTHING per batch makes idempotency race-free:
of two concurrent identical POSTs, one inserts and the other waits on the
unique index and then finds the committed row. After the commit, each domain
with new events has its doorbell rung (tutormax.tasks.chains.ring): a chain
claims the new outbox rows, together with whatever else arrived meanwhile.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, text, tuple_

from tutormax import metrics
from tutormax.db import autocommit_connection
from tutormax.models.events import Event
from tutormax.schemas.events import ValidatedEvent
from tutormax.tasks import chains

log = logging.getLogger(__name__)


_STORE = text("""
    WITH incoming AS (
        SELECT * FROM ROWS FROM (jsonb_to_recordset(CAST(:rows AS jsonb)) AS (
            source text, event_id text, type text, domain text, "timestamp" timestamptz,
            tz_offset_minutes integer, payload jsonb, correlation_id text)) WITH ORDINALITY
            AS r(source, event_id, type, domain, "timestamp", tz_offset_minutes, payload, correlation_id, position)
    ), inserted AS (
        INSERT INTO events (source, event_id, type, domain, "timestamp", tz_offset_minutes, payload, correlation_id)
        SELECT source, event_id, type, domain, "timestamp", tz_offset_minutes, payload, correlation_id
        FROM incoming ORDER BY position
        ON CONFLICT (source, event_id) DO NOTHING
        RETURNING id, source, event_id, domain
    ), queued AS (
        INSERT INTO outbox (event_pk, domain) SELECT id, domain FROM inserted
    )
    SELECT id, source, event_id, domain FROM inserted
""")


@dataclass(frozen=True)
class StoredEvent:
    id: int
    duplicate: bool


def store_events(events: Sequence[ValidatedEvent], correlation_id: str | None = None) -> list[StoredEvent]:
    """Store events (set-based), commit, then ring for the new ones; one result per input."""
    if not events:
        return []
    keys = [(e.source, e.event_id) for e in events]
    rows = json.dumps([
        {"source": e.source, "event_id": e.event_id, "type": e.type, "domain": e.domain,
         "timestamp": e.timestamp.isoformat(), "tz_offset_minutes": e.tz_offset_minutes,
         "payload": e.payload, "correlation_id": correlation_id}
        for e in events
    ])
    # One statement stores the events and their outbox rows atomically, so it runs in
    # autocommit: a new event costs one round trip to PostgreSQL, however big the batch.
    with autocommit_connection() as conn:
        inserted = {(src, eid): (pk, domain) for pk, src, eid, domain in conn.execute(_STORE, {"rows": rows})}
        missing = [k for k in set(keys) if k not in inserted]
        existing = {}
        if missing:
            # Duplicates: committed before this request, or by a concurrent one the INSERT waited for.
            existing = {
                (src, eid): pk
                for pk, src, eid in conn.execute(
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

    # The ring and the counters share one round trip to Redis.
    chains.ring(sorted({domain for _pk, domain in inserted.values()}), counters=counted)
    log.info("events stored", extra={"correlation_id": correlation_id, "accepted": len(inserted),
                                     "duplicates": duplicates,
                                     "event_pks": sorted(pk for pk, _ in inserted.values())[:50]})
    return results
