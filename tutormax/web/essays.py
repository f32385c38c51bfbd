"""Internal batch status API for services (SPEC §3.4, §4), read through a Redis cache.

Services authenticate with `X-Internal-API-Key` + `X-Service-ID`, not with a
Bearer key. Responses are cached in Redis (tutormax.cache) for 300 s under keys that
embed a version counter which the recompute task INCRs on every change, so a
read after an update never sees the old body. When Redis fails the API answers
from PostgreSQL and skips the cache for a few seconds (fail open, no waits).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable

from flask import g, jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from tutormax.cache import (
    batch_cache_key,
    batch_version_key,
    read_through,
    user_cache_key,
    user_keys_set,
    user_version_key,
)
from tutormax.config import get_settings
from tutormax.db import read_session
from tutormax.queries.essays import batch_status, user_batches
from tutormax.schemas.essays import (
    BatchStatusSchema,
    InternalAuthErrorSchema,
    UserBatchesQuerySchema,
    UserBatchesSchema,
)

log = logging.getLogger(__name__)

MISSING_AUTHENTICATION = {"error": "Missing authentication"}
INVALID_CREDENTIALS = {"error": "Invalid credentials"}
# After a Redis error the cache is bypassed this long, so an outage costs one timeout, not one per request.

SECURITY_SCHEMES = {
    "internalApiKey": {"type": "apiKey", "in": "header", "name": "X-Internal-API-Key",
                       "description": "The shared INTERNAL_API_KEY"},
    "serviceId": {"type": "apiKey", "in": "header", "name": "X-Service-ID",
                  "description": "The calling service, one of ALLOWED_SERVICE_IDS"},
}
INTERNAL_SECURITY = [{"internalApiKey": [], "serviceId": []}]
USER_HEADER = {
    "in": "header", "name": "X-User-ID", "required": False, "schema": {"type": "string"},
    "description": "The end user the service acts for: another user's batches answer 404",
}


class InternalBlueprint(Blueprint):
    """A Blueprint that also documents the service-authentication headers as security schemes."""

    def register_views_in_doc(self, api, app, spec, *, name, parameters):
        for scheme_id, scheme in SECURITY_SCHEMES.items():
            if scheme_id not in spec.components.security_schemes:
                spec.components.security_scheme(scheme_id, scheme)
        return super().register_views_in_doc(api, app, spec, name=name, parameters=parameters)


blp = InternalBlueprint(
    "essays_internal", __name__, url_prefix="/internal/v1/batches",
    description="Essay batch status for internal services (X-Internal-API-Key + X-Service-ID)",
)


@blp.before_request
def authenticate_service():
    """401 with the exact bodies services expect, before any argument parsing."""
    key = request.headers.get("X-Internal-API-Key", "")
    service_id = request.headers.get("X-Service-ID", "")
    if not key or not service_id:
        return jsonify(MISSING_AUTHENTICATION), 401
    settings = get_settings()
    expected = settings.internal_api_key
    # Bytes, so any header text compares in constant time; an unset key accepts nothing.
    key_ok = bool(expected) and hmac.compare_digest(key.encode(), expected.encode())
    if not key_ok or service_id not in settings.allowed_service_ids:
        log.info("internal API authentication failed", extra={"reason": "invalid_credentials"})
        return jsonify(INVALID_CREDENTIALS), 401
    g.service_id = service_id
    return None


def _read(query: Callable[..., dict | None], *args: object) -> dict | None:
    """A query of tutormax.queries.essays in a read session (a cache miss)."""
    with read_session() as session:
        return query(session, *args)


def _acting_user() -> str | None:
    """The optional X-User-ID header."""
    return request.headers.get("X-User-ID") or None


# --- routes ---------------------------------------------------------------------------


@blp.route("/<batch_id>/status", parameters=[USER_HEADER])
class BatchStatus(MethodView):
    @blp.doc(security=INTERNAL_SECURITY)
    @blp.response(200, BatchStatusSchema)
    @blp.alt_response(401, schema=InternalAuthErrorSchema, description="Missing or invalid service credentials")
    @blp.alt_response(404, description="No such registered batch (or another user's batch)")
    def get(self, batch_id: str):
        """Status of one batch with its essays; `overall_status` is the client status."""
        body = read_through("batch_status", batch_version_key(batch_id),
                            lambda version: batch_cache_key(batch_id, version),
                            lambda: _read(batch_status, batch_id))
        user = _acting_user()
        if body is None or (user is not None and body.get("user_id") != user):
            abort(404, message=f"No batch {batch_id}.")
        return body


@blp.route("/user/<user_id>", parameters=[USER_HEADER])
class UserBatches(MethodView):
    @blp.doc(security=INTERNAL_SECURITY)
    @blp.arguments(UserBatchesQuerySchema, location="query")
    @blp.response(200, UserBatchesSchema)
    @blp.alt_response(401, schema=InternalAuthErrorSchema, description="Missing or invalid service credentials")
    @blp.alt_response(404, description="X-User-ID names another user")
    def get(self, args: dict, user_id: str):
        """The user's batches, newest first, optionally only those with one client status."""
        user = _acting_user()
        if user is not None and user != user_id:
            abort(404, message="No batches for this user.")
        limit, offset, status = args["limit"], args["offset"], args["status"]
        return read_through("user_batches", user_version_key(user_id),
                            lambda version: user_cache_key(user_id, version, limit, offset, status),
                            lambda: _read(user_batches, user_id, limit, offset, status),
                            track_in=user_keys_set(user_id))


api_blueprints = [blp]
