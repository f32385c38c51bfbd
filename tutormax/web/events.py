"""Event ingestion and event status (SPEC §2, §4)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import ValidationError
from sqlalchemy import select

from tutormax.db import session_scope
from tutormax.ingest import store_events
from tutormax.models.events import DeadLetter, Event
from tutormax.schemas.events import (
    MAX_BATCH,
    BatchResultSchema,
    EventAcceptedSchema,
    EventStatusSchema,
    validate_event,
)
from tutormax.web.auth import current_principal, require_scope
from tutormax.web.inbound import correlation_id, json_body

blp = Blueprint("events", __name__, url_prefix="/api/v1/events", description="Event ingestion")


@blp.route("")
class Events(MethodView):
    @require_scope("events:write")
    @blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/EventIn"}}}})
    @blp.response(202, EventAcceptedSchema)
    @blp.alt_response(422, description="Validation failed; `errors` maps fields to messages")
    def post(self):
        """Accept one event (202), or answer a duplicate with the first event's id."""
        try:
            event = validate_event(json_body())
        except ValidationError as exc:
            abort(422, message="The event is invalid.", errors=exc.messages)
        stored = store_events([event], correlation_id())[0]
        return {"id": stored.id, "event_id": event.event_id, "source": event.source, "type": event.type,
                "duplicate": stored.duplicate}


@blp.route("/batch")
class EventBatch(MethodView):
    @require_scope("events:write")
    @blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["events"], "additionalProperties": False,
        "properties": {"events": {
            "type": "array", "minItems": 1, "maxItems": MAX_BATCH,
            # Each item is judged alone against EventIn: an invalid one is answered `invalid` in
            # `results` (still 200) while the valid ones are stored, so any JSON value may be sent.
            "items": {"description": "An event (see EventIn); invalid items are reported per index"},
        }}}}}})
    @blp.response(200, BatchResultSchema)
    def post(self):
        """Accept up to 1000 events; valid ones are stored even when others are invalid."""
        body = json_body()
        if not isinstance(body, dict) or set(body) != {"events"}:
            abort(422, message="The batch is invalid.",
                  errors={"events": ["Send an object with exactly one field, `events`: a list of events."]})
        items = body["events"]
        if not isinstance(items, list) or not items:
            abort(422, message="The batch is invalid.", errors={"events": ["Must be a non-empty list."]})
        if len(items) > MAX_BATCH:
            abort(422, message="The batch is invalid.",
                  errors={"events": [f"At most {MAX_BATCH} events per batch; got {len(items)}."]})
        valid, results = [], []
        for index, item in enumerate(items):
            try:
                valid.append((index, validate_event(item)))
            except ValidationError as exc:
                results.append({"index": index, "status": "invalid", "errors": exc.messages})
        stored = store_events([e for _, e in valid], correlation_id())
        for (index, _event), outcome in zip(valid, stored):
            results.append({"index": index, "status": "duplicate" if outcome.duplicate else "accepted",
                            "id": outcome.id})
        results.sort(key=lambda r: r["index"])
        return {
            "accepted": sum(r["status"] == "accepted" for r in results),
            "duplicates": sum(r["status"] == "duplicate" for r in results),
            "invalid": sum(r["status"] == "invalid" for r in results),
            "results": results,
        }


def _iso(value):
    return value.isoformat() if value is not None else None


@blp.route("/<int:event_pk>")
class EventStatus(MethodView):
    @require_scope("read")
    @blp.response(200, EventStatusSchema)
    def get(self, event_pk: int):
        """The stored event with its pipeline status and stage timestamps."""
        if current_principal().teacher_id is not None:
            # Raw events can carry other classes' data and tutors' personal data.
            abort(403, message="Teacher-bound keys cannot read raw events.")
        with session_scope() as session:
            event = session.get(Event, event_pk)
            if event is None:
                abort(404, message=f"No event with id {event_pk}.")
            letter = session.scalar(select(DeadLetter).where(DeadLetter.event_pk == event_pk))
            return {
                "id": event.id, "event_id": event.event_id, "source": event.source, "type": event.type,
                "domain": event.domain, "status": event.status, "correlation_id": event.correlation_id,
                "timestamp": _iso(event.timestamp), "payload": event.payload,
                "stages": {
                    "received_at": _iso(event.received_at), "validated_at": _iso(event.validated_at),
                    "enriched_at": _iso(event.enriched_at), "persisted_at": _iso(event.persisted_at),
                    "processed_at": _iso(event.processed_at), "dead_lettered_at": _iso(event.dead_lettered_at),
                },
                "dead_letter": None if letter is None else {
                    "id": letter.id, "stage": letter.stage, "reason": letter.reason, "state": letter.state,
                    "attempts": letter.attempts,
                },
            }

api_blueprints = [blp]
