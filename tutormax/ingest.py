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
from tutormax.privacy import payload_subject_hashes
from tutormax.schemas.events import ValidatedEvent
from tutormax.tasks import chains

log = logging.getLogger(__name__)


_STORE = text("""
    WITH incoming AS (
        SELECT * FROM ROWS FROM (jsonb_to_recordset(CAST(:rows AS jsonb)) AS (
            source text, event_id text, type text, domain text, "timestamp" timestamptz,
            tz_offset_minutes integer, payload jsonb, correlation_id text, subjects text[])) WITH ORDINALITY
            AS r(source, event_id, type, domain, "timestamp", tz_offset_minutes, payload, correlation_id, subjects,
                 position)
    ), inserted AS (
        INSERT INTO events (source, event_id, type, domain, "timestamp", tz_offset_minutes, payload, correlation_id)
        SELECT source, event_id, type, domain, "timestamp", tz_offset_minutes, payload, correlation_id
        FROM incoming
        -- An event naming an erased person is dropped (SPEC §4 "Privacy"): a primary-key probe per
        -- person named, only for events that name one.
        WHERE subjects IS NULL
           OR NOT EXISTS (SELECT 1 FROM privacy_tombstones t WHERE t.subject_hash = ANY(incoming.subjects))
        ORDER BY position
        ON CONFLICT (source, event_id) DO NOTHING
        RETURNING id, source, event_id, domain
    ), queued AS (
        INSERT INTO outbox (event_pk, domain) SELECT id, domain FROM inserted
    )
    SELECT id, source, event_id, domain FROM inserted
""")


@dataclass(frozen=True)
class StoredEvent:
    id: int | None  # None: dropped, it names an erased person
    duplicate: bool


def store_events(events: Sequence[ValidatedEvent], correlation_id: str | None = None) -> list[StoredEvent]:
    """Store events (set-based), commit, then ring for the new ones; one result per input."""
    if not events:
        return []
    keys = [(e.source, e.event_id) for e in events]
    rows = json.dumps([
        {"source": e.source, "event_id": e.event_id, "type": e.type, "domain": e.domain,
         "timestamp": e.timestamp.isoformat(), "tz_offset_minutes": e.tz_offset_minutes,
         "payload": e.payload, "correlation_id": correlation_id,
         "subjects": payload_subject_hashes(e.payload) or None}
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
        elif key in inserted or key in existing:
            pk = inserted[key][0] if key in inserted else existing[key]
            results.append(StoredEvent(pk, duplicate=True))
        else:
            # About an erased person: answered as accepted, stored nowhere.
            results.append(StoredEvent(None, duplicate=False))

    new_types = Counter(e.type for e, r in zip(events, results) if not r.duplicate and r.id is not None)
    duplicates = sum(r.duplicate for r in results)
    counted = metrics.MetricsBatch()
    counted.inc_many("tutormax_events_ingested", [({"type": t}, n) for t, n in new_types.items()])
    counted.inc("tutormax_events_duplicate", duplicates)
    dropped = sum(r.id is None for r in results)
    if dropped:
        counted.inc("tutormax_events_dropped_erased", dropped)

    # The ring and the counters share one round trip to Redis.
    chains.ring(sorted({domain for _pk, domain in inserted.values()}), counters=counted)
    log.info("events stored", extra={"correlation_id": correlation_id, "accepted": len(inserted),
                                     "duplicates": duplicates, "dropped_erased": dropped,
                                     "event_pks": sorted(pk for pk, _ in inserted.values())[:50]})
    return results
