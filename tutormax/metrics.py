"""Pipeline metrics and operator signals shared by every process through Redis.

Workers on any machine increment counters and histogram buckets in Redis
hashes; the web process's `/metrics` reads them back with one collector, so the
figures are aggregated across all workers without a Pushgateway. Metric writes
never fail the caller: a Redis outage costs a few increments, not an event.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Mapping

import redis
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from tutormax.config import ALL_QUEUES
from tutormax.redis_client import get_redis

log = logging.getLogger(__name__)

PREFIX = "tutormax:metrics:"
E2E_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)

COUNTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "tutormax_events_ingested": ("Events accepted by the API", ("type",)),
    "tutormax_events_duplicate": ("Events answered as duplicates", ()),
    "tutormax_events_dropped_erased": ("Events about an erased person, answered 202 and dropped", ()),
    "tutormax_events_processed": ("Events that finished every pipeline stage", ("type",)),
    "tutormax_events_dead_lettered": ("Events moved to the dead letters", ("reason",)),
    "tutormax_recomputes": ("View recomputations run", ("kind",)),
    "tutormax_recomputes_coalesced": ("Recompute requests folded into a pending one", ("kind",)),
    "tutormax_cache_hits": ("Reads answered from the Redis cache", ("cache",)),
    "tutormax_cache_misses": ("Reads that had to go to PostgreSQL", ("cache",)),
    "tutormax_pipeline_tasks": ("Pipeline stage tasks run (validate, enrich, persist, recompute)", ("stage",)),
}
HISTOGRAMS: dict[str, str] = {
    "tutormax_event_e2e_seconds": "Seconds from an event's receipt to its processed status",
}


def _field(labels: Mapping[str, str]) -> str:
    return json.dumps(dict(sorted(labels.items())), separators=(",", ":"))


def inc(name: str, amount: float = 1, **labels: str) -> None:
    """Add `amount` to counter `name` with `labels`."""
    inc_many(name, [(labels, amount)])


def inc_many(name: str, items: Iterable[tuple[Mapping[str, str], float]]) -> None:
    """Add several labelled amounts to one counter in a single round trip."""
    batch = MetricsBatch()
    batch.inc_many(name, items)
    batch.flush()


def observe_many(name: str, values: Iterable[float]) -> None:
    """Record observations in histogram `name`."""
    batch = MetricsBatch()
    batch.observe_many(name, values)
    batch.flush()


class MetricsBatch:
    """Metric writes collected and sent to Redis in one pipelined round trip.

    A pipeline stage records everything it counts (tasks, processed events,
    latencies) with one `flush()`, so metrics cost one round trip per task.
    """

    def __init__(self) -> None:
        self._ops: list[tuple[str, str, str, float]] = []  # (command, key, field, amount)

    def inc(self, name: str, amount: float = 1, **labels: str) -> None:
        self.inc_many(name, [(labels, amount)])

    def inc_many(self, name: str, items: Iterable[tuple[Mapping[str, str], float]]) -> None:
        assert name in COUNTERS, name
        for labels, amount in items:
            if amount:
                self._ops.append(("hincrbyfloat", PREFIX + name, _field(labels), amount))

    def observe_many(self, name: str, values: Iterable[float]) -> None:
        assert name in HISTOGRAMS, name
        key = PREFIX + name
        buckets: dict[str, int] = {}
        total, count = 0.0, 0
        for value in values:
            count += 1
            total += value
            for bound in E2E_BUCKETS:
                if value <= bound:
                    buckets[repr(bound)] = buckets.get(repr(bound), 0) + 1
        if count:
            self._ops += [("hincrby", key, field, n) for field, n in buckets.items()]
            self._ops += [("hincrbyfloat", key, "sum", total), ("hincrby", key, "count", count)]

    def queue_into(self, pipe: redis.client.Pipeline) -> int:
        """Add the collected writes to `pipe` (sent by its owner); returns how many commands were added."""
        ops, self._ops = self._ops, []
        for command, key, field, amount in ops:
            getattr(pipe, command)(key, field, amount)
        return len(ops)

    def flush(self) -> None:
        """Send every collected write; a Redis outage costs these increments, never the caller."""
        if not self._ops:
            return
        names = sorted({key for _c, key, _f, _a in self._ops})
        try:
            pipe = get_redis().pipeline(transaction=False)
            self.queue_into(pipe)
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("metric update lost", extra={"metrics": names, "error": str(exc)})


def queue_depths() -> dict[str, int]:
    """Messages waiting in each Celery queue (all kombu priority lists counted)."""
    client = get_redis()
    pipe = client.pipeline(transaction=False)
    for queue in ALL_QUEUES:
        pipe.llen(queue)
        for step in (3, 6, 9):
            pipe.llen(f"{queue}\x06\x16{step}")
    counts = pipe.execute()
    return {q: sum(counts[i * 4:(i + 1) * 4]) for i, q in enumerate(ALL_QUEUES)}


class RedisMetricsCollector:
    """Prometheus collector reading the shared counters, histograms and queue depths."""

    def collect(self):
        client = get_redis()
        try:
            pipe = client.pipeline(transaction=False)
            for name in (*COUNTERS, *HISTOGRAMS):
                pipe.hgetall(PREFIX + name)
            stored = dict(zip((*COUNTERS, *HISTOGRAMS), pipe.execute()))
            depths = queue_depths()
        except redis.RedisError as exc:
            log.warning("metrics unavailable from redis", extra={"error": str(exc)})
            return
        for name, (doc, label_names) in COUNTERS.items():
            family = CounterMetricFamily(name, doc, labels=label_names)
            values = stored[name]
            if not values and not label_names:
                family.add_metric([], 0)
            for field, value in values.items():
                labels = json.loads(field)
                family.add_metric([labels.get(label, "") for label in label_names], float(value))
            yield family
        for name, doc in HISTOGRAMS.items():
            data = stored[name]
            buckets = [(repr(b), float(data.get(repr(b), 0))) for b in E2E_BUCKETS]
            buckets.append(("+Inf", float(data.get("count", 0))))
            yield HistogramMetricFamily(name, doc, buckets=buckets, sum_value=float(data.get("sum", 0)))
        depth = GaugeMetricFamily("tutormax_queue_depth", "Messages waiting per Celery queue", labels=("queue",))
        for queue, count in depths.items():
            depth.add_metric([queue], count)
        yield depth


# Operator signals (SPEC §4) kept in Redis for the same reason as the counters: any
# worker or beat run anywhere writes them, any web process reads them.
BEAT_LAST_SUCCESS_KEY = PREFIX + "beat_last_success"
WORKERS_KEY_PREFIX = PREFIX + "workers:"
WORKER_SEEN_SECONDS = 60
# Presence entries older than this are pruned on the next heartbeat of any worker.
WORKER_FORGET_SECONDS = 24 * 3600


def record_beat_success(job: str, when: float | None = None) -> None:
    """Remember when beat job `job` last succeeded (Unix time)."""
    try:
        get_redis().hset(BEAT_LAST_SUCCESS_KEY, job, repr(time.time() if when is None else when))
    except redis.RedisError as exc:
        log.warning("metric update lost", extra={"metric": "beat_last_success", "error": str(exc)})


def beat_last_success() -> dict[str, float]:
    """Beat job → Unix time of its last successful run."""
    return {job: float(ts) for job, ts in get_redis().hgetall(BEAT_LAST_SUCCESS_KEY).items()}


def record_worker_heartbeat(hostname: str, queues: Iterable[str], when: float | None = None) -> None:
    """Note that worker `hostname` consumed `queues` at `when` (one sorted set per queue)."""
    now = time.time() if when is None else when
    try:
        pipe = get_redis().pipeline(transaction=False)
        for queue in queues:
            pipe.zadd(WORKERS_KEY_PREFIX + queue, {hostname: now})
            pipe.zremrangebyscore(WORKERS_KEY_PREFIX + queue, "-inf", now - WORKER_FORGET_SECONDS)
        pipe.execute()
    except redis.RedisError as exc:
        log.warning("metric update lost", extra={"metric": "workers", "error": str(exc)})


def forget_worker(hostname: str) -> None:
    """Drop worker `hostname` from every queue (it shut down on purpose)."""
    try:
        pipe = get_redis().pipeline(transaction=False)
        for queue in ALL_QUEUES:
            pipe.zrem(WORKERS_KEY_PREFIX + queue, hostname)
        pipe.execute()
    except redis.RedisError as exc:
        log.warning("metric update lost", extra={"metric": "workers", "error": str(exc)})


def workers_by_queue(now: float | None = None) -> dict[str, int]:
    """Workers whose heartbeat named each queue within the last WORKER_SEEN_SECONDS."""
    since = (time.time() if now is None else now) - WORKER_SEEN_SECONDS
    pipe = get_redis().pipeline(transaction=False)
    for queue in ALL_QUEUES:
        pipe.zcount(WORKERS_KEY_PREFIX + queue, since, "+inf")
    return dict(zip(ALL_QUEUES, pipe.execute()))
