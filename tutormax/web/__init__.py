"""The Flask app factory: the only place the app is assembled."""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import Flask
from sqlalchemy import exc as sa_exc
from flask_smorest import Api
from prometheus_client import CollectorRegistry
from prometheus_flask_exporter import PrometheusMetrics
from werkzeug.exceptions import HTTPException

from tutormax import __version__
from tutormax.celery_app import celery_init_app
from tutormax.config import get_settings
from tutormax.logs import configure_logging
from tutormax.metrics import RedisMetricsCollector

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 1024 * 1024


class TutorMaxApi(Api):
    """flask-smorest Api with SPEC §4 errors: always a message, per-field `errors`."""

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
        if code >= 500:
            log.error("request failed", extra={"status": code})
        return payload, code, headers


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
        OPENAPI_SWAGGER_UI_URL="https://cdn.jsdelivr.net/npm/swagger-ui-dist/",
        API_SPEC_OPTIONS={
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
        },
    )
    if test_config:
        app.config.update(test_config)

    api = TutorMaxApi(app)
    for error in (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError, redis.ConnectionError,
                  redis.TimeoutError):
        app.register_error_handler(error, _unavailable)
    from tutormax.web import admin, dashboard, essays, events, learning, ops, reading, tutoring

    # Each area exposes its flask-smorest blueprints (documented in OpenAPI) and plain ones.
    for module in (events, admin, ops, learning, reading, tutoring, essays, dashboard):
        for blueprint in getattr(module, "api_blueprints", ()):
            api.register_blueprint(blueprint)
        for blueprint in getattr(module, "flask_blueprints", ()):
            app.register_blueprint(blueprint)

    registry = CollectorRegistry()
    registry.register(RedisMetricsCollector())
    registry.register(ops.OperatorSignalsCollector())
    PrometheusMetrics(app, registry=registry, path="/metrics", group_by="endpoint")

    celery_init_app(app)
    import tutormax.tasks  # noqa: F401  (registers every task and domain handler)

    return app
