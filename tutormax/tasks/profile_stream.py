"""The reading-profile stream (SPEC §3.2): each profile change appended once to `tutormax:student_profiles`.

A change is first a row of `reading_profile_publications`, written with the profile in
the recompute stage's transaction. After the commit the rows are appended with XADD
(each guarded by a SET NX dedupe key in the same Lua step, so a retry never doubles an
entry) and deleted; rows a crash left behind are drained by beat
(`publish_pending_profile_changes`). Downstream consumers read the stream with
consumer groups.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import redis
from celery import shared_task
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tutormax.batching import chunked
from tutormax.config import PROFILE_STREAM
from tutormax.db import after_commit, session_scope
from tutormax.models.reading import ProfilePublication
from tutormax.redis_client import get_redis

log = logging.getLogger(__name__)

STREAM = PROFILE_STREAM
STREAM_MAXLEN = 100_000
DEDUPE_PREFIX = "tutormax:student_profiles:published:"
# Outlives any pending row by far: rows are published within seconds, or drained later.
DEDUPE_TTL_SECONDS = 7 * 24 * 3600
# A pending row this old was orphaned (its worker died between commit and XADD).
ORPHAN_AFTER = timedelta(seconds=10)
CHUNK = 500

# SET NX and XADD in one atomic step: the entry is appended iff this change was never published.
_PUBLISH_ONCE = """
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then
  return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 3))
end
return false
"""


def publish_after_commit(session: Session, publication_ids: Iterable[int]) -> None:
    """Append the transaction's profile changes to the stream once it commits; a failure
    leaves their publication rows pending for the beat drain."""
    pending = session.info.get("reading_publications")
    if pending is None:
        pending = session.info["reading_publications"] = []
        after_commit(session, lambda: publish_pending(pending), "publish reading profile changes")
    pending.extend(publication_ids)


def publish_pending(ids: Sequence[int] = (), orphan_limit: int = 500) -> int:
    """Append the given pending profile changes, plus up to `orphan_limit` orphaned ones.

    Returns how many were appended.
    """
    appended = 0
    ids = sorted(ids)
    for part in chunked(ids, CHUNK):
        appended += _publish_rows(ProfilePublication.id.in_(part), CHUNK)
    return appended + _publish_rows(ProfilePublication.created_at < func.now() - ORPHAN_AFTER, orphan_limit)


def _publish_rows(condition, limit: int) -> int:
    with session_scope() as session:
        rows = session.scalars(
            select(ProfilePublication).where(condition).order_by(ProfilePublication.id).limit(limit)
        ).all()
        if not rows:
            return 0
        try:
            appended = append_to_stream(rows)
        except redis.RedisError as exc:
            # The rows stay pending; the dedupe keys keep a later retry from doubling entries.
            log.warning("redis unavailable; profile changes stay pending", extra={"error": str(exc)})
            return 0
        session.execute(delete(ProfilePublication).where(ProfilePublication.id.in_([r.id for r in rows])))
    return appended


def append_to_stream(rows: Sequence[ProfilePublication]) -> int:
    """XADD each pending change unless it was appended before (one round trip); returns how many were appended."""
    client = get_redis()
    script = client.register_script(_PUBLISH_ONCE)
    pipe = client.pipeline(transaction=False)
    for row in rows:
        # The pending row's id names the change: ids are never reused, unlike profile versions,
        # which restart when a profile is deleted by a rebuild and later recreated.
        script(keys=[STREAM, f"{DEDUPE_PREFIX}{row.student_id}:{row.id}"],
               args=[DEDUPE_TTL_SECONDS, STREAM_MAXLEN, *_stream_fields(row)], client=pipe)
    return sum(1 for result in pipe.execute() if result)


def _stream_fields(row: ProfilePublication) -> list[str]:
    return [
        "event_type", "student_profile_changed",
        "student_id", row.student_id,
        "source", "tutormax",
        "timestamp", _rfc3339(row.changed_at),
        "event_id", str(row.event_pk),
    ]


def _rfc3339(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


@shared_task(name="tutormax.reading.publish_pending_profile_changes")
def publish_pending_profile_changes() -> int:
    """Drain orphaned pending profile changes (for a periodic beat entry)."""
    return publish_pending()
