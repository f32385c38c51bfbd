"""Reading profiles and the book catalog (SPEC §3.2, §4), read scope."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy.orm import Session

from tutormax.db import read_session
from tutormax.models.reading import Book, ReadingProfile
from tutormax.rules.reading import BANDS
from tutormax.schemas.reading import BookSchema, ReadingProfileSchema
from tutormax.web.auth import current_principal, require_scope
from tutormax.web.learning import student_visible

blp = Blueprint("reading", __name__, url_prefix="/api/v1", description="Reading profiles and the book catalog")


def _teacher_may_read(session: Session, student_id: str) -> bool:
    """A teacher-bound key reads only students of its teacher's classes; other keys read all."""
    teacher_id = current_principal().teacher_id
    if teacher_id is None:
        return True
    return student_visible(session, student_id, teacher_id)


def student_reading_profile(session: Session, student_id: str) -> dict | None:
    """The student's reading profile, or None when there is none this key may read."""
    # One answer for both cases, so a teacher key cannot probe which students exist.
    profile = session.get(ReadingProfile, student_id) if _teacher_may_read(session, student_id) else None
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


@blp.route("/students/<path:student_id>/reading-profile")
class StudentReadingProfile(MethodView):
    @require_scope("read")
    @blp.response(200, ReadingProfileSchema)
    @blp.alt_response(404, description="The student has no checkout (or is not in the teacher's classes)")
    def get(self, student_id: str):
        """A student's reading profile: band histogram, dominant and recent band, trend, stability."""
        with read_session() as session:
            profile = student_reading_profile(session, student_id)
            if profile is None:
                abort(404, message="No reading profile for this student.")
            return profile


@blp.route("/books/<path:book_id>")
class BookEntry(MethodView):
    @require_scope("read")
    @blp.response(200, BookSchema)
    @blp.alt_response(404, description="The book was never cataloged")
    def get(self, book_id: str):
        """A book's catalog entry (the newest BOOK_CATALOGED) with its band."""
        with read_session() as session:
            book = book_entry(session, book_id)
            if book is None:
                abort(404, message="No catalog entry for this book.")
            return book


api_blueprints = [blp]
