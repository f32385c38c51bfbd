"""Privacy (SPEC §4, admin scope): export everything about a student or tutor, erase them."""

from __future__ import annotations

from flask import jsonify
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from tutormax.db import session_scope
from tutormax.privacy import KINDS
from tutormax.queries.privacy import subject_export
from tutormax.web.auth import require_scope

blp = Blueprint("privacy", __name__, url_prefix="/api/v1/admin",
                description="Privacy: export and erase a student's or tutor's data")


def _known_kind(kind: str) -> None:
    if kind not in KINDS:
        abort(404, message="Unknown subject kind: use `student` or `tutor`.")


@blp.route("/subjects/<string:kind>/<path:subject_id>/export")
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


api_blueprints = [blp]
