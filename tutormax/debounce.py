"""Trailing debounce across workers: a burst of requests for one key costs one run, or two.

The shape of polar's `_debounce` and redash's per-entity locks, in Redis:
- `request(keys)`: per key, the first request takes the key's lock (SET NX, with a TTL
  so it can never wedge) and gets a token: its caller schedules the run. Later
  requests only mark the key dirty (coalesced).
- `begin(key, token)`: the run starts; False when its lock has expired and a newer run
  owns the key (superseded). It clears the dirty mark before the run reads anything,
  so everything requested until then is seen by this run.
- `finish(key, token)`: True when the key was marked dirty during the run — the owner
  keeps the lock and schedules one more run —, else the lock is released.
- `release(key, token)`: give the lock back (the run could not be scheduled or failed).
Both decisions are Lua scripts, so no request slips between "check dirty" and "release".
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

from redis.commands.core import Script

from tutormax.redis_client import get_redis

# Take the lock, or mark the key dirty when someone holds it: 1 = taken, 0 = coalesced.
_ACQUIRE_OR_MARK = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 1 end
redis.call('SET', KEYS[2], '1', 'EX', ARGV[2])
return 0
"""
# End of a run by the lock owner: -1 not the owner, 1 dirty (keep the lock, run again), 0 released.
_FINISH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if redis.call('DEL', KEYS[2]) == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return 1
end
redis.call('DEL', KEYS[1])
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Debounce:
    """One kind of debounced work, e.g. Debounce("tutor_metrics", ttl=lambda: 30 + 300)."""

    def __init__(self, name: str, ttl: Callable[[], int]) -> None:
        self.name = name
        self.ttl = ttl  # seconds a lock lives: far above the countdown plus a run, yet finite

    def lock_key(self, key: str) -> str:
        # The hash tag keeps a key's lock and dirty mark in one cluster slot (Lua needs that).
        return f"tutormax:{self.name}:{{{key}}}:lock"

    def dirty_key(self, key: str) -> str:
        return f"tutormax:{self.name}:{{{key}}}:dirty"

    def request(self, keys: Sequence[str]) -> tuple[dict[str, str], int]:
        """({key: token} for the keys whose run the caller must schedule, how many were coalesced)."""
        if not keys:
            return {}, 0
        ttl = self.ttl()
        tokens = {key: uuid.uuid4().hex for key in keys}
        acquire = self._script(_ACQUIRE_OR_MARK)
        pipe = get_redis().pipeline(transaction=False)
        for key in keys:
            acquire(keys=[self.lock_key(key), self.dirty_key(key)], args=[tokens[key], ttl], client=pipe)
        taken = {key: tokens[key] for key, won in zip(keys, pipe.execute()) if won == 1}
        return taken, len(keys) - len(taken)

    def begin(self, key: str, token: str) -> bool:
        """Start the owner's run: False when superseded; clears the dirty mark."""
        client = get_redis()
        holder = client.get(self.lock_key(key))
        if holder is not None and holder != token:
            return False
        client.delete(self.dirty_key(key))
        return True

    def finish(self, key: str, token: str) -> bool:
        """End the owner's run: True when it must run once more (keeping the lock)."""
        outcome = self._script(_FINISH)(keys=[self.lock_key(key), self.dirty_key(key)], args=[token, self.ttl()])
        return outcome == 1

    def release(self, key: str, token: str) -> None:
        """Give the lock back if `token` still holds it."""
        self._script(_RELEASE)(keys=[self.lock_key(key)], args=[token])

    @staticmethod
    def _script(source: str) -> Script:
        return get_redis().register_script(source)
