"""Reading event schemas (SPEC §3.2)."""

from marshmallow import fields, validate

from tutormax.schemas.common import EnvelopeSchema, Id, StrictNumber, Text

BANDS = ("beginner", "early_elementary", "late_elementary", "middle_school", "advanced")


class BookCatalogedSchema(EnvelopeSchema):
    book_id = Id(required=True)
    title = Text(max_length=1000, required=True)
    author = Text(max_length=500, allow_none=True)
    reading_level = StrictNumber(allow_none=True, validate=validate.Range(min=0))
    difficulty_band = fields.String(allow_none=True, validate=validate.OneOf(BANDS))


class BookCheckedOutSchema(EnvelopeSchema):
    student_id = Id(required=True)
    book_id = Id(required=True)


EVENT_SCHEMAS = {
    "BOOK_CATALOGED": BookCatalogedSchema,
    "BOOK_CHECKED_OUT": BookCheckedOutSchema,
}
