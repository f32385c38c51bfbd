"""Fields and the envelope shared by every event schema (SPEC §2)."""

from __future__ import annotations

import math
import re
from datetime import date, datetime

from marshmallow import RAISE, Schema, ValidationError, fields, validate

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_rfc3339(value: object) -> datetime:
    """An aware datetime from an RFC 3339 string with offset; ValueError otherwise."""
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("Must be an RFC 3339 date-time with a UTC offset, e.g. 2026-09-01T08:30:00+02:00.")
    text = value.replace("t", "T").replace(" ", "T").replace("z", "Z")
    # fromisoformat accepts at most microseconds.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"Not a valid date-time: {exc}.") from None


class OffsetDateTime(fields.Field):
    """RFC 3339 date-time that must carry an offset; the offset is kept."""

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        try:
            return parse_rfc3339(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.isoformat()


class DateOrDateTime(fields.Field):
    """A calendar date (YYYY-MM-DD) or an RFC 3339 date-time."""

    def _deserialize(self, value, attr, data, **kwargs) -> date | datetime:
        if isinstance(value, str) and _DATE.match(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise ValidationError("Not a valid date.") from None
        try:
            return parse_rfc3339(value)
        except ValueError:
            raise ValidationError("Must be a date (YYYY-MM-DD) or an RFC 3339 date-time with offset.") from None


class StrictNumber(fields.Float):
    """A JSON number: strings, booleans, NaN and infinities are rejected."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError("Not a valid number.")
        if not math.isfinite(value):
            raise ValidationError("Must be a finite number.")
        return float(value)


class StrictInteger(fields.Integer):
    """A JSON integer: strings, booleans and fractional numbers are rejected."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ValidationError("Not a valid integer.")
        return value


class StrictBoolean(fields.Boolean):
    """A JSON true/false only."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("Not a valid boolean.")
        return value


def Id(**kwargs) -> fields.String:
    """A pseudonymous identifier: a string of 1–128 characters."""
    return fields.String(validate=validate.Length(min=1, max=128), **kwargs)


def Text(max_length: int = 1000, **kwargs) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)


def IdList(min_length: int = 1, **kwargs) -> fields.List:
    return fields.List(Id(), validate=validate.Length(min=min_length, max=10000), **kwargs)


class EnvelopeSchema(Schema):
    """The common fields of every event; type-specific schemas extend it."""

    class Meta:
        unknown = RAISE

    event_id = Id(required=True)
    source = fields.String(required=True, validate=validate.Length(min=1, max=64))
    type = fields.String(required=True)
    timestamp = OffsetDateTime(required=True)


ENVELOPE_FIELDS = ("event_id", "source", "type", "timestamp")
