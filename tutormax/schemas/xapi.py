"""xAPI 1.0.3 statements (SPEC §3.5): the statement rules of the specification's Data section.

One schema per xAPI object, one place per rule, per-field messages. Every object refuses
properties xAPI does not define (only `extensions` hold free-form data). `load` returns
the statement normalized: `contextActivities` values are always lists, timestamps are
aware datetimes (UTC when the client gave no offset). What is not enforced, and why,
is in docs/xapi.md.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from tutormax.rules.xapi import UNMAPPED
from tutormax.schemas.common import (
    EnvelopeSchema,
    IdList,
    JsonValue,
    StrictBoolean,
    StrictInteger,
    StrictNumber,
    String,
    parse_rfc3339,
)
from tutormax.schemas.learning import (
    SUBMISSION_CREATED,
    SUBMISSION_GRADED,
    SubmissionCreatedSchema,
    SubmissionGradedSchema,
)

VERSION = "1.0.3"
# Longer IRIs are refused: nothing a real client sends comes close, and ids are stored.
MAX_IRI_LENGTH = 2048
MAX_TEXT_LENGTH = 100_000

# scheme ":" then no whitespace or control characters (RFC 3987, loosely: see docs/xapi.md).
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s\x00-\x1f\x7f]+$")
_SHA1_HEX = re.compile(r"^[0-9a-fA-F]{40}$")
_MAILTO = re.compile(r"^mailto:[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+$")
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
# ISO 8601 durations: PnYnMnDTnHnMnS (the last given unit may have a fraction) or PnW.
_DURATION = re.compile(
    r"^P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?D)?(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$"
    r"|^P\d+(\.\d+)?W$")
_TIMESTAMP = re.compile(r"^(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?)([Zz]|[+-]\d{2}(?::?\d{2})?)?$")
_VERSION = re.compile(r"^1\.0(\.\d+)?$")

INTERACTION_TYPES = ("true-false", "choice", "fill-in", "long-fill-in", "matching", "performance",
                     "sequencing", "likert", "numeric", "other")
AGENT_IFIS = ("mbox", "mbox_sha1sum", "openid", "account")


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class Iri(String):
    """An absolute IRI (scheme, colon, no whitespace)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=validate.Length(min=1, max=MAX_IRI_LENGTH), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not _IRI.match(text):
            raise ValidationError("Must be an absolute IRI, e.g. http://example.com/verbs/completed.")
        return text


class Uuid(String):
    """A UUID in its canonical form; answered lowercase."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not re.fullmatch(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", text):
            raise ValidationError("Must be a UUID, e.g. 6fbd600f-d17c-4c74-801a-2ec2e53231b7.")
        return str(uuid.UUID(text))


class Timestamp(String):
    """An ISO 8601 date-time with seconds; without an offset it is taken as UTC."""

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        text = super()._deserialize(value, attr, data, **kwargs)
        match = _TIMESTAMP.match(text)
        if not match:
            raise ValidationError("Must be an ISO 8601 date-time, e.g. 2026-09-01T08:30:00Z.")
        local, offset = match.group(1), (match.group(2) or "Z").upper()
        local = re.sub(r"(\.\d{6})\d+", r"\1", local)  # Python keeps microseconds
        if offset != "Z":
            digits = offset[1:].replace(":", "")
            offset = f"{offset[0]}{digits[:2]}:{digits[2:] or '00'}"
        try:
            return parse_rfc3339(local.replace("t", "T") + offset)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class Duration(String):
    """An ISO 8601 duration, e.g. PT1H30M or P1DT0.5S."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not _DURATION.match(text) or text.endswith("T"):
            raise ValidationError("Must be an ISO 8601 duration, e.g. PT1H30M.")
        return text


class LanguageMap(JsonValue):
    """{"<RFC 5646 tag>": "text", …}."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("Must be a language map: an object of language tag → string.")
        for tag, text in value.items():
            if not _LANGUAGE_TAG.match(tag):
                raise ValidationError(f"{tag[:35]!r} is not an RFC 5646 language tag.")
            if not isinstance(text, str) or len(text) > MAX_TEXT_LENGTH:
                raise ValidationError("Every value of a language map must be a string.")
        return super()._deserialize(value, attr, data, **kwargs)


class Extensions(JsonValue):
    """{"<IRI>": any JSON value, …}."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("Must be an object whose keys are IRIs.")
        for key in value:
            if not _IRI.match(key) or len(key) > MAX_IRI_LENGTH:
                raise ValidationError(f"Extension keys must be IRIs; {key[:64]!r} is not.")
        return super()._deserialize(value, attr, data, **kwargs)


def _text(**kwargs: Any) -> String:
    return String(validate=validate.Length(max=MAX_TEXT_LENGTH), **kwargs)


class Polymorphic(fields.Field):
    """A value whose schema depends on its `objectType` (`default` when absent)."""

    def __init__(self, choices: dict[str, Any], default: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.choices = choices
        self.default = default

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("Must be an object.")
        kind = value.get("objectType", self.default)
        if kind is None:
            raise ValidationError({"objectType": ["Missing data for required field."]})
        if kind not in self.choices:
            raise ValidationError({"objectType": [f"Must be one of: {', '.join(self.choices)}."]})
        choice = self.choices[kind]
        schema = choice() if isinstance(choice, type) else choice
        return schema.load(value)


# --- agents and groups ---------------------------------------------------------------------

class AccountSchema(_Strict):
    homePage = Iri(required=True)
    name = String(required=True, validate=validate.Length(min=1, max=MAX_TEXT_LENGTH))


class _Identified(_Strict):
    name = _text()
    mbox = String()
    mbox_sha1sum = String()
    openid = Iri()
    account = fields.Nested(AccountSchema)

    @validates_schema
    def _mailbox_shapes(self, data: dict, **kwargs: Any) -> None:
        if "mbox" in data and not _MAILTO.match(data["mbox"]):
            raise ValidationError("Must be a mailto IRI, e.g. mailto:learner@example.com.", "mbox")
        if "mbox_sha1sum" in data and not _SHA1_HEX.match(data["mbox_sha1sum"]):
            raise ValidationError("Must be the 40 hexadecimal digits of a SHA-1.", "mbox_sha1sum")


def _ifis(data: dict) -> list[str]:
    return [k for k in AGENT_IFIS if k in data]


class AgentSchema(_Identified):
    objectType = String(validate=validate.Equal("Agent"))

    @validates_schema
    def _exactly_one_identifier(self, data: dict, **kwargs: Any) -> None:
        found = _ifis(data)
        if len(found) != 1:
            raise ValidationError(
                "An Agent needs exactly one identifier of mbox, mbox_sha1sum, openid, account; "
                f"got {len(found)}" + (f" ({', '.join(found)})." if found else "."), "_schema")


class GroupSchema(_Identified):
    objectType = String(required=True, validate=validate.Equal("Group"))
    member = fields.List(fields.Nested(AgentSchema))

    @validates_schema
    def _identified_or_listed(self, data: dict, **kwargs: Any) -> None:
        found = _ifis(data)
        if len(found) > 1:
            raise ValidationError(
                f"A Group has at most one identifier; got {len(found)} ({', '.join(found)}).", "_schema")
        if not found and not data.get("member"):
            raise ValidationError("An anonymous Group (no identifier) must list its members.", "member")


ACTOR_CHOICES = {"Agent": AgentSchema, "Group": GroupSchema}


def Actor(**kwargs: Any) -> Polymorphic:
    return Polymorphic(ACTOR_CHOICES, "Agent", **kwargs)


# --- verbs and activities -------------------------------------------------------------------

class VerbSchema(_Strict):
    id = Iri(required=True)
    display = LanguageMap()


class InteractionComponentSchema(_Strict):
    id = String(required=True, validate=validate.Length(min=1, max=MAX_TEXT_LENGTH))
    description = LanguageMap()


def _components(**kwargs: Any) -> fields.List:
    return fields.List(fields.Nested(InteractionComponentSchema), **kwargs)


class ActivityDefinitionSchema(_Strict):
    name = LanguageMap()
    description = LanguageMap()
    type = Iri()
    moreInfo = Iri()
    extensions = Extensions()
    interactionType = String(validate=validate.OneOf(INTERACTION_TYPES))
    correctResponsesPattern = fields.List(_text())
    choices = _components()
    scale = _components()
    source = _components()
    target = _components()
    steps = _components()


class ActivitySchema(_Strict):
    objectType = String(validate=validate.Equal("Activity"))
    id = Iri(required=True)
    definition = fields.Nested(ActivityDefinitionSchema)


class StatementRefSchema(_Strict):
    objectType = String(required=True, validate=validate.Equal("StatementRef"))
    id = Uuid(required=True)


class ActivityList(fields.Field):
    """One activity or an array of them (xAPI allows both); always loaded as a list."""

    def _deserialize(self, value, attr, data, **kwargs) -> list:
        items = value if isinstance(value, list) else [value]
        schema = ActivitySchema()
        loaded, errors = [], {}
        for index, item in enumerate(items):
            try:
                loaded.append(schema.load(item) if isinstance(item, dict) else _not_object())
            except ValidationError as exc:
                errors[index] = exc.messages
        if errors:
            raise ValidationError(errors if isinstance(value, list) else errors[0])
        return loaded


def _not_object():
    raise ValidationError("Must be an Activity object.")


class ContextActivitiesSchema(_Strict):
    parent = ActivityList()
    grouping = ActivityList()
    category = ActivityList()
    other = ActivityList()


class ContextSchema(_Strict):
    registration = Uuid()
    instructor = Actor()
    team = Polymorphic({"Group": GroupSchema}, "Group")
    contextActivities = fields.Nested(ContextActivitiesSchema)
    revision = _text()
    platform = _text()
    language = String(validate=validate.Regexp(_LANGUAGE_TAG, error="Must be an RFC 5646 language tag."))
    statement = fields.Nested(StatementRefSchema)
    extensions = Extensions()


class ScoreSchema(_Strict):
    scaled = StrictNumber(validate=validate.Range(min=-1, max=1))
    raw = StrictNumber()
    min = StrictNumber()
    max = StrictNumber()

    @validates_schema
    def _ordered(self, data: dict, **kwargs: Any) -> None:
        low, high, raw = data.get("min"), data.get("max"), data.get("raw")
        if low is not None and high is not None and not low < high:
            raise ValidationError("Must be greater than min.", "max")
        if raw is not None and low is not None and raw < low:
            raise ValidationError("Must not be less than min.", "raw")
        if raw is not None and high is not None and raw > high:
            raise ValidationError("Must not be greater than max.", "raw")


class ResultSchema(_Strict):
    score = fields.Nested(ScoreSchema)
    success = StrictBoolean()
    completion = StrictBoolean()
    response = _text()
    duration = Duration()
    extensions = Extensions()


class AttachmentSchema(_Strict):
    usageType = Iri(required=True)
    display = LanguageMap(required=True)
    description = LanguageMap()
    contentType = String(required=True, validate=validate.Length(min=1, max=255))
    length = StrictInteger(required=True, validate=validate.Range(min=0))
    sha2 = String(required=True, validate=validate.Regexp(r"^[0-9a-fA-F]{56,128}$",
                                                          error="Must be a SHA-2 hex digest."))
    fileUrl = Iri()


class _StatementBody(_Strict):
    actor = Actor(required=True)
    verb = fields.Nested(VerbSchema, required=True)
    result = fields.Nested(ResultSchema)
    context = fields.Nested(ContextSchema)
    timestamp = Timestamp()
    attachments = fields.List(fields.Nested(AttachmentSchema))

    @validates_schema
    def _context_of_an_activity(self, data: dict, **kwargs: Any) -> None:
        # xAPI: revision and platform only describe an Activity object.
        target = data.get("object") or {}
        is_activity = target.get("objectType", "Activity") == "Activity"
        for name in ("revision", "platform"):
            if name in (data.get("context") or {}) and not is_activity:
                raise ValidationError({name: ["Only allowed when the object is an Activity."]}, "context")


OBJECT_CHOICES: dict[str, Any] = {"Activity": ActivitySchema, "Agent": AgentSchema, "Group": GroupSchema,
                                  "StatementRef": StatementRefSchema}


class SubStatementSchema(_StatementBody):
    objectType = String(required=True, validate=validate.Equal("SubStatement"))
    # A SubStatement cannot hold another one.
    object = Polymorphic(OBJECT_CHOICES, "Activity", required=True)


class StatementSchema(_StatementBody):
    id = Uuid()
    object = Polymorphic({**OBJECT_CHOICES, "SubStatement": SubStatementSchema}, "Activity", required=True)
    stored = Timestamp()
    authority = Actor()
    version = String(validate=validate.Regexp(_VERSION, error="Must be a 1.0.x version, e.g. 1.0.3."))


_statement_schema = StatementSchema()


def validate_statement(data: Any) -> dict[str, Any]:
    """One statement, validated and normalized; ValidationError with per-field messages."""
    if not isinstance(data, dict):
        raise ValidationError({"_schema": ["A statement must be a JSON object."]})
    return _statement_schema.load(data)


# --- statements as stored events (source `xapi`) ------------------------------------------------
# A mapped statement is stored as its learning event: the payload of SPEC §3.1 (where
# `standard_ids` may be empty) plus `xapi`, what re-sends are compared with. The chain's
# revalidation checks stored xAPI events against these schemas (schemas.events.validate_stored_event).

SOURCE = "xapi"


class StoredStatementSchema(_Strict):
    fingerprint = String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    verb = Iri(required=True)
    unmapped_reason = String(validate=validate.OneOf(("verb", "score", "student", "class", "assignment")))


class XapiSubmissionCreatedSchema(SubmissionCreatedSchema):
    standard_ids = IdList(min_length=0, required=True)
    xapi = fields.Nested(StoredStatementSchema, required=True)


class XapiSubmissionGradedSchema(SubmissionGradedSchema):
    standard_ids = IdList(min_length=0, required=True)
    xapi = fields.Nested(StoredStatementSchema, required=True)


class XapiUnmappedSchema(EnvelopeSchema):
    xapi = fields.Nested(StoredStatementSchema, required=True)


STORED_SCHEMAS: dict[str, type[EnvelopeSchema]] = {
    SUBMISSION_CREATED: XapiSubmissionCreatedSchema,
    SUBMISSION_GRADED: XapiSubmissionGradedSchema,
    UNMAPPED: XapiUnmappedSchema,
}
