"""Operator signals recorded by Celery processes (SPEC §4): beat job successes and worker presence.

Nothing here touches a task: beat successes come from Celery's `task_success` signal,
worker presence from the worker's own event heartbeat (`heartbeat_sent`, every 2 s), so
`/metrics` can say which queues have a consumer without a broadcast per scrape.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone

from celery import Celery, Task
from celery.schedules import crontab, schedule
from celery.signals import heartbeat_sent, task_success, worker_ready, worker_shutdown

from tutormax import metrics

# The consumer of this worker process (set when it is ready): its hostname and the
# queues it consumes right now (they change with `celery control add_consumer`).
_consumer = None


def beat_jobs(beat_schedule: Mapping[str, Mapping]) -> dict[str, str]:
    """Task name → beat entry name, so a task's success is reported under its job."""
    return {entry["task"]: name for name, entry in beat_schedule.items()}


def beat_period_seconds(entry_schedule: object) -> float:
    """The longest gap between two runs of a beat schedule (a number, timedelta, schedule or crontab)."""
    if isinstance(entry_schedule, (int, float)):
        return float(entry_schedule)
    if isinstance(entry_schedule, timedelta):
        return entry_schedule.total_seconds()
    if isinstance(entry_schedule, schedule):
        return entry_schedule.run_every.total_seconds()
    if isinstance(entry_schedule, crontab):
        # Walk at least a fortnight and three runs: the widest gap (a weekday-only
        # job's weekend, a monthly job's 31 days) is the period an alert has to tolerate.
        start = datetime(2026, 1, 5, tzinfo=timezone.utc)
        runs = [start]
        while len(runs) < 4 or runs[-1] - start < timedelta(days=14):
            last, delta, _now = entry_schedule.remaining_delta(runs[-1])
            runs.append(last + delta)
        return max((b - a).total_seconds() for a, b in zip(runs[1:], runs[2:]))
    raise TypeError(f"unsupported beat schedule {entry_schedule!r}")


def beat_periods(beat_schedule: Mapping[str, Mapping]) -> dict[str, float]:
    """Beat entry name → its period in seconds."""
    return {name: beat_period_seconds(entry["schedule"]) for name, entry in beat_schedule.items()}


@task_success.connect
def _record_beat_success(sender: Task | None = None, **_: object) -> None:
    # Only runs that beat sent count (beat marks them with a header): a job run by
    # hand must not hide a stopped beat.
    if sender is None or not getattr(sender.request, "celery_beat_task", False):
        return
    app: Celery = sender.app
    job = beat_jobs(app.conf.beat_schedule).get(sender.name)
    if job is not None:
        metrics.record_beat_success(job)


@worker_ready.connect
def _remember_consumer(sender: object = None, **_: object) -> None:
    global _consumer
    _consumer = sender


@heartbeat_sent.connect
def _record_worker_presence(sender: object = None, **_: object) -> None:
    consumer = _consumer
    task_consumer = getattr(consumer, "task_consumer", None)
    if task_consumer is None:  # not ready yet, or reconnecting to the broker
        return
    metrics.record_worker_heartbeat(consumer.hostname, [queue.name for queue in task_consumer.queues])


@worker_shutdown.connect
def _forget_worker(sender: object = None, **_: object) -> None:
    # A worker stopped on purpose leaves the count at once; a killed one ages out.
    global _consumer
    consumer, _consumer = _consumer, None
    if consumer is not None:
        metrics.forget_worker(consumer.hostname)
