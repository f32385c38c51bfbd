"""Liveness, readiness and metrics for operators."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from sqlalchemy import text

from tutormax.db import get_engine
from tutormax.migrate import schema_is_current
from tutormax.redis_client import get_redis

log = logging.getLogger(__name__)
bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers; no dependency is checked."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Readiness: PostgreSQL and Redis answer and the schema is at the latest migration."""
    checks: dict[str, str] = {}
    try:
        engine = get_engine()
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
        checks["schema"] = "ok" if schema_is_current(engine) else "not at head: run `tutormax db upgrade`"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        checks["database"] = f"error: {type(exc).__name__}"
        checks.setdefault("schema", "unknown")
    try:
        get_redis().ping()
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return jsonify(status="ready" if ready else "not ready", checks=checks), 200 if ready else 503

flask_blueprints = [bp]
