"""What every domain's rebuild replays, so `tutormax rebuild` equals incremental processing.

A rebuild recomputes a domain's views from the event log while chains may still be
running. It must replay exactly the events whose facts incremental processing has
stored or will not store again: processed events, and events still `received`
whose persist stage has already committed (their later stages will find their facts
in place and only refresh views). An event not yet persisted is left to its own
chain, which persists it after the rebuild; a dead-lettered event is in no view.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, or_, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from tutormax.models.events import STATUS_PROCESSED, STATUS_RECEIVED, Event


def replayable() -> ColumnElement[bool]:
    """The WHERE clause of the events a rebuild replays (SQLAlchemy, on `Event`)."""
    return or_(Event.status == STATUS_PROCESSED,
               and_(Event.status == STATUS_RECEIVED, Event.persisted_at.is_not(None)))


def lock_views(session: Session, tables: Sequence[str]) -> None:
    """Keep every writer of a domain's views out until the rebuild commits; readers go on reading.

    SHARE ROW EXCLUSIVE conflicts with the ROW EXCLUSIVE lock every INSERT, UPDATE and
    DELETE takes, and not with reads: a chain's stage waits, then finds the rebuilt rows.
    """
    session.execute(text(f"LOCK TABLE {', '.join(tables)} IN SHARE ROW EXCLUSIVE MODE"))
