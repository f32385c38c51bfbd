"""Bearer API keys with scopes (SPEC §4)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps

import redis
from flask import g, request
from flask_smorest import abort
from sqlalchemy import select

from tutormax.db import session_scope, utcnow
from tutormax.models.auth import SCOPES, ApiKey
from tutormax.redis_client import get_redis

log = logging.getLogger(__name__)

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


def _active_principal(condition) -> Principal | None:
    """The principal of the unrevoked key matching `condition`, or None."""
    with session_scope() as session:
        row = session.execute(
            select(ApiKey.id, ApiKey.name, ApiKey.scopes, ApiKey.teacher_id)
            .where(condition, ApiKey.revoked_at.is_(None))
        ).first()
        return None if row is None else Principal(row.id, row.name, frozenset(row.scopes), row.teacher_id)


def _principal_from_db(key_hash: str) -> Principal | None:
    return _active_principal(ApiKey.key_hash == key_hash)


class PrincipalCache:
    """Principals of valid keys, remembered per process while the keys' version stamp holds.

    Looking a key up in PostgreSQL on every request was a fifth of a POST's time.
    A Redis key holds a version stamp that every revocation replaces; a cached
    principal is used only while the stamp it was read under is current, so a
    revoked key is refused at the next request of every process. When Redis cannot
    say, the cache is dropped and PostgreSQL answers (a revocation made during a
    Redis outage is then seen at once too); entries also expire after MAX_AGE.
    """

    VERSION_KEY = "tutormax:apikeys:version"
    MAX_AGE_SECONDS = 60.0
    MAX_ENTRIES = 10_000  # only valid keys are cached, so this bounds nothing an attacker controls

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[Principal, str, float]] = {}

    def lookup(self, key: str) -> Principal | None:
        key_hash = hash_key(key)
        version = self._version()
        if version is not None:
            with self._lock:
                hit = self._entries.get(key_hash)
            if hit is not None and hit[1] == version and time.monotonic() - hit[2] < self.MAX_AGE_SECONDS:
                return hit[0]
        principal = _principal_from_db(key_hash)
        if principal is not None and version is not None:
            with self._lock:
                if len(self._entries) >= self.MAX_ENTRIES:
                    self._entries.clear()
                self._entries[key_hash] = (principal, version, time.monotonic())
        return principal

    def _version(self) -> str | None:
        try:
            client = get_redis()
            version = client.get(self.VERSION_KEY)
            if version is None:  # first use, or Redis lost its data: start a new generation
                client.set(self.VERSION_KEY, uuid.uuid4().hex, nx=True)
                version = client.get(self.VERSION_KEY)
            return version
        except redis.RedisError:
            self.clear()
            return None

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    @classmethod
    def invalidate_everywhere(cls) -> bool:
        """Start a new key generation: every process re-reads keys from PostgreSQL."""
        try:
            get_redis().set(cls.VERSION_KEY, uuid.uuid4().hex)
        except redis.RedisError:
            return False
        return True


principal_cache = PrincipalCache()


def revoke_api_key(key_id: int) -> bool:
    """Revoke an active key; it stops working at once in every process. False if no such active key."""
    with session_scope() as session:
        row = session.get(ApiKey, key_id, with_for_update=True)
        if row is None or row.revoked_at is not None:
            return False
        row.revoked_at = utcnow()
    principal_cache.clear()
    if not PrincipalCache.invalidate_everywhere():
        log.warning("revoked key %s, but Redis is unreachable: other processes drop it within %.0f s",
                    key_id, PrincipalCache.MAX_AGE_SECONDS)
    return True


def principal_for_key(key: str) -> Principal | None:
    """The principal of an unrevoked key given in clear text, or None (dashboard sign-in, never cached)."""
    return _principal_from_db(hash_key(key))


def principal_for_key_id(key_id: int) -> Principal | None:
    """The principal of an unrevoked key by its id, or None (dashboard sessions keep only the id)."""
    return _active_principal(ApiKey.id == key_id)


def current_principal() -> Principal:
    return g.principal


def _basic_password(credentials: str) -> str:
    """The password of HTTP Basic credentials (base64 of `user:password`), or "" when they do not decode."""
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[2]


def require_scope(scope: str, basic_realm: str | None = None) -> Callable:
    """View decorator: 401 without a valid bearer key, 403 without `scope`.

    With `basic_realm`, HTTP Basic is accepted too, the API key being the password (any user
    name: LMS plugins ask for a "key" and a "secret"), and a 401 challenges for Basic in that realm.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            scheme, _, key = header.partition(" ")
            if basic_realm is not None:
                challenge = {"WWW-Authenticate": f'Basic realm="{basic_realm}"'}
                missing = "Missing API key: send HTTP Basic with the key as password, or `Authorization: Bearer <key>`."
                if scheme.lower() == "basic":
                    key = _basic_password(key)
                    scheme = "bearer"
            else:
                challenge = {"WWW-Authenticate": 'Bearer realm="tutormax"'}
                missing = "Missing API key: send `Authorization: Bearer <key>`."
            if scheme.lower() != "bearer" or not key.strip():
                abort(401, message=missing, headers=challenge)
            principal = principal_cache.lookup(key.strip())
            if principal is None:
                abort(401, message="Unknown or revoked API key.", headers=challenge)
            if scope not in principal.scopes:
                abort(403, message=f"This API key lacks the `{scope}` scope.")
            g.principal = principal
            return view(*args, **kwargs)

        return wrapper

    return decorator
