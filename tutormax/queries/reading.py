"""Reading reads (SPEC §3.2, §4): a student's reading profile and a book's catalog entry."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tutormax.models.reading import Book, ReadingProfile
from tutormax.queries.learning import student_visible
from tutormax.rules.reading import BANDS


def student_reading_profile(session: Session, student_id: str, teacher_id: str | None) -> dict | None:
    """The student's reading profile, or None when there is none the caller may read.

    A teacher (`teacher_id` given) reads only students of its classes; one answer for
    "no profile" and "not yours", so a teacher key cannot probe which students exist.
    """
    if teacher_id is not None and not student_visible(session, student_id, teacher_id):
        return None
    profile = session.get(ReadingProfile, student_id)
    if profile is None:
        return None
    return {
        "student_id": profile.student_id,
        "histogram": {band: profile.histogram[band] for band in BANDS if profile.histogram.get(band)},
        "total_checkouts": profile.total_checkouts,
        "unbanded_checkouts": profile.unbanded_checkouts,
        "dominant_band": profile.dominant_band,
        "recent_band": profile.recent_band,
        "trend": profile.trend,
        "stability": None if profile.stability is None else float(profile.stability),
        "last_event_id": profile.last_event_id,
        "updated_at": profile.updated_at,
    }


def book_entry(session: Session, book_id: str) -> dict | None:
    """A book's catalog entry with its band, or None when it was never cataloged."""
    book = session.get(Book, book_id)
    if book is None:
        return None
    return {
        "book_id": book.book_id, "title": book.title, "author": book.author,
        "reading_level": book.reading_level, "difficulty_band": book.difficulty_band, "band": book.band,
        "cataloged_at": book.cataloged_at, "last_event_id": book.event_pk, "updated_at": book.updated_at,
    }
