"""How chains start and move on: the doorbell, explicit dispatch, and each stage sending the next.

Stage tasks are published by name (`stage_task_name`), so this module needs nothing
from the modules that define them: the pipeline, the dead letters, ingestion and the
sweeper all start chains through here without importing one another.

The doorbell (docs/architecture.md §3): a request that stores events rings its
domain's doorbell, a Redis key set with SET NX; only the request that sets it sends
a claiming `validate` task (no ids). That task clears the ring before it claims, so
no event committed before or after the claim is missed; a lost ring is bounded by the
key's TTL and repaired by the outbox sweeper, which rings with `force`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence

import kombu.exceptions
import redis
from celery import current_app

from tutormax import metrics
from tutormax.batching import chunked
from tutormax.config import get_settings
from tutormax.redis_client import get_redis

log = logging.getLogger(__name__)

PUBLISH_ERRORS = (kombu.exceptions.OperationalError, redis.RedisError, OSError)

DOORBELL_KEY = "tutormax:doorbell:"
# A ring whose validate message was lost (a web process killed between SET and
# publish) silences its domain's doorbell at most this long; the sweeper also rings.
DOORBELL_TTL_SECONDS = 10


def stage_task_name(stage: str, domain: str | None = None) -> str:
    """The Celery task name of `stage` (one recompute task per domain), routed to its queue by name."""
    return f"tutormax.pipeline.recompute.{domain}" if stage == "recompute" else f"tutormax.pipeline.{stage}"


def send_stage(stage: str, domain: str, ids: Sequence[int] | None, countdown: float | None = None) -> bool:
    """Publish one stage task; False when the broker is unreachable (the sweeper repairs it)."""
    try:
        current_app.send_task(stage_task_name(stage, domain), args=(None if ids is None else list(ids),),
                              kwargs={"domain": domain}, countdown=countdown)
    except PUBLISH_ERRORS as exc:
        log.error("publishing a stage failed; the outbox sweeper will retry",
                  extra={"stage": stage, "domain": domain, "error": str(exc)})
        return False
    return True


def dispatch(groups: Mapping[str, Sequence[int]], start: str = "validate", countdown: float | None = None) -> bool:
    """Start chains for explicit {domain: ids} from stage `start`; False when the broker is unreachable.

    For repairs, replays and referential waits; new events ring the doorbell instead.
    Called only after the events' transaction has committed.
    """
    size = max(1, get_settings().chain_batch)
    sent = True
    for domain, ids in groups.items():
        for part in chunked(sorted(ids), size):
            sent = send_stage(start, domain, part, countdown) and sent
    return sent


def ring(domains: Iterable[str], force: bool = False, counters: metrics.MetricsBatch | None = None) -> bool:
    """Ring each domain's doorbell: send a claiming validate task unless one is already pending.

    Called after the events' outbox rows have committed. `force` sends one even when
    a ring is pending (the sweeper: that ring's message may be lost). `counters`, if
    given, is sent in the same round trip. False when Redis is unreachable; the
    events wait in the outbox for the sweeper.
    """
    domains = list(domains)
    try:
        pipe = get_redis().pipeline(transaction=False)
        counted = counters.queue_into(pipe) if counters is not None else 0
        if not force:
            for domain in domains:
                pipe.set(DOORBELL_KEY + domain, "1", nx=True, ex=DOORBELL_TTL_SECONDS)
        replies = pipe.execute()  # an empty pipeline makes no round trip
        fresh = [True] * len(domains) if force else replies[counted:]
    except redis.RedisError as exc:
        log.error("ringing the doorbell failed; the outbox sweeper will start the chain",
                  extra={"domains": domains, "error": str(exc)})
        return False
    sent = True
    for domain, rung in zip(domains, fresh):
        if rung and not send_stage("validate", domain, None):
            clear_ring(domain)  # let the next request ring again
            sent = False
    return sent


def clear_ring(domain: str) -> None:
    """Forget a pending ring: a claiming chain is about to look at the outbox."""
    try:
        get_redis().delete(DOORBELL_KEY + domain)
    except redis.RedisError as exc:
        log.warning("clearing the doorbell failed; it expires by itself", extra={"domain": domain,
                                                                               "error": str(exc)})
