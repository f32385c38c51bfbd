"""The versioned read-through cache of the internal batch API (SPEC §4), in Redis.

Entries live under a key that embeds a version counter of their batch or user; a
change INCRs the counter, so an entry filled from rows read before the change can
never be served after it (the read-through race), and deletes the entries it knows.
A counter that Redis lost (a wipe, its TTL) starts again at a random value, not at 1:
a reader that read version N before a wipe and stores its old body after it must not
have that entry served when the restarted counter climbs back to N.

Readers fail open: when Redis errs they answer from PostgreSQL and skip the cache
for CACHE_BYPASS_SECONDS. Writers record each invalidation as pending work too
(tasks/essays.py), so a lost one is repeated by the sweeper.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable

import redis

from tutormax import metrics
from tutormax.redis_client import get_redis

log = logging.getLogger(__name__)

CACHE_BYPASS_SECONDS = 5.0

CACHE_TTL_SECONDS = 300
# Version counters outlive every entry they guard (TTL 300 s), so an expired counter
# restarting at 0 cannot resurrect an old entry.
VERSION_TTL_SECONDS = 86400
_PREFIX = "tutormax:cache:essays:"
VERSION_RESTART_RANGE = 2**62  # INCR stays within Redis's signed 64-bit integers


def batch_version_key(batch_id: str) -> str:
    return f"{_PREFIX}batch_version:{batch_id}"


def batch_cache_key(batch_id: str, version: int) -> str:
    # The free-text id comes last so no two (version, id) pairs share a key.
    return f"{_PREFIX}batch:v{version}:{batch_id}"


def user_version_key(user_id: str) -> str:
    return f"{_PREFIX}user_version:{user_id}"


def user_keys_set(user_id: str) -> str:
    """The Redis set of a user's cached list keys (no KEYS/SCAN needed to find them)."""
    return f"{_PREFIX}user_keys:{user_id}"


def user_cache_key(user_id: str, version: int, limit: int, offset: int, status: str | None) -> str:
    return f"{_PREFIX}user:v{version}:{limit}:{offset}:{status or ''}:{user_id}"


def invalidate_cache(batch_ids: Iterable[str], user_ids: Iterable[str]) -> bool:
    """Drop the cached status of `batch_ids` and every cached list of `user_ids`; never raises.

    Returns False when Redis failed (the pending-work rows then stay for the sweeper).
    """
    batch_ids = sorted(set(batch_ids))
    user_ids = sorted(set(user_ids))
    if not batch_ids and not user_ids:
        return True
    try:
        client = get_redis()
        pipe = client.pipeline(transaction=False)
        for batch_id in batch_ids:
            pipe.get(batch_version_key(batch_id))
        for user_id in user_ids:
            pipe.smembers(user_keys_set(user_id))
        found = pipe.execute()
        doomed = [batch_cache_key(b, int(v or 0)) for b, v in zip(batch_ids, found[:len(batch_ids)])]
        for members in found[len(batch_ids):]:
            doomed.extend(members)
        doomed.extend(user_keys_set(u) for u in user_ids)
        pipe = client.pipeline(transaction=True)
        for key in [*map(batch_version_key, batch_ids), *map(user_version_key, user_ids)]:
            pipe.set(key, secrets.randbelow(VERSION_RESTART_RANGE), nx=True)
            pipe.incr(key)
            pipe.expire(key, VERSION_TTL_SECONDS)
        pipe.unlink(*doomed)
        pipe.execute()
    except redis.RedisError as exc:
        # The rows are committed; the sweeper repeats the invalidation (pending work).
        log.warning("essay cache invalidation failed",
                    extra={"batch_ids": batch_ids[:20], "error": type(exc).__name__})
        return False
    return True


# --- reading through it ------------------------------------------------------------


_bypass: tuple[object, float] | None = None  # (the failing client, bypass until)


def _cache_client() -> redis.Redis | None:
    """The Redis client, or None while the cache is bypassed after an error of this client."""
    client = get_redis()
    if _bypass is not None and _bypass[0] is client and time.monotonic() < _bypass[1]:
        return None
    return client


def _cache_failed(client: redis.Redis, cache: str, exc: Exception) -> None:
    global _bypass
    _bypass = (client, time.monotonic() + CACHE_BYPASS_SECONDS)
    log.warning("essay cache unavailable; answering from PostgreSQL",
                extra={"cache": cache, "error": type(exc).__name__})


def read_through(cache: str, version_key: str, key_for: Callable[[int], str],
                 load: Callable[[], dict | None], track_in: str | None = None) -> dict | None:
    """The cached body, else `load()` (cached when not None); the key is read before the rows."""
    client = _cache_client()
    key = None
    if client is not None:
        try:
            key = key_for(int(client.get(version_key) or 0))
            raw = client.get(key)
        except redis.RedisError as exc:
            _cache_failed(client, cache, exc)
            client = None
        else:
            if raw is not None:
                metrics.inc("tutormax_cache_hits", cache=cache)
                return json.loads(raw)
            metrics.inc("tutormax_cache_misses", cache=cache)
    body = load()
    if body is None or client is None or key is None:
        return body
    try:
        pipe = client.pipeline(transaction=False)
        pipe.set(key, json.dumps(body, separators=(",", ":")), ex=CACHE_TTL_SECONDS)
        if track_in is not None:
            pipe.sadd(track_in, key)
            pipe.expire(track_in, 2 * CACHE_TTL_SECONDS)
        pipe.execute()
    except redis.RedisError as exc:
        _cache_failed(client, cache, exc)
    return body
