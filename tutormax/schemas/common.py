"""Fields and the envelope shared by every event schema (SPEC §2).

These are the only field types the input schemas use. Each refuses, with a
per-field 422 message, what PostgreSQL or the pipeline could not hold, so an
event that is answered 202 can always be processed:
strings without NUL or unpaired surrogates, integers within their column's range,
finite numbers of bounded magnitude, date-times whose UTC value exists, and
free-form JSON (`metadata`, `error_detail`) checked all the way down.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta, timezone

from marshmallow import RAISE, Schema, ValidationError, fields, validate

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SURROGATE = re.compile("[\ud800-\udfff]")

# PostgreSQL `integer` columns (session_number, duration_minutes, ratings, counts …).
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
# PostgreSQL `bigint`: database ids in paths and offsets in queries.
BIGINT_MAX = 2**63 - 1
# Numbers without a narrower range of their own: far inside a double, so sums and means stay finite.
NUMBER_LIMIT = 1e15
# A UTC instant one day inside Python's datetime range, so it can be shown in any offset (±24 h).
EARLIEST_UTC = datetime(1, 1, 2, tzinfo=timezone.utc)
LATEST_UTC = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=timezone.utc)
_EARLIEST_NAIVE, _LATEST_NAIVE = EARLIEST_UTC.replace(tzinfo=None), LATEST_UTC.replace(tzinfo=None)
# Nesting of free-form JSON values inside an event (the body parser allows 32 levels in all).
MAX_JSON_DEPTH = 16


def unstorable_text(value: str) -> str | None:
    """Why PostgreSQL cannot store `value` as text (or jsonb), else None."""
    if "\x00" in value:
        return "Must not contain NUL characters (\\u0000)."
    if _SURROGATE.search(value):
        return "Must not contain unpaired UTF-16 surrogates (\\ud800–\\udfff)."
    return None


def parse_rfc3339(value: object) -> datetime:
    """An aware datetime from an RFC 3339 string with offset whose UTC value is representable; ValueError otherwise."""
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("Must be an RFC 3339 date-time with a UTC offset, e.g. 2026-09-01T08:30:00+02:00.")
    text = value.replace("t", "T").replace(" ", "T").replace("z", "Z")
    # fromisoformat accepts at most microseconds.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"Not a valid date-time: {exc}.") from None
    # UTC = local − offset; compare the local time with the bounds shifted by the offset, since
    # astimezone() itself would overflow (the bounds sit a day inside the range, offsets are < 24 h).
    offset = moment.utcoffset() or timedelta(0)
    local = moment.replace(tzinfo=None)
    if not _EARLIEST_NAIVE + offset <= local <= _LATEST_NAIVE + offset:
        raise ValueError("Must lie between 0001-01-02T00:00:00Z and 9999-12-30T23:59:59Z once converted to UTC.")
    return moment


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
        except ValueError as exc:
            if isinstance(value, str) and _RFC3339.match(value):
                raise ValidationError(str(exc)) from None
            raise ValidationError("Must be a date (YYYY-MM-DD) or an RFC 3339 date-time with offset.") from None


def _within(given, low: float, high: float) -> list:
    """The field's validators with its Range (if any) narrowed to [low, high], so one message names both ends."""
    validators = [] if given is None else list(given) if isinstance(given, (list, tuple)) else [given]
    ranges = [v for v in validators if isinstance(v, validate.Range)]
    others = [v for v in validators if not isinstance(v, validate.Range)]
    for r in ranges:
        low = low if r.min is None else max(low, r.min)
        high = high if r.max is None else min(high, r.max)
    return [validate.Range(min=low, max=high), *others]


class StrictNumber(fields.Float):
    """A JSON number: strings, booleans, NaN and infinities are rejected.

    |x| ≤ 1e15 unless a narrower range is given.
    """

    def __init__(self, *, validate=None, **kwargs) -> None:
        super().__init__(validate=_within(validate, -NUMBER_LIMIT, NUMBER_LIMIT), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError("Not a valid number.")
        try:
            number = float(value)
        except OverflowError:
            raise ValidationError("Must be a finite number.") from None
        if not math.isfinite(number):
            raise ValidationError("Must be a finite number.")
        return number


class StrictInteger(fields.Integer):
    """A JSON integer within a PostgreSQL `integer` column (or the narrower range given); no strings or booleans."""

    def __init__(self, *, validate=None, **kwargs) -> None:
        super().__init__(validate=_within(validate, INT32_MIN, INT32_MAX), **kwargs)

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


class String(fields.String):
    """A string PostgreSQL can store: no NUL, no unpaired surrogate. Input schemas use this, never fields.String."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        reason = unstorable_text(text)
        if reason:
            raise ValidationError(reason)
        return text


# local@domain.tld: no spaces, control characters or second @, a top-level domain of two letters or more.
# One rule, documented as this pattern in OpenAPI, so what a client is told is valid is accepted.
EMAIL_PATTERN = r"^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+\.[A-Za-z]{2,63}$"
_EMAIL = re.compile(EMAIL_PATTERN)


class Email(String):
    """An email address (personal data: stored, never logged)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.validators.insert(0, _email_shape)


def _email_shape(value: str) -> None:
    # fullmatch: with re.match, `$` would also accept a trailing newline.
    if not _EMAIL.fullmatch(value):
        raise ValidationError("Not a valid email address.")


def json_value_problem(value: object, depth: int = 0) -> str | None:
    """Why a free-form JSON value cannot be stored and read back as jsonb, else None (iterative, bounded depth)."""
    stack = [(value, depth)]
    while stack:
        item, level = stack.pop()
        if level > MAX_JSON_DEPTH:
            return f"Must not nest deeper than {MAX_JSON_DEPTH} levels."
        if isinstance(item, str):
            reason = unstorable_text(item)
            if reason:
                return reason
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, (int, float)):
            if isinstance(item, float) and not math.isfinite(item) or abs(item) > NUMBER_LIMIT:
                return f"Numbers must be finite and at most {NUMBER_LIMIT:g} in magnitude."
        elif isinstance(item, dict):
            for key, child in item.items():
                stack.append((key, level + 1))
                stack.append((child, level + 1))
        elif isinstance(item, list):
            stack.extend((child, level + 1) for child in item)
        else:
            return "Not a JSON value."
    return None


class JsonValue(fields.Raw):
    """Any JSON value that jsonb can hold: clean strings and keys, bounded numbers and depth."""

    def _deserialize(self, value, attr, data, **kwargs):
        problem = json_value_problem(value)
        if problem:
            raise ValidationError(problem)
        return value


class JsonObject(JsonValue):
    """A JSON object that jsonb can hold (e.g. `metadata`)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("Not a valid mapping type.")
        return super()._deserialize(value, attr, data, **kwargs)


def Id(**kwargs) -> String:
    """A pseudonymous identifier: a string of 1–128 characters."""
    return String(validate=validate.Length(min=1, max=128), **kwargs)


def Text(max_length: int = 1000, **kwargs) -> String:
    return String(validate=validate.Length(min=1, max=max_length), **kwargs)


def OneOf(choices, **kwargs) -> String:
    """A string that must be one of `choices`."""
    return String(validate=validate.OneOf(choices), **kwargs)


def IdList(min_length: int = 1, **kwargs) -> fields.List:
    return fields.List(Id(), validate=validate.Length(min=min_length, max=10000), **kwargs)


class EnvelopeSchema(Schema):
    """The common fields of every event; type-specific schemas extend it."""

    class Meta:
        unknown = RAISE

    event_id = Id(required=True)
    source = String(required=True, validate=validate.Length(min=1, max=64))
    type = String(required=True)
    timestamp = OffsetDateTime(required=True)


ENVELOPE_FIELDS = ("event_id", "source", "type", "timestamp")


# --- query arguments -------------------------------------------------------------------------

def Limit(default: int, maximum: int, **kwargs) -> fields.Integer:
    """A page size 1..`maximum`."""
    return fields.Integer(load_default=default, validate=validate.Range(min=1, max=maximum), **kwargs)


def Offset(**kwargs) -> fields.Integer:
    """A row offset, bounded so that it always fits PostgreSQL's bigint OFFSET."""
    return fields.Integer(load_default=0, validate=validate.Range(min=0, max=INT32_MAX), **kwargs)
