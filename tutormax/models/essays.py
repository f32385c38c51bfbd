"""Essay results: the stored facts of every batch and the batch status view (SPEC §3.4)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tutormax.db import Base


class EssayFact(Base):
    """One essay-domain event as a fact of its batch, stored once per event.

    The batch status is a fold over all facts of the batch (rules.essays.batch_state),
    so facts are only ever added, keyed by the event's pk, and never updated.
    """

    __tablename__ = "essay_facts"
    __table_args__ = (Index("ix_essay_facts_batch_id", "batch_id"),)

    event_pk: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    batch_id: Mapped[str] = mapped_column(String(128))
    type: Mapped[str] = mapped_column(String(64))
    timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    payload: Mapped[dict] = mapped_column(JSONB)


class EssayBatch(Base):
    """The batch status view: one row per batch with any fact, recomputed from its facts."""

    __tablename__ = "essay_batches"
    __table_args__ = (
        # The user's batch list, newest first, optionally filtered by client status.
        Index("ix_essay_batches_user_created", "user_id", "created_at"),
        Index("ix_essay_batches_user_status_created", "user_id", "overall_status", "created_at"),
    )

    batch_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String(128))
    # False while only results are known: such a batch is kept but not served (404).
    registered: Mapped[bool] = mapped_column(Boolean)
    registered_event_pk: Mapped[int | None] = mapped_column(BigInteger)
    internal_status: Mapped[str] = mapped_column(String(40))
    overall_status: Mapped[str] = mapped_column(String(40))
    current_phase: Mapped[str | None] = mapped_column(String(32))
    essay_count: Mapped[int] = mapped_column(Integer)
    completed_essay_count: Mapped[int] = mapped_column(Integer)
    failed_essay_count: Mapped[int] = mapped_column(Integer)
    error_detail: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_updated: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    processing_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    processing_completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The whole `GET /internal/v1/batches/{id}/status` body, essays included.
    response: Mapped[dict] = mapped_column(JSONB)
    last_event_pk: Mapped[int] = mapped_column(BigInteger)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
