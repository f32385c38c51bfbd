"""Reading profiles and the book catalog (SPEC §3.2, §4), read scope."""

from __future__ import annotations

from functools import partial

from flask.views import MethodView
from flask_smorest import Blueprint

from tutormax.queries.reading import book_entry, student_reading_profile
from tutormax.schemas.reading import BookSchema, ReadingProfileSchema
from tutormax.web.views import answer, read_view

blp = Blueprint("reading", __name__, url_prefix="/api/v1", description="Reading profiles and the book catalog")
reads = partial(read_view, blp)


@blp.route("/students/<path:student_id>/reading-profile")
class StudentReadingProfile(MethodView):
    @reads(ReadingProfileSchema, not_found="The student has no checkout (or is not in the teacher's classes)")
    def get(self, student_id: str):
        """A student's reading profile: band histogram, dominant and recent band, trend, stability."""
        return answer(lambda session, teacher: student_reading_profile(session, student_id, teacher),
                      "No reading profile for this student.")


@blp.route("/books/<path:book_id>")
class BookEntry(MethodView):
    @reads(BookSchema, not_found="The book was never cataloged")
    def get(self, book_id: str):
        """A book's catalog entry (the newest BOOK_CATALOGED) with its band."""
        return answer(lambda session, _teacher: book_entry(session, book_id), "No catalog entry for this book.")


api_blueprints = [blp]
