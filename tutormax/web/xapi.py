"""The xAPI Statement Resource (SPEC §3.5): where an LMS already sends its statements.

A statement is validated by the xAPI 1.0.3 rules (schemas/xapi.py), stripped of personal
data, mapped to its learning event (rules/xapi.py) and stored through the one ingest path
(ingest.store_events) with source `xapi` and its statement id as event id, so it travels
the same chain into the same views. All or nothing: one invalid statement and nothing is
stored. A re-sent statement is compared by the fingerprint kept in its stored payload.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Sequence

from flask import jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import ValidationError
from sqlalchemy import select
from werkzeug.wrappers import Response

from tutormax.db import session_scope, utcnow
from tutormax.ingest import store_events
from tutormax.models.events import Event
from tutormax.schemas.events import ValidatedEvent, statement_event
from tutormax.schemas.xapi import SOURCE, VERSION, validate_statement
from tutormax.web.auth import require_scope
from tutormax.web.inbound import correlation_id, json_body

log = logging.getLogger(__name__)

blp = Blueprint("xapi", __name__, url_prefix="/xapi",
                description="xAPI 1.0.3 statements from an LMS (SPEC §3.5): HTTP Basic with the API key as "
                            "password, or Bearer; header `X-Experience-API-Version: 1.0.x` required")
REALM = "TutorMax"
VERSION_HEADER = "X-Experience-API-Version"
_ACCEPTED_VERSION = re.compile(r"^1\.0(\.\d+)?$")

_VERSION_PARAMETER = {"name": VERSION_HEADER, "in": "header", "required": True,
                      "schema": {"type": "string", "pattern": _ACCEPTED_VERSION.pattern, "example": VERSION}}
_SECURITY = [{"basic": []}, {"bearer": []}]
_STATEMENTS = {"oneOf": [{"$ref": "#/components/schemas/XapiStatement"},
                         {"type": "array", "items": {"$ref": "#/components/schemas/XapiStatement"}}]}
# Declared here: the ErrorResponses plugin adds 403 only to operations under the app-wide Bearer scheme.
_ERRORS = {403: "FORBIDDEN", 409: "CONFLICT"}


@blp.after_request
def _announce_version(response: Response) -> Response:
    """xAPI: every response of the LRS says which version it speaks."""
    response.headers[VERSION_HEADER] = VERSION
    return response


def _require_version() -> None:
    given = request.headers.get(VERSION_HEADER, "").strip()
    if not _ACCEPTED_VERSION.match(given):
        abort(400, message=f"Send the header `{VERSION_HEADER}: 1.0.x` (this LRS speaks {VERSION}); "
                           f"got {given[:20]!r}." if given else f"Missing header `{VERSION_HEADER}: 1.0.x`.")


def _statements_body() -> object:
    if request.mimetype == "multipart/mixed":
        abort(415, message="Statements with attachments (multipart/mixed) are not accepted: send the statements "
                           "as application/json; an attachment may be referenced by its fileUrl.")
    if not request.is_json:
        abort(415, message="Send the statements as JSON with `Content-Type: application/json`.")
    return json_body()


def _to_events(items: Sequence[object]) -> list[ValidatedEvent]:
    """Every statement validated and mapped, or 400 naming each bad statement's index and fields."""
    received_at = utcnow()
    errors: dict[str, object] = {}
    events: list[ValidatedEvent] = []
    first_index: dict[str, int] = {}
    for index, item in enumerate(items):
        try:
            statement = validate_statement(item)
            statement.setdefault("id", str(uuid.uuid4()))
            if statement["id"] in first_index:
                raise ValidationError({"id": [f"Statement {first_index[statement['id']]} has the same id."]})
            first_index[statement["id"]] = index
            events.append(statement_event(statement, received_at))
        except ValidationError as exc:
            errors[str(index)] = exc.messages
    if errors:
        first = min(errors, key=int)
        abort(400, message=f"Statement {first} is invalid (`errors` lists every invalid statement by index); "
                           "nothing was stored.", errors=errors)
    return events


def _stored_fingerprints(statement_ids: Sequence[str]) -> dict[str, str | None]:
    if not statement_ids:
        return {}
    with session_scope() as session:
        rows = session.execute(
            select(Event.event_id, Event.payload["xapi"]["fingerprint"].astext)
            .where(Event.source == SOURCE, Event.event_id.in_(list(statement_ids)))
        ).all()
    return {statement_id: fingerprint for statement_id, fingerprint in rows}


def _conflicts(events: Sequence[ValidatedEvent], stored: dict[str, str | None]) -> dict[str, object]:
    return {str(index): {"id": ["A different statement with this id is stored already."]}
            for index, event in enumerate(events)
            if event.event_id in stored and stored[event.event_id] != event.payload["xapi"]["fingerprint"]}


def _store(events: list[ValidatedEvent]) -> None:
    """Store the statements not stored yet; 409 (nothing stored) when a stored one with the same id differs."""
    stored = _stored_fingerprints([e.event_id for e in events])
    conflicts = _conflicts(events, stored)
    if conflicts:
        abort(409, message="A statement id is taken by a different statement; nothing was stored.",
              errors=conflicts)
    fresh = [e for e in events if e.event_id not in stored]
    outcomes = store_events(fresh, correlation_id())
    raced = [e for e, outcome in zip(fresh, outcomes) if outcome.duplicate]
    if raced:
        # A concurrent request stored the same ids between our check and our insert.
        conflicts = _conflicts(raced, _stored_fingerprints([e.event_id for e in raced]))
        if conflicts:
            log.warning("xapi statement id raced with a different statement",
                        extra={"correlation_id": correlation_id()})
            abort(409, message="A statement id was taken by a different statement sent at the same time.",
                  errors=conflicts)


@blp.route("/statements")
class Statements(MethodView):
    @require_scope("events:write", basic_realm=REALM)
    @blp.doc(security=_SECURITY, parameters=[_VERSION_PARAMETER],
             requestBody={"required": True, "content": {"application/json": {"schema": _STATEMENTS}}},
             responses={200: {"description": "The statement ids, in order (generated, UUID v4, where missing)",
                              "content": {"application/json": {"schema": {
                                  "type": "array", "items": {"type": "string", "format": "uuid"}}}}},
                        **_ERRORS})
    def post(self):
        """Store one statement or an array of them, all or nothing; answer their ids."""
        _require_version()
        body = _statements_body()
        events = _to_events(body if isinstance(body, list) else [body])
        _store(events)
        return jsonify([e.event_id for e in events])

    @require_scope("events:write", basic_realm=REALM)
    @blp.doc(security=_SECURITY,
             parameters=[_VERSION_PARAMETER, {"name": "statementId", "in": "query", "required": True,
                                              "schema": {"type": "string", "format": "uuid"}}],
             requestBody={"required": True, "content": {"application/json": {"schema": {
                 "$ref": "#/components/schemas/XapiStatement"}}}},
             responses={204: {"description": "Stored (or stored already, identical)"}, **_ERRORS})
    def put(self):
        """Store one statement under `statementId`."""
        _require_version()
        given = request.args.get("statementId", "")
        try:
            statement_id = str(uuid.UUID(given)) if re.fullmatch(r"[0-9a-fA-F-]{36}", given) else None
        except ValueError:
            statement_id = None
        if statement_id is None:
            abort(400, message="Send the statement's id as the query parameter `statementId` (a UUID).",
                  errors={"statementId": ["Must be a UUID, e.g. 6fbd600f-d17c-4c74-801a-2ec2e53231b7."]})
        body = _statements_body()
        if not isinstance(body, dict):
            abort(400, message="Send one statement (a JSON object) with PUT.",
                  errors={"0": {"_schema": ["A statement must be a JSON object."]}})
        if "id" in body and (not isinstance(body["id"], str) or body["id"].lower() != statement_id):
            abort(400, message="The statement's `id` differs from `statementId`.",
                  errors={"0": {"id": ["Must equal the statementId parameter."]}})
        events = _to_events([{**body, "id": statement_id}])
        _store(events)
        return Response(status=204)


api_blueprints = [blp]
