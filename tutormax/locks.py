"""Advisory locks on named things: the one way every domain serializes work on a class, batch or student.

Transaction-scoped PostgreSQL advisory locks (`pg_advisory_xact_lock`), released at
commit or rollback, so a crashed worker can never leave one behind. All the locks a
transaction needs are taken in one statement, in key order, so two transactions that
need overlapping sets wait for each other instead of deadlocking.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.orm import Session

_LOCK_ALL = text(
    "SELECT count(pg_advisory_xact_lock(k)) FROM "
    "(SELECT k FROM unnest(CAST(:keys AS bigint[])) AS t(k) ORDER BY k) AS ordered"
)


def lock_key(namespace: str, name: str) -> int:
    """The signed 64-bit advisory-lock key of `name` in `namespace` (e.g. "learning:class", "c-1")."""
    digest = hashlib.blake2b(f"tutormax:{namespace}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_all(session: Session, namespace: str, names: Iterable[str]) -> None:
    """Hold the locks of `names` until the session's transaction ends (one round trip, key order)."""
    keys = sorted({lock_key(namespace, name) for name in names})
    if keys:
        session.execute(_LOCK_ALL, {"keys": keys})
