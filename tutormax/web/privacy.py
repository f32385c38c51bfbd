"""Privacy (SPEC §4, admin scope): export everything about a student or tutor, erase them."""

from __future__ import annotations

from flask import jsonify
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from tutormax.db import session_scope
from tutormax.privacy import KINDS
from tutormax.queries.privacy import subject_export
from tutormax.tasks.privacy import erasure_status, request_erasure
from tutormax.web.auth import current_principal, require_scope

blp = Blueprint("privacy", __name__, url_prefix="/api/v1/admin",
                description="Privacy: export and erase a student's or tutor's data")


def _known_kind(kind: str) -> None:
    if kind not in KINDS:
        abort(404, message="Unknown subject kind: use `student` or `tutor`.")


@blp.route("/subjects/<string:kind>/<string:subject_id>/export")
class SubjectExport(MethodView):
    @require_scope("admin")
    @blp.response(200)
    @blp.alt_response(404, description="No data about this person (or an unknown kind)")
    def get(self, kind: str, subject_id: str):
        """Every stored fact about the person as one JSON document: events, view rows, dead letters,
        profile-stream entries."""
        _known_kind(kind)
        with session_scope() as session:
            document = subject_export(session, kind, subject_id)
        if document is None:
            abort(404, message=f"TutorMax holds no data about this {kind}.")
        return jsonify(document)


class ErasureAcceptedSchema(Schema):
    erasure_id = fields.Integer()
    status = fields.String()


class ErasureSchema(Schema):
    erasure_id = fields.Integer()
    kind = fields.String()
    status = fields.String(metadata={"enum": ["pending", "done"]})
    requested_by = fields.String(metadata={"description": "The name of the API key that asked"})
    requested_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())


@blp.route("/subjects/<string:kind>/<string:subject_id>")
class Subject(MethodView):
    @require_scope("admin")
    @blp.response(202, ErasureAcceptedSchema)
    @blp.alt_response(404, description="An unknown kind")
    def delete(self, kind: str, subject_id: str):
        """Erase the person (asynchronous): follow `GET /api/v1/admin/erasures/{erasure_id}` until `done`.
        An unknown person is erased too (nothing to remove: zero counts), and erasing twice is safe."""
        _known_kind(kind)
        return {"erasure_id": request_erasure(kind, subject_id, current_principal().name), "status": "pending"}


@blp.route("/erasures/<int:erasure_id>")
class Erasure(MethodView):
    @require_scope("admin")
    @blp.response(200, ErasureSchema)
    @blp.alt_response(404, description="No such erasure")
    def get(self, erasure_id: int):
        """An erasure job: `pending` or `done`, with what it removed (counts only: no personal data)."""
        with session_scope() as session:
            status = erasure_status(session, erasure_id)
        if status is None:
            abort(404, message=f"No erasure with id {erasure_id}.")
        return status


api_blueprints = [blp]
