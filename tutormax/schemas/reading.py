"""Reading event and response schemas (SPEC §3.2, §4)."""

from marshmallow import Schema, fields, validate

from tutormax.schemas.common import EnvelopeSchema, Id, OneOf, StrictNumber, Text

BANDS = ("beginner", "early_elementary", "late_elementary", "middle_school", "advanced")


class BookCatalogedSchema(EnvelopeSchema):
    book_id = Id(required=True)
    title = Text(max_length=1000, required=True)
    author = Text(max_length=500, allow_none=True)
    reading_level = StrictNumber(allow_none=True, validate=validate.Range(min=0))
    difficulty_band = OneOf(BANDS, allow_none=True)


class BookCheckedOutSchema(EnvelopeSchema):
    student_id = Id(required=True)
    book_id = Id(required=True)


BOOK_CATALOGED = "BOOK_CATALOGED"
BOOK_CHECKED_OUT = "BOOK_CHECKED_OUT"
EVENT_SCHEMAS = {
    BOOK_CATALOGED: BookCatalogedSchema,
    BOOK_CHECKED_OUT: BookCheckedOutSchema,
}


# --- response schemas ----------------------------------------------------------------------

TRENDS = ("insufficient_data", "advancing", "declining", "steady")


class ReadingProfileSchema(Schema):
    student_id = fields.String()
    histogram = fields.Dict(
        keys=fields.String(validate=validate.OneOf(BANDS)), values=fields.Integer(),
        metadata={"description": "band → checkouts of books in that band (only bands with checkouts)"},
    )
    total_checkouts = fields.Integer()
    unbanded_checkouts = fields.Integer(metadata={"description": "checkouts of books uncataloged or without a band"})
    dominant_band = fields.String(allow_none=True, metadata={"enum": list(BANDS)})
    recent_band = fields.String(allow_none=True, metadata={"enum": list(BANDS)})
    trend = fields.String(metadata={"enum": list(TRENDS)})
    stability = fields.Float(allow_none=True,
                             metadata={"description": "dominant-band share of banded checkouts, 2 decimals"})
    last_event_id = fields.Integer(metadata={"description": "database id of the event that last changed the profile"})
    updated_at = fields.DateTime()


class BookSchema(Schema):
    book_id = fields.String()
    title = fields.String()
    author = fields.String(allow_none=True)
    reading_level = fields.Float(allow_none=True)
    difficulty_band = fields.String(allow_none=True, metadata={"enum": list(BANDS)})
    band = fields.String(allow_none=True, metadata={"enum": list(BANDS),
                                                    "description": "difficulty_band, else the band of reading_level"})
    cataloged_at = fields.DateTime(metadata={"description": "timestamp of the winning BOOK_CATALOGED event"})
    last_event_id = fields.Integer(metadata={"description": "database id of that event"})
    updated_at = fields.DateTime()
