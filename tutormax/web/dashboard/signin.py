"""Dashboard sign-in: a `read` API key once, then a signed session holding only the key's id; CSRF."""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from flask import abort, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from tutormax.web.auth import Principal, principal_for_key, principal_for_key_id
from tutormax.web.dashboard import bp

log = logging.getLogger(__name__)

SIGN_IN_LIFETIME = timedelta(hours=12)
MAX_KEY_LENGTH = 256  # real keys are ~47 characters; longer input is not worth hashing


def csrf_token() -> str:
    """The session's CSRF token, created on first use."""
    token = session.get("csrf_token")
    if not token:
        token = session["csrf_token"] = secrets.token_urlsafe(32)
    return token


def _check_csrf() -> None:
    sent = request.form.get("csrf_token", "")
    expected = session.get("csrf_token", "")
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        abort(400, description="The form expired or did not come from this site; reload the page and try again.")


def _safe_next(target: str | None) -> str:
    """Only a path inside the dashboard, so the sign-in form cannot redirect off-site."""
    if target and target.startswith("/dashboard/") and "\\" not in target and not target.startswith("//"):
        return target
    return url_for(".home")


def _signed_in_principal() -> Principal | None:
    key_id, since = session.get("key_id"), session.get("signed_in_at")
    if not isinstance(key_id, int) or not isinstance(since, int):
        return None
    if time.time() - since > SIGN_IN_LIFETIME.total_seconds():
        return None
    principal = principal_for_key_id(key_id)
    return principal if principal is not None and "read" in principal.scopes else None


def signed_in(view: Callable) -> Callable:
    """Page decorator: redirect to sign-in unless the session's key is still valid with `read`."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        principal = _signed_in_principal()
        if principal is None:
            if "key_id" in session:
                log.info("dashboard session ended", extra={"key_id": session.get("key_id")})
            session.clear()
            return redirect(url_for(".login", next=request.full_path.rstrip("?")))
        # Pages decide access from the signed-in key, as the JSON API does from the bearer key.
        g.principal = principal
        return view(*args, **kwargs)

    return wrapper


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Sign-in form: paste an API key with the `read` scope."""
    target = _safe_next(request.values.get("next"))
    if request.method == "GET":
        if _signed_in_principal() is not None:
            return redirect(target)
        return render_template("dashboard/login.html", next=target, error=None)
    _check_csrf()
    key = request.form.get("api_key", "").strip()
    principal = principal_for_key(key) if 0 < len(key) <= MAX_KEY_LENGTH else None
    if principal is None:
        log.info("dashboard sign-in refused", extra={"reason": "unknown_key"})
        return render_template("dashboard/login.html", next=target,
                               error="That API key is unknown or has been revoked."), 401
    if "read" not in principal.scopes:
        log.info("dashboard sign-in refused", extra={"reason": "missing_scope", "key_id": principal.key_id})
        return render_template("dashboard/error.html", code=403, title="Forbidden",
                               message="This API key lacks the `read` scope the dashboard needs. "
                                       "Create one with `tutormax apikey create --scope read`."), 403
    # A fresh session on sign-in: nothing from before (a planted CSRF token) survives.
    session.clear()
    session["key_id"] = principal.key_id
    session["signed_in_at"] = int(time.time())
    csrf_token()
    log.info("dashboard sign-in", extra={"key_id": principal.key_id})
    return redirect(target)


@bp.post("/logout")
def logout() -> Response:
    """Sign out (POST with the CSRF token)."""
    _check_csrf()
    session.clear()
    return redirect(url_for(".login"))
