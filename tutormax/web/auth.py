"""Bearer API keys with scopes (SPEC §4)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps

from flask import g, request
from flask_smorest import abort
from sqlalchemy import select

from tutormax.db import session_scope
from tutormax.models.auth import SCOPES, ApiKey

KEY_PREFIX = "tmx_"


def hash_key(key: str) -> str:
    # Keys are 256-bit random secrets, so a fast hash is safe to store.
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    key_id: int
    name: str
    scopes: frozenset[str]
    teacher_id: str | None


def create_api_key(name: str, scopes: Iterable[str], teacher_id: str | None = None) -> str:
    """Create a key and return it in clear text (the only time it is visible)."""
    scopes = sorted(set(scopes))
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise ValueError(f"scopes must be among {', '.join(SCOPES)}")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with session_scope() as session:
        session.add(ApiKey(name=name, key_hash=hash_key(key), key_prefix=key[:12], scopes=scopes,
                           teacher_id=teacher_id))
    return key


def _principal_for(key: str) -> Principal | None:
    with session_scope() as session:
        row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None)))
        if row is None:
            return None
        return Principal(row.id, row.name, frozenset(row.scopes), row.teacher_id)


def principal_for_key(key: str) -> Principal | None:
    """The principal of an unrevoked key given in clear text, or None (dashboard sign-in)."""
    return _principal_for(key)


def principal_for_key_id(key_id: int) -> Principal | None:
    """The principal of an unrevoked key by its id, or None (dashboard sessions keep only the id)."""
    with session_scope() as session:
        row = session.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None)))
        if row is None:
            return None
        return Principal(row.id, row.name, frozenset(row.scopes), row.teacher_id)


def current_principal() -> Principal:
    return g.principal


def require_scope(scope: str) -> Callable:
    """View decorator: 401 without a valid bearer key, 403 without `scope`."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            scheme, _, key = header.partition(" ")
            challenge = {"WWW-Authenticate": 'Bearer realm="tutormax"'}
            if scheme.lower() != "bearer" or not key.strip():
                abort(401, message="Missing API key: send `Authorization: Bearer <key>`.", headers=challenge)
            principal = _principal_for(key.strip())
            if principal is None:
                abort(401, message="Unknown or revoked API key.", headers=challenge)
            if scope not in principal.scopes:
                abort(403, message=f"This API key lacks the `{scope}` scope.")
            g.principal = principal
            return view(*args, **kwargs)

        return wrapper

    return decorator
