"""The OpenAPI document: every status an operation can answer, and an EventIn as strict as validation;
Swagger UI served from this app (no CDN), under its own Content-Security-Policy."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path
from typing import Any

import flask_swagger_ui
from apispec import BasePlugin
from flask import Blueprint, Flask, request, send_from_directory
from flask_smorest import Api
from werkzeug.wrappers import Response

from tutormax.schemas import common
from tutormax.schemas.events import SCHEMAS
from tutormax.schemas.learning import INFERABLE_TYPES
from tutormax.schemas.xapi import StatementSchema
from tutormax.web import inbound


def _ref(code: int) -> str:
    # flask-smorest registers one lazy response component per HTTPStatus name, with the error schema.
    return HTTPStatus(code).name


class ErrorResponses(BasePlugin):
    """Declares, per operation, the error statuses TutorMax answers (SPEC §2, §4).

    401/403 come from the Bearer check (internal operations declare their own 401), 404
    from unknown or impossible path ids, 400/413/415 from the body parser, 422 from
    validation (and from a value the database refuses), 503 when PostgreSQL or Redis is down.
    """

    def operation_helper(self, path: str | None = None, operations: dict | None = None, **kwargs: Any) -> None:
        for operation in (operations or {}).values():
            responses = operation.setdefault("responses", {})
            codes = [401, 422, 503]
            if "security" not in operation:  # the app-wide Bearer scheme
                codes.append(403)
            if path and "{" in path:
                codes.append(404)
            if "requestBody" in operation:
                codes += [400, 413, 415]
            for code in codes:
                # flask-smorest keys declared responses by int: keep those (their schemas are specific).
                if code not in responses and str(code) not in responses:
                    responses[str(code)] = _ref(code)


def _event_component(api: Api, event_type: str) -> dict:
    """One event type's schema as JSON Schema: the envelope plus its fields, nothing else allowed."""
    schema = api.ma_plugin.converter.schema2jsonschema(SCHEMAS[event_type])
    schema["additionalProperties"] = False
    schema["properties"]["type"] = {"type": "string", "enum": [event_type]}
    required = [name for name in schema.get("required", []) if name != "type"]
    if event_type not in INFERABLE_TYPES:
        required.append("type")
    schema["required"] = sorted(required)
    schema["title"] = event_type
    return schema


# JSON Schema cannot say "no unpaired surrogate" (JSON text rarely carries one); NUL it can.
NO_NUL = "^[^\\u0000]*$"


def _house_fields(self, field, ret: dict, **_kwargs: Any) -> dict:
    """What the house field types refuse, said in JSON Schema."""
    if isinstance(field, common.DateOrDateTime):
        return {"anyOf": [{"format": "date"}, {"format": "date-time"}]}
    if isinstance(field, common.Email):
        return {"pattern": common.EMAIL_PATTERN}
    if isinstance(field, common.String) and "enum" not in ret:
        return {"pattern": NO_NUL}
    return {}


def register_types(api: Api) -> None:
    """Teach the spec the house field types and id converters, and publish EventIn as one of the event types."""
    api.register_field(common.OffsetDateTime, "string", "date-time")
    api.register_field(common.DateOrDateTime, "string", None)
    api.ma_plugin.converter.add_attribute_function(_house_fields)
    api.register_field(common.JsonObject, "object", None)
    api.register_field(common.JsonValue, None, None)
    id_schema = {"type": "string", "minLength": 1, "maxLength": inbound.MAX_ID_LENGTH, "pattern": NO_NUL}
    api.register_converter(inbound.IdConverter, lambda _converter: dict(id_schema))
    api.register_converter(inbound.IdPathConverter, lambda _converter: dict(id_schema))
    refs = []
    for event_type in SCHEMAS:
        name = f"EventIn_{event_type}"
        api.spec.components.schema(name, component=_event_component(api, event_type))
        refs.append({"$ref": f"#/components/schemas/{name}"})
    # /xapi/statements (SPEC §3.5): LMS plugins send HTTP Basic, the API key as password.
    api.spec.components.security_scheme("basic", {"type": "http", "scheme": "basic"})
    api.spec.components.schema("XapiStatement", schema=StatementSchema)
    api.spec.components.schema("EventIn", component={
        "description": "One event: the envelope of SPEC §2 and the fields of its type (SPEC §3). Learning "
                       "submissions may omit `type` (inferred from `score`, else `assignment_id` + `standard_ids`).",
        "oneOf": refs,
    })


# --- Swagger UI at /openapi/docs, working without the internet ------------------------------

# flask-smorest renders templates/swagger_ui.html (ours overrides its own) with this base URL for
# the assets; they come from the swagger-ui dist shipped in the pinned flask-swagger-ui wheel.
SWAGGER_UI_URL = "/openapi/swagger-ui/"
SWAGGER_UI_DIST = Path(flask_swagger_ui.__file__).resolve().parent / "dist"
SWAGGER_UI_INIT = Path(__file__).resolve().parent / "swagger_ui"
INIT_SCRIPT = "tutormax-init.js"
DOCS_ENDPOINT = "api-docs.openapi_swagger_ui"

# Scripts and styles from this origin only, none inline; the UI fetches the document from here too.
DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

swagger_ui_assets = Blueprint("swagger_ui", __name__, url_prefix=SWAGGER_UI_URL.rstrip("/"))


@swagger_ui_assets.get("/<path:filename>")
def swagger_ui_asset(filename: str) -> Response:
    """A file of the swagger-ui dist, or the script that starts the UI (a file, so no inline script is needed)."""
    if filename == INIT_SCRIPT:
        return send_from_directory(SWAGGER_UI_INIT, INIT_SCRIPT)
    return send_from_directory(SWAGGER_UI_DIST, filename)


def _docs_headers(response: Response) -> Response:
    if request.endpoint == DOCS_ENDPOINT:
        response.headers["Content-Security-Policy"] = DOCS_CSP
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
    if request.endpoint in (DOCS_ENDPOINT, "swagger_ui.swagger_ui_asset"):
        response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def install_swagger_ui(app: Flask) -> None:
    """Serve Swagger UI's assets and give the docs page its security headers."""
    app.register_blueprint(swagger_ui_assets)
    app.after_request(_docs_headers)
