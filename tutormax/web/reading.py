"""Reading profiles and the book catalog (SPEC §3.2, §4), read scope."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort

from tutormax.db import read_session
from tutormax.queries.reading import book_entry, student_reading_profile
from tutormax.schemas.reading import BookSchema, ReadingProfileSchema
from tutormax.web.auth import current_principal, require_scope

blp = Blueprint("reading", __name__, url_prefix="/api/v1", description="Reading profiles and the book catalog")


@blp.route("/students/<path:student_id>/reading-profile")
class StudentReadingProfile(MethodView):
    @require_scope("read")
    @blp.response(200, ReadingProfileSchema)
    @blp.alt_response(404, description="The student has no checkout (or is not in the teacher's classes)")
    def get(self, student_id: str):
        """A student's reading profile: band histogram, dominant and recent band, trend, stability."""
        with read_session() as session:
            profile = student_reading_profile(session, student_id, current_principal().teacher_id)
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
