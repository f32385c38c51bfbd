"""The baseline `tutormax bench` measures TutorMax against: the naive design.

One Celery chain of four no-op tasks per event, on the same Redis, consumed by a
worker with 4 children (`celery -A tutormax.bench_naive worker -Q naive -c 4`).
It does no database work at all, so it is the price of Celery itself for a design
that starts one chain per event. Its own Celery app keeps it apart from TutorMax's
queues and settings; the last task counts finished chains in Redis.
"""

from __future__ import annotations

from celery import Celery, chain

from tutormax.config import get_settings

QUEUE = "naive"
DONE_KEY = "tutormax:bench:naive:done"

app = Celery("naive", broker=get_settings().broker_url)
app.conf.update(
    task_default_queue=QUEUE,
    task_ignore_result=True,
    result_backend=None,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


@app.task(name="naive.validate")
def validate(event_id: int) -> int:
    return event_id


@app.task(name="naive.enrich")
def enrich(event_id: int) -> int:
    return event_id


@app.task(name="naive.persist")
def persist(event_id: int) -> int:
    return event_id


@app.task(name="naive.recompute")
def recompute(event_id: int) -> None:
    from tutormax.redis_client import get_redis

    get_redis().incr(DONE_KEY)


def start_chain(event_id: int) -> None:
    """What the naive API would do per accepted event."""
    chain(validate.s(event_id), enrich.s(), persist.s(), recompute.s()).apply_async()
