"""Dead-letter inspection, replay and discard (admin scope)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from tutormax.schemas.common import Limit, Offset, OneOf
from tutormax.tasks import deadletters
from tutormax.web.auth import require_scope

blp = Blueprint("admin", __name__, url_prefix="/api/v1/admin", description="Operations: dead letters")


class DeadLetterQuerySchema(Schema):
    state = OneOf(("open", "replayed", "discarded", "all"), load_default="open")
    limit = Limit(100, 1000)
    offset = Offset()


class DeadLetterSchema(Schema):
    id = fields.Integer()
    event_pk = fields.Integer(metadata={"description": "The event's database id (GET /api/v1/events/{id})"})
    event_id = fields.String()
    source = fields.String()
    type = fields.String()
    stage = fields.String()
    reason = fields.String()
    error = fields.String()
    attempts = fields.Integer()
    state = fields.String()
    first_seen_at = fields.DateTime()
    last_seen_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)


class ReplayedSchema(Schema):
    id = fields.Integer()
    event_pk = fields.Integer()
    state = fields.String()


class DeadLetterPageSchema(Schema):
    dead_letters = fields.List(fields.Nested(DeadLetterSchema))
    total = fields.Integer()


def serialize_dead_letter(letter, event) -> dict:
    return {
        "id": letter.id, "event_pk": letter.event_pk, "event_id": event.event_id, "source": event.source,
        "type": event.type, "stage": letter.stage, "reason": letter.reason, "error": letter.error,
        "attempts": letter.attempts, "state": letter.state, "first_seen_at": letter.first_seen_at,
        "last_seen_at": letter.last_seen_at, "resolved_at": letter.resolved_at,
    }


@blp.route("/dead-letters")
class DeadLetters(MethodView):
    @require_scope("admin")
    @blp.arguments(DeadLetterQuerySchema, location="query")
    @blp.response(200, DeadLetterPageSchema)
    def get(self, args):
        """Dead letters (open ones by default), newest first."""
        rows, total = deadletters.list_dead_letters(args["state"], args["limit"], args["offset"])
        return {"dead_letters": [serialize_dead_letter(dl, ev) for dl, ev in rows], "total": total}


@blp.route("/dead-letters/<int:letter_id>/replay")
class DeadLetterReplay(MethodView):
    @require_scope("admin")
    @blp.response(202, ReplayedSchema)
    def post(self, letter_id: int):
        """Send the event through the pipeline again."""
        event_pk = deadletters.replay(letter_id)
        if event_pk is None:
            abort(404, message=f"No open dead letter with id {letter_id}.")
        return {"id": letter_id, "event_pk": event_pk, "state": "replayed"}


@blp.route("/dead-letters/<int:letter_id>")
class DeadLetterItem(MethodView):
    @require_scope("admin")
    @blp.response(204)
    def delete(self, letter_id: int):
        """Discard the dead letter: the event stays dead-lettered and leaves the open list."""
        if not deadletters.discard(letter_id):
            abort(404, message=f"No open dead letter with id {letter_id}.")

api_blueprints = [blp]
