"""Validation of incoming events: one schema per type, all four domains."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import lru_cache
from importlib import import_module
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields

from tutormax.config import DOMAINS
from tutormax.rules import xapi as xapi_rules
from tutormax.schemas import learning, xapi
from tutormax.schemas.common import ENVELOPE_FIELDS, EnvelopeSchema

SCHEMAS: dict[str, type[EnvelopeSchema]] = {}
DOMAIN_OF: dict[str, str] = {}
# Every domain of tutormax.config has a schemas module declaring its EVENT_SCHEMAS.
for _domain in DOMAINS:
    for _type, _schema in import_module(f"tutormax.schemas.{_domain}").EVENT_SCHEMAS.items():
        SCHEMAS[_type] = _schema
        DOMAIN_OF[_type] = _domain
EVENT_TYPES = tuple(SCHEMAS)
MAX_BATCH = 1000


@dataclass(frozen=True)
class ValidatedEvent:
    """An event that passed its schema: envelope plus a JSON-safe payload."""

    source: str
    event_id: str
    type: str
    domain: str
    timestamp: datetime  # UTC
    tz_offset_minutes: int
    payload: dict[str, Any]


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


class _EnvelopeOnly(EnvelopeSchema):
    class Meta:
        unknown = EXCLUDE


@lru_cache(maxsize=None)
def _loader(event_type: str) -> Schema:
    """One schema instance per type, shared: building one per event (fields deep-copied) cost
    a tenth of a POST, and a chain's revalidation builds one per event. `load` keeps no state
    on the instance, so threads share it safely."""
    return SCHEMAS[event_type]()


def validate_event(data: Any) -> ValidatedEvent:
    """Validate one event body; raises ValidationError with per-field messages."""
    if not isinstance(data, dict):
        raise ValidationError({"_schema": ["An event must be a JSON object."]})
    if data.get("source") == xapi.SOURCE:
        # Statement ids are idempotency keys of that source: only /xapi/statements writes them.
        errors = {"source": [f"`{xapi.SOURCE}` is reserved for statements sent to /xapi/statements."]}
        raise ValidationError(errors)
    event_type = data.get("type")
    # Only an absent `type` is inferred; `"type": null` is an error like any other null.
    if "type" not in data:
        event_type = learning.infer_type(data)
        if event_type is None:
            errors = _EnvelopeOnly(partial=("type",)).validate(data)
            errors["type"] = [
                "Missing data for required field. Learning events may omit it only when they carry "
                "`score` (SUBMISSION_GRADED) or `assignment_id` and `standard_ids` (SUBMISSION_CREATED)."
            ]
            raise ValidationError(errors)
        data = {**data, "type": event_type}
    if not isinstance(event_type, str) or event_type not in SCHEMAS:
        errors = _EnvelopeOnly(partial=("type",)).validate({k: v for k, v in data.items() if k != "type"})
        errors["type"] = [f"Must be one of: {', '.join(EVENT_TYPES)}."]
        raise ValidationError(errors)
    loaded = _loader(event_type).load(data)
    timestamp: datetime = loaded["timestamp"]
    offset = timestamp.utcoffset()
    payload = {k: _json_safe(v) for k, v in loaded.items() if k not in ENVELOPE_FIELDS}
    if event_type == "FEEDBACK_SUBMITTED" and payload.get("submitted_at") is None:
        payload["submitted_at"] = timestamp.isoformat()
    return ValidatedEvent(
        source=loaded["source"],
        event_id=loaded["event_id"],
        type=event_type,
        domain=DOMAIN_OF[event_type],
        timestamp=timestamp.astimezone(timezone.utc),
        tz_offset_minutes=int(offset.total_seconds() // 60) if offset is not None else 0,
        payload=payload,
    )


def _envelope(loaded: dict[str, Any], event_type: str, domain: str) -> ValidatedEvent:
    timestamp: datetime = loaded["timestamp"]
    offset = timestamp.utcoffset()
    return ValidatedEvent(
        source=loaded["source"], event_id=loaded["event_id"], type=event_type, domain=domain,
        timestamp=timestamp.astimezone(timezone.utc),
        tz_offset_minutes=int(offset.total_seconds() // 60) if offset is not None else 0,
        payload={k: _json_safe(v) for k, v in loaded.items() if k not in ENVELOPE_FIELDS},
    )


@lru_cache(maxsize=None)
def _stored_loader(event_type: str) -> Schema:
    """One shared instance per stored xAPI event type (as _loader)."""
    return xapi.STORED_SCHEMAS[event_type]()


def statement_event(statement: dict[str, Any], received_at: datetime) -> ValidatedEvent:
    """The event a validated xAPI statement is stored as (SPEC §3.5): its learning event, or XAPI_UNMAPPED.

    Personal data is stripped here, before anything else reads the statement; `statement["id"]` must be set.
    """
    clean = xapi_rules.strip_personal_data(statement)
    mapping = xapi_rules.map_statement(clean)
    mark: dict[str, Any] = {"fingerprint": xapi_rules.statement_fingerprint(clean), "verb": clean["verb"]["id"]}
    if mapping.reason is not None:
        mark["unmapped_reason"] = mapping.reason
    body = {**mapping.payload, "xapi": mark, "event_id": clean["id"], "source": xapi.SOURCE, "type": mapping.type,
            "timestamp": (clean.get("timestamp") or received_at).isoformat()}
    return _envelope(_stored_loader(mapping.type).load(body), mapping.type, "learning")


def validate_stored_event(body: dict[str, Any]) -> ValidatedEvent:
    """Check a stored event against today's schemas: statements by their stored form, the rest as if posted."""
    if body.get("source") == xapi.SOURCE and body.get("type") in xapi.STORED_SCHEMAS:
        return _envelope(_stored_loader(body["type"]).load(body), body["type"], "learning")
    return validate_event(body)


class EventAcceptedSchema(Schema):
    id = fields.Integer()
    event_id = fields.String()
    source = fields.String()
    type = fields.String()
    duplicate = fields.Boolean()


class BatchItemResultSchema(Schema):
    index = fields.Integer()
    status = fields.String(metadata={"enum": ["accepted", "duplicate", "invalid"]})
    id = fields.Integer()
    errors = fields.Dict()


class BatchResultSchema(Schema):
    accepted = fields.Integer()
    duplicates = fields.Integer()
    invalid = fields.Integer()
    results = fields.List(fields.Nested(BatchItemResultSchema))


class EventStatusSchema(Schema):
    id = fields.Integer()
    event_id = fields.String()
    source = fields.String()
    type = fields.String()
    domain = fields.String()
    timestamp = fields.String()
    payload = fields.Dict()
    status = fields.String(metadata={"enum": ["received", "processed", "dead_lettered"]})
    correlation_id = fields.String(allow_none=True)
    stages = fields.Dict(
        metadata={"description": "received/validated/enriched/persisted/processed/dead_lettered times"})
    dead_letter = fields.Dict(allow_none=True)
