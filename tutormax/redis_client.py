"""One Redis client per process for locks, caches, streams and metrics."""

from __future__ import annotations

import redis

from tutormax.config import get_settings

_client: redis.Redis | None = None


def get_redis() -> redis.Redis:
    """The process's Redis client (short timeouts: callers fail open or retry)."""
    global _client
    if _client is None:
        _client = redis.Redis.from_url(
            get_settings().redis_url,
            decode_responses=True,
            socket_timeout=2,
            socket_connect_timeout=2,
            health_check_interval=30,
        )
    return _client


def reset_redis() -> None:
    """Forget the client (after fork or a settings change)."""
    global _client
    if _client is not None:
        _client.close()
    _client = None
