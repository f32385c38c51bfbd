"""Celery configuration: queues, routes, beat schedule and broker options (SPEC §1)."""

from celery.schedules import crontab
from kombu import Queue

from tutormax.config import ALL_QUEUES, DOMAINS, get_settings

_settings = get_settings()

broker_url = _settings.broker_url
# kombu's Redis transport with a workaround that keeps a worker alive when Redis
# restarts under it (see tutormax/broker.py for the root cause).
if broker_url.startswith("redis://"):
    broker_transport = "tutormax.broker:Transport"
broker_connection_retry_on_startup = True
# Countdowns and retry backoffs stay far below this (max 300 s): a message
# invisible for an hour after a worker vanished is redelivered, not lost.
broker_transport_options = {
    "visibility_timeout": 3600,
    "socket_timeout": 5,
    "socket_connect_timeout": 5,
}
# Publishing must not hang an HTTP request when Redis is down: the outbox repairs it.
task_publish_retry_policy = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}

imports = ("tutormax.tasks",)
task_serializer = "json"
accept_content = ["json"]
result_backend = None
task_ignore_result = True
timezone = "UTC"
enable_utc = True

# Every task is idempotent, so a message is acknowledged only after the work is
# done and redelivered when the worker dies mid-task.
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 2
worker_hijack_root_logger = False
# Flower follows tasks from the workers' events (received, started, succeeded…).
# The extra `task-sent` event at every publish would cost each stage one more
# Redis round trip for a state Flower also learns from `task-received`.
worker_send_task_events = True
task_send_sent_event = False

task_default_queue = "maintenance"
task_queues = [Queue(name, routing_key=name) for name in ALL_QUEUES]
task_routes = {
    "tutormax.pipeline.validate": {"queue": "ingest"},
    "tutormax.pipeline.enrich": {"queue": "enrich"},
    "tutormax.pipeline.persist": {"queue": "persist"},
    **{f"tutormax.pipeline.recompute.{d}": {"queue": f"recompute.{d}"} for d in DOMAINS},
    **{f"tutormax.{d}.*": {"queue": f"recompute.{d}"} for d in DOMAINS},
    "tutormax.maintenance.*": {"queue": "maintenance"},
}

_sweep_every = max(1.0, _settings.outbox_stale_seconds / 2)
beat_schedule = {
    "sweep-outbox": {
        "task": "tutormax.maintenance.sweep_outbox",
        "schedule": _sweep_every,
        "options": {"expires": _sweep_every},
    },
    # Windows slide: once a day every tutor with recent sessions is recomputed (in batches).
    "nightly-tutor-recompute": {
        "task": "tutormax.tutoring.nightly_recompute",
        "schedule": crontab(minute=0, hour=_settings.nightly_recompute_hour),
        "options": {"expires": 3600},
    },
    # Profile changes committed but not yet on the stream (a crash after commit) go out here.
    "drain-reading-profile-stream": {
        "task": "tutormax.reading.publish_pending_profile_changes",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
}
