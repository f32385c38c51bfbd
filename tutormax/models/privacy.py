"""Privacy (SPEC §4): tombstones of erased people and the audit of erasures.

Neither table holds a person's id: a subject is named by `privacy.subject_hash`, a keyed
HMAC-SHA256 of (kind, id). Only a pending erasure keeps the id (`subject_id`), so that the
sweeper can finish a job whose message was lost; it is cleared when the job is done.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tutormax.db import Base

ERASURE_PENDING = "pending"
ERASURE_DONE = "done"


class PrivacyTombstone(Base):
    """An erased person: events naming them are answered 202 and dropped at ingest."""

    __tablename__ = "privacy_tombstones"

    subject_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    erased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PrivacyErasure(Base):
    """One erasure request and its outcome (the audit trail)."""

    __tablename__ = "privacy_erasures"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    subject_hash: Mapped[str] = mapped_column(String(64), index=True)
    # The person's id while the job is pending (so a lost message can be repaired); NULL once done.
    subject_id: Mapped[str | None] = mapped_column(String(128))
    requested_by: Mapped[str] = mapped_column(String(128))  # the API key's name, or "cli"
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default=ERASURE_PENDING, server_default=ERASURE_PENDING)
    counts: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
