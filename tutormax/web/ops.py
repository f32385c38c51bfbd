"""Liveness, readiness and the operator signals on /metrics."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from functools import lru_cache

import redis
from celery import current_app as current_celery
from flask import Blueprint, jsonify
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from tutormax import __version__, metrics
from tutormax.config import get_settings
from tutormax.db import get_engine, session_scope
from tutormax.migrate import schema_is_current, script_heads
from tutormax.models.events import DeadLetter, Event, OutboxEntry
from tutormax.redis_client import get_redis
from tutormax.tasks.signals import beat_periods

log = logging.getLogger(__name__)
bp = Blueprint("ops", __name__)

# The reasons docs/operations.md lists, reported at 0 when none is open, so that a
# rate over the gauge sees the first letters of a reason arrive.
DEAD_LETTER_REASONS = ("invalid_payload", "unknown_tutor", "unknown_session", "processing_error", "transient_error")


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers; no dependency is checked."""
    return jsonify(status="ok")


def readiness_checks() -> dict[str, str]:
    """Each dependency of /readyz: "ok" or what is wrong with it."""
    checks: dict[str, str] = {}
    try:
        engine = get_engine()
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
        checks["schema"] = "ok" if schema_is_current(engine) else "not at head: run `tutormax db upgrade`"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        checks["database"] = f"error: {type(exc).__name__}"
        checks.setdefault("schema", "unknown")
    try:
        get_redis().ping()
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = f"error: {type(exc).__name__}"
    return checks


@bp.get("/readyz")
def readyz():
    """Readiness: PostgreSQL and Redis answer and the schema is at the latest migration."""
    checks = readiness_checks()
    ready = all(v == "ok" for v in checks.values())
    return jsonify(status="ready" if ready else "not ready", checks=checks), 200 if ready else 503


@lru_cache(maxsize=1)
def alembic_head() -> str:
    """The Alembic head this release expects (several heads joined with commas)."""
    return ",".join(sorted(script_heads()))


def oldest_unfinished_age_seconds() -> float:
    """Seconds since the oldest unfinished event was received; 0 when every event finished."""
    # An event has an outbox row exactly while it is unfinished (finishing deletes it in
    # the same transaction) and ids grow with arrival, so the oldest is the smallest key:
    # one index probe for min() and one primary-key lookup, whatever the planner's stats.
    oldest = select(func.min(OutboxEntry.event_pk)).scalar_subquery()
    with session_scope() as session:
        age = session.scalar(
            select(func.extract("epoch", func.now() - Event.received_at)).where(Event.id == oldest)
        )
    return max(0.0, float(age or 0))


def open_dead_letters() -> dict[str, int]:
    """Open dead letters per reason (every documented reason present, 0 when none)."""
    with session_scope() as session:
        rows = session.execute(
            select(DeadLetter.reason, func.count()).where(DeadLetter.state == "open").group_by(DeadLetter.reason)
        ).all()
    return {**dict.fromkeys(DEAD_LETTER_REASONS, 0), **{reason: count for reason, count in rows}}


class OperatorSignalsCollector:
    """SPEC §4 operator signals, read at scrape time from PostgreSQL and Redis.

    A backing service that is down costs only its own families (and sets
    `tutormax_ready` to 0); the scrape itself still answers.
    """

    def __init__(self) -> None:
        self._beat_periods: dict[str, float] | None = None

    def collect(self) -> Iterator[Metric]:
        checks = readiness_checks()
        yield GaugeMetricFamily("tutormax_ready", "1 when /readyz answers 200: PostgreSQL, Redis and schema at head",
                                value=1 if all(v == "ok" for v in checks.values()) else 0)
        yield InfoMetricFamily("tutormax_build", "Version and Alembic head of the running release",
                               value={"version": __version__, "revision": alembic_head()})
        yield GaugeMetricFamily("tutormax_outbox_stale_seconds",
                                "TUTORMAX_OUTBOX_STALE_SECONDS: unfinished events are re-dispatched after this",
                                value=get_settings().outbox_stale_seconds)
        periods = GaugeMetricFamily("tutormax_beat_period_seconds", "Longest gap between two runs of each beat job",
                                    labels=("job",))
        if self._beat_periods is None:  # the schedule is fixed for the life of the process
            self._beat_periods = beat_periods(current_celery.conf.beat_schedule)
        for job, seconds in self._beat_periods.items():
            periods.add_metric([job], seconds)
        yield periods
        if checks["database"] == "ok":
            yield from self._database_signals()
        if checks["redis"] == "ok":
            yield from self._redis_signals()

    def _database_signals(self) -> Iterator[Metric]:
        try:
            age = oldest_unfinished_age_seconds()
            letters = open_dead_letters()
        except SQLAlchemyError as exc:
            log.warning("operator signals unavailable from the database", extra={"error": type(exc).__name__})
            return
        yield GaugeMetricFamily("tutormax_outbox_oldest_age_seconds",
                                "Seconds since the oldest unfinished event was received (0 when none)", value=age)
        family = GaugeMetricFamily("tutormax_dead_letters_open", "Dead letters waiting for a replay or discard",
                                   labels=("reason",))
        for reason, count in sorted(letters.items()):
            family.add_metric([reason], count)
        yield family

    def _redis_signals(self) -> Iterator[Metric]:
        try:
            last_success = metrics.beat_last_success()
            workers = metrics.workers_by_queue()
        except redis.RedisError as exc:
            log.warning("operator signals unavailable from redis", extra={"error": type(exc).__name__})
            return
        beat = GaugeMetricFamily("tutormax_beat_last_success_timestamp_seconds",
                                 "Unix time of each beat job's last successful run", labels=("job",))
        for job, timestamp in sorted(last_success.items()):
            beat.add_metric([job], timestamp)
        yield beat
        family = GaugeMetricFamily(
            "tutormax_workers", f"Workers whose heartbeat named each queue in the last {metrics.WORKER_SEEN_SECONDS} s",
            labels=("queue",))
        for queue, count in workers.items():
            family.add_metric([queue], count)
        yield family


flask_blueprints = [bp]
