"""Moving events to, and back from, the dead letters."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert

from tutormax import metrics
from tutormax.db import session_scope
from tutormax.logs import scrub
from tutormax.models.events import STATUS_DEAD_LETTERED, STATUS_RECEIVED, DeadLetter, Event, OutboxEntry
from tutormax.tasks.chains import dispatch

log = logging.getLogger(__name__)

DeadLetterEntry = tuple[int, str, str, str, int]  # (event_pk, stage, reason, error, attempts)


def dead_letter(entries: Sequence[DeadLetterEntry]) -> list[int]:
    """Dead-letter events still `received`; returns those moved (idempotent under redelivery).

    The error text is redacted here, whoever built it: operators read statement and
    constraint names, never the row's values (a tutor's email, free text).
    """
    by_pk = {e[0]: e for e in entries}
    with session_scope() as session:
        moved = session.scalars(
            update(Event)
            .where(Event.id.in_(list(by_pk)), Event.status == STATUS_RECEIVED)
            .values(status=STATUS_DEAD_LETTERED, dead_lettered_at=func.now())
            .returning(Event.id),
            execution_options={"synchronize_session": False},
        ).all()
        if moved:
            stmt = insert(DeadLetter).values([
                {"event_pk": pk, "stage": by_pk[pk][1], "reason": by_pk[pk][2],
                 "error": scrub(by_pk[pk][3])[:4000], "attempts": by_pk[pk][4]}
                for pk in moved
            ])
            session.execute(stmt.on_conflict_do_update(
                index_elements=[DeadLetter.event_pk],
                set_={
                    "stage": stmt.excluded.stage,
                    "reason": stmt.excluded.reason,
                    "error": stmt.excluded.error,
                    "attempts": DeadLetter.attempts + stmt.excluded.attempts,
                    "last_seen_at": func.now(),
                    "state": "open",
                    "resolved_at": None,
                },
            ))
            session.execute(delete(OutboxEntry).where(OutboxEntry.event_pk.in_(moved)))
    reasons = Counter(by_pk[pk][2] for pk in moved)
    metrics.inc_many("tutormax_events_dead_lettered", [({"reason": r}, n) for r, n in reasons.items()])
    if moved:
        log.warning("events dead-lettered", extra={"event_pks": list(moved), "reasons": dict(reasons)})
    return list(moved)


def replay(dead_letter_id: int) -> int | None:
    """Put a dead-lettered event back through the pipeline; returns its event pk, None if not open."""
    with session_scope() as session:
        row = session.get(DeadLetter, dead_letter_id, with_for_update=True)
        if row is None or row.state != "open":
            return None
        event = session.get(Event, row.event_pk, with_for_update=True)
        row.state = "replayed"
        row.resolved_at = func.now()
        event.status = STATUS_RECEIVED
        event.dead_lettered_at = None
        session.execute(
            insert(OutboxEntry)
            .values(event_pk=event.id, domain=event.domain)
            .on_conflict_do_update(
                index_elements=[OutboxEntry.event_pk],
                set_={"due_at": func.now(), "wait_started_at": None, "wait_attempts": 0},
            )
        )
        event_pk, domain = event.id, event.domain
    dispatch({domain: [event_pk]})
    log.info("dead letter replayed", extra={"dead_letter_id": dead_letter_id, "event_pks": [event_pk]})
    return event_pk


def discard(dead_letter_id: int) -> bool:
    """Mark an open dead letter as discarded: the event stays `dead_lettered` for good."""
    with session_scope() as session:
        row = session.get(DeadLetter, dead_letter_id, with_for_update=True)
        if row is None or row.state != "open":
            return False
        row.state = "discarded"
        row.resolved_at = func.now()
    log.info("dead letter discarded", extra={"dead_letter_id": dead_letter_id})
    return True


def list_dead_letters(state: str = "open", limit: int = 100, offset: int = 0) -> tuple[list[tuple], int]:
    """Dead letters in `state` ('all' for every one), newest first, with their events."""
    with session_scope() as session:
        query = select(DeadLetter, Event).join(Event, Event.id == DeadLetter.event_pk)
        count_query = select(func.count(DeadLetter.id))
        if state != "all":
            query = query.where(DeadLetter.state == state)
            count_query = count_query.where(DeadLetter.state == state)
        rows = session.execute(
            query.order_by(DeadLetter.last_seen_at.desc(), DeadLetter.id.desc()).limit(limit).offset(offset)
        ).all()
        return [(dl, ev) for dl, ev in rows], session.scalar(count_query)
