"""Reading tables (SPEC §3.2): the catalog, checkouts, reading profiles and their pending publications."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime, Float, Index, Integer, Numeric, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tutormax.db import Base


class Book(Base):
    """The catalog entry of one book: the newest BOOK_CATALOGED by (timestamp, event pk) wins."""

    __tablename__ = "reading_books"

    book_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    reading_level: Mapped[float | None] = mapped_column(Float)
    difficulty_band: Mapped[str | None] = mapped_column(String(32))
    # Derived once at persist time with rules.reading.book_band, so reads and joins need no rule.
    band: Mapped[str | None] = mapped_column(String(32))
    cataloged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    event_pk: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Checkout(Base):
    """One BOOK_CHECKED_OUT fact, keyed by its event's pk (a re-checkout is another row)."""

    __tablename__ = "reading_checkouts"
    __table_args__ = (
        Index("ix_reading_checkouts_student_id", "student_id"),
        Index("ix_reading_checkouts_book_id_student_id", "book_id", "student_id"),
    )

    event_pk: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    student_id: Mapped[str] = mapped_column(String(128))
    book_id: Mapped[str] = mapped_column(String(128))
    checked_out_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReadingProfile(Base):
    """A student's reading profile, recomputed from their checkouts and the catalog."""

    __tablename__ = "reading_profiles"

    student_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    histogram: Mapped[dict] = mapped_column(JSONB)
    total_checkouts: Mapped[int] = mapped_column(Integer)
    unbanded_checkouts: Mapped[int] = mapped_column(Integer)
    dominant_band: Mapped[str | None] = mapped_column(String(32))
    recent_band: Mapped[str | None] = mapped_column(String(32))
    trend: Mapped[str] = mapped_column(String(32))
    stability: Mapped[Decimal | None] = mapped_column(Numeric(3, 2))
    last_event_id: Mapped[int] = mapped_column(BigInteger)
    # Bumped on every real change, so readers can tell two states of one profile apart.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ProfilePublication(Base):
    """A profile change committed but not yet appended to the Redis stream (a transactional outbox)."""

    __tablename__ = "reading_profile_publications"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    student_id: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    event_pk: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
