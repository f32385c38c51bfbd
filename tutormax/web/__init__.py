"""The Flask app factory: the only place the app is assembled."""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import Flask, redirect, url_for
from flask_smorest import Api
from prometheus_client import CollectorRegistry
from prometheus_flask_exporter import PrometheusMetrics
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.wrappers import Response

from tutormax import __version__
from tutormax.celery_app import celery_init_app
from tutormax.config import get_settings
from tutormax.logs import configure_logging, describe_error
from tutormax.metrics import RedisMetricsCollector
from tutormax.web import inbound, openapi

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 1024 * 1024


class TutorMaxApi(Api):
    """flask-smorest Api with SPEC §4 errors: always a message, per-field `errors`."""

    # Every status an operation answers is declared by openapi.ErrorResponses, not hidden in `default`.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def handle_http_exception(self, error: HTTPException):
        payload, code, headers = super().handle_http_exception(error)
        payload.setdefault("message", error.description or error.name)
        errors = payload.get("errors")
        # webargs nests messages under the request location ({"json": {...}}); clients
        # want the fields themselves.
        if isinstance(errors, dict) and len(errors) == 1:
            (location, inner), = errors.items()
            if location in ("json", "query", "path", "headers", "form") and isinstance(inner, dict):
                payload["errors"] = inner
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            headers = {**headers, "Allow": ", ".join(sorted(error.valid_methods))}
        if code >= 500:
            # A bug stays a 500; the caller gets the correlation id to quote, the log has the cause.
            correlation = inbound.correlation_id()
            cause = getattr(error, "original_exception", None)
            payload["message"] = f"Internal error; quote correlation id {correlation} when reporting it."
            log.error("request failed", extra={"status": code, "correlation_id": correlation},
                      exc_info=(type(cause), cause, cause.__traceback__) if cause is not None else None)
        return payload, code, headers


def _refused_by_database(error: Exception):
    """The database refused a value of the request (SQLSTATE class 22, data exception): 422, not 500.

    Validation stops such values earlier; this is the last resort. Anything else a driver
    raises (an integrity or programming error) is a bug in TutorMax and stays a 500.
    """
    if not _input_at_fault(error):
        raise error
    log.warning("database refused a request value",
                extra={"correlation_id": inbound.correlation_id(), "error": describe_error(error)})
    body = {"code": 422, "status": "Unprocessable Entity",
            "message": "A value in the request cannot be stored or compared by the database."}
    return body, 422


def _input_at_fault(error: Exception) -> bool:
    if isinstance(error, sa_exc.DataError):
        sqlstate = getattr(error.orig, "sqlstate", None) or ""
        # psycopg refuses NUL in text itself, before sending: no SQLSTATE, still the value's fault.
        return sqlstate.startswith("22") or not sqlstate
    # psycopg cannot encode an unpaired surrogate to UTF-8.
    return isinstance(error, UnicodeEncodeError) and "surrogates not allowed" in str(error)


def _unavailable(error: Exception):
    """A dependency is down: 503 with Retry-After, never a bare 500."""
    log.error("dependency unavailable", extra={"error": type(error).__name__})
    body = {"code": 503, "status": "Service Unavailable",
            "message": "A backing service (database or Redis) is unavailable; retry shortly."}
    return body, 503, {"Retry-After": "5"}


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Assemble the app: settings, API, blueprints, Celery and metrics."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        # The dashboard's session cookie: script-proof, not sent on cross-site POSTs,
        # HTTPS-only when TUTORMAX_SECURE_COOKIES is set (do so behind TLS).
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        API_TITLE="TutorMax",
        API_VERSION=__version__,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/openapi",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        # Served by this app from a pinned wheel, so the docs work on a network without the internet.
        OPENAPI_SWAGGER_UI_URL=openapi.SWAGGER_UI_URL,
        API_SPEC_OPTIONS={
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
        },
    )
    if test_config:
        app.config.update(test_config)

    # Before any blueprint: the strict JSON parser and the id converters become the app's defaults.
    inbound.install(app)
    api = TutorMaxApi(app, spec_kwargs={"extra_plugins": [openapi.ErrorResponses()]})
    openapi.register_types(api)
    openapi.install_swagger_ui(app)
    app.register_error_handler(sa_exc.DataError, _refused_by_database)
    app.register_error_handler(UnicodeEncodeError, _refused_by_database)
    for error in (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError, redis.ConnectionError,
                  redis.TimeoutError):
        app.register_error_handler(error, _unavailable)
    from tutormax.web import admin, dashboard, essays, events, learning, ops, privacy, reading, tutoring, xapi

    # Each area exposes its flask-smorest blueprints (documented in OpenAPI) and plain ones.
    for module in (events, admin, ops, learning, reading, tutoring, essays, dashboard, privacy, xapi):
        for blueprint in getattr(module, "api_blueprints", ()):
            api.register_blueprint(blueprint)
        for blueprint in getattr(module, "flask_blueprints", ()):
            app.register_blueprint(blueprint)

    @app.get("/")
    def root() -> Response:
        """Whoever opens the bare address is a person: send them to the dashboard."""
        return redirect(url_for("dashboard.home"))

    @app.get("/favicon.ico")
    def favicon() -> tuple[str, int, dict[str, str]]:
        """Browsers ask for it on every site; no icon, but no 404 in their consoles either."""
        return "", 204, {"Cache-Control": "public, max-age=86400"}

    registry = CollectorRegistry()
    registry.register(RedisMetricsCollector())
    registry.register(ops.OperatorSignalsCollector())
    PrometheusMetrics(app, registry=registry, path="/metrics", group_by="endpoint")

    celery_init_app(app)
    import tutormax.tasks  # noqa: F401  (registers every task and domain handler)

    return app
