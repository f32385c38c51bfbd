"""The event log, its outbox, the work still owed to processed events, and the dead letters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tutormax.db import Base

STATUS_RECEIVED = "received"
STATUS_PROCESSED = "processed"
STATUS_DEAD_LETTERED = "dead_lettered"


class Event(Base):
    """One accepted event, stored exactly once per (source, event_id)."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("source", "event_id"),
        Index("ix_events_domain_status", "domain", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(128))
    type: Mapped[str] = mapped_column(String(64))
    domain: Mapped[str] = mapped_column(String(16))
    timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The producer's UTC offset, kept because local wall-clock time matters for some views.
    tz_offset_minutes: Mapped[int] = mapped_column(Integer, default=0)
    payload: Mapped[dict] = mapped_column(JSONB)
    correlation_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=STATUS_RECEIVED, server_default=STATUS_RECEIVED)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    validated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    enriched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    persisted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dead_lettered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OutboxEntry(Base):
    """An event whose chain has not finished; the sweeper re-dispatches stale ones."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due_at", "due_at"),
        # The claim statement of the doorbell dispatch reads only unclaimed rows of one domain.
        Index("ix_outbox_unclaimed", "domain", "event_pk", postgresql_where=text("claimed_at IS NULL")),
    )

    event_pk: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    domain: Mapped[str] = mapped_column(String(16))
    # When progress is next expected; a row past due by TUTORMAX_OUTBOX_STALE_SECONDS is re-dispatched.
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # NULL while the event waits for a chain to claim it (doorbell dispatch); set by the
    # chain that carries it, so concurrent chains never claim the same row.
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dispatch_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Referential waits (e.g. a session before its tutor) are timed from here.
    wait_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    wait_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class PendingWork(Base):
    """Work a later step still owes processed events (a debounced recompute, a cache
    invalidation), written in the transaction that finished them. The step that does
    the work deletes the row; the outbox sweeper repairs rows past `due_at`."""

    __tablename__ = "pending_work"
    __table_args__ = (
        Index("ix_pending_work_due_at", "due_at"),
        Index("ix_pending_work_token", "token", postgresql_where=text("token IS NOT NULL")),
    )

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject_id: Mapped[str] = mapped_column(Text, primary_key=True)  # a tutor, batch or user id
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The latest request, for work its requester settles itself (`settle_pending_request`).
    token: Mapped[str | None] = mapped_column(String(32))


class DeadLetter(Base):
    """An event that failed permanently at some stage, kept for operators."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    event_pk: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("events.id", ondelete="CASCADE"), unique=True
    )
    stage: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64))
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    state: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
