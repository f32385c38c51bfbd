"""`tutormax bench` / `make bench`: SPEC §7 figures on a throwaway local stack.

Starts PostgreSQL, Redis, gunicorn and the Procfile's Celery workers, drives
them over real HTTP and prints one figure per line. Timings are reported, never
asserted.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests
from sqlalchemy import text

from tutormax.devservers import PIPELINE_QUEUES, RECOMPUTE_QUEUES, LocalStack, free_port
from tutormax.simulate import Simulator, post_all

BENCH_ENV = {"LOG_LEVEL": "WARNING", "LOG_FORMAT": "text", "TUTORMAX_METRICS_DEBOUNCE_SECONDS": "5",
             "TUTORMAX_OUTBOX_STALE_SECONDS": "60"}


def say(label: str, value: str) -> None:
    print(f"{label}: {value}", flush=True)


def _scalar(sql: str, **params) -> int:
    from tutormax.db import session_scope

    with session_scope() as session:
        return session.execute(text(sql), params).scalar() or 0


def wait_processed(first_pk: int, last_pk: int, timeout: float = 900) -> float:
    """Seconds until every event in [first_pk, last_pk] is processed or dead-lettered."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        left = _scalar("SELECT count(*) FROM events WHERE id BETWEEN :a AND :b AND status = 'received'",
                       a=first_pk, b=last_pk)
        if left == 0:
            return time.monotonic() - started
        time.sleep(0.25)
    raise RuntimeError("events not processed in time")


def learning_events(sim: Simulator, class_id: str, count: int, students: int = 30) -> list[dict]:
    """`count` learning events for one class: assignments and grades over `students` students."""
    events = []
    n = 0
    while len(events) < count:
        assignment = f"{class_id}-a{n // students}"
        student = f"{class_id}-s{n % students}"
        moment = sim.now - timedelta(minutes=count - n)
        base = {"student_id": student, "class_id": class_id, "assignment_id": assignment,
                "standard_ids": [f"STD.{(n // students) % 5}"], "teacher_id": f"{class_id}-teacher"}
        events.append({**sim._envelope("lms", "ASSIGNMENT_ASSIGNED", moment), **base})
        events.append({**sim._envelope("lms", "SUBMISSION_GRADED", moment + timedelta(seconds=30)), **base,
                       "score": float(40 + (n * 7) % 60)})
        n += 1
    return events[:count]


def percentiles(samples: list[float]) -> str:
    if not samples:
        return "no samples"
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms ({len(ordered)} requests)"


def timed_gets(session: requests.Session, url: str, stop: threading.Event, out: list[float]) -> None:
    while not stop.is_set():
        started = time.monotonic()
        session.get(url, timeout=30)
        out.append(time.monotonic() - started)
        time.sleep(0.05)


def _counter(name: str, **labels: str) -> float:
    import json

    from tutormax.metrics import PREFIX
    from tutormax.redis_client import get_redis

    field = json.dumps(dict(sorted(labels.items())), separators=(",", ":"))
    return float(get_redis().hget(PREFIX + name, field) or 0)


def run_bench() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="tutormax-bench-"))
    stack = LocalStack(workdir, env=BENCH_ENV)
    try:
        stack.start_servers()
        stack.start_worker("pipeline", PIPELINE_QUEUES, concurrency=2)
        stack.start_worker("recompute", RECOMPUTE_QUEUES, concurrency=2)
        stack.start_worker("maintenance", "maintenance", concurrency=1)
        stack.start_beat()
        url = stack.start_web(free_port())
        from tutormax.web.auth import create_api_key

        key = create_api_key("bench", ["events:write", "read", "admin"])
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {key}"
        load = os.getloadavg()
        say("machine", f"{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at start")
        sim = Simulator(seed=7)
        _bench_batch(sim, url, key)
        _bench_single(sim, url, key)
        _bench_freshness_and_reads(sim, url, key, session)
        _bench_history_cost(sim, url, key)
        _bench_handler_cost()
        _bench_tutor_cost(sim, url, key)
        _bench_debounce(sim, url, key)
        load = os.getloadavg()
        say("machine", f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at end")
    finally:
        stack.close()
        shutil.rmtree(workdir, ignore_errors=True)


def _max_pk() -> int:
    return _scalar("SELECT coalesce(max(id), 0) FROM events")


def _ingest_and_process(events: list[dict], post: Callable[[list[dict]], object]) -> tuple[float, float]:
    first = _max_pk() + 1
    started = time.monotonic()
    post(events)
    accepted = time.monotonic() - started
    last = _max_pk()
    processed = accepted + wait_processed(first, last)
    count = last - first + 1
    return count / accepted, count / processed


def _bench_batch(sim: Simulator, url: str, key: str) -> None:
    events = learning_events(sim, f"{sim.run}-bigclass", 20_000)
    accepted, processed = _ingest_and_process(events, lambda ev: post_all(ev, url, key, batch_size=1000))
    say("batch ingest, 20000 learning events (batches of 1000)", f"{accepted:.0f} events/s accepted")
    say("batch ingest, 20000 learning events, end to end", f"{processed:.0f} events/s processed")


def _bench_single(sim: Simulator, url: str, key: str) -> None:
    events = sim.mixed(2000)

    def post(ev):
        chunks = [ev[i::8] for i in range(8)]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda chunk: post_all(chunk, url, key, rate=10_000), chunks))

    accepted, processed = _ingest_and_process(events, post)
    say("single-event ingest, ~2000 mixed events (8 clients)", f"{accepted:.0f} events/s accepted")
    say("single-event ingest, end to end", f"{processed:.0f} events/s processed")


def _bench_freshness_and_reads(sim: Simulator, url: str, key: str, session: requests.Session) -> None:
    rate, seconds = 40.0, 20
    events = sim.mixed(int(rate * seconds))
    first = _max_pk() + 1
    dashboard = learning_events(sim, f"{sim.run}-dashclass", 300)
    post_all(dashboard, url, key, batch_size=300)
    class_id = f"{sim.run}-dashclass"
    tutor_id = next(e["tutor_id"] for e in events if e["type"] == "TUTOR_UPSERTED")
    stop = threading.Event()
    dash_times: list[float] = []
    tutor_times: list[float] = []
    tutor_session = requests.Session()
    tutor_session.headers["Authorization"] = f"Bearer {key}"
    readers = [
        threading.Thread(target=timed_gets, args=(session, f"{url}/api/v1/teachers/{class_id}-teacher/classes/"
                                                  f"{class_id}/dashboard", stop, dash_times)),
        threading.Thread(target=timed_gets, args=(tutor_session, f"{url}/api/v1/tutors/{tutor_id}/metrics",
                                                  stop, tutor_times)),
    ]
    for reader in readers:
        reader.start()
    post_all(events, url, key, rate=rate)
    stop.set()
    for reader in readers:
        reader.join()
    wait_processed(first, _max_pk())
    latencies = [
        row[0] for row in _rows(
            "SELECT extract(epoch FROM processed_at - received_at) FROM events "
            "WHERE id >= :a AND status = 'processed' AND source <> 'lms'", a=first)
    ]
    say(f"freshness at {rate:.0f} events/s offered (POST → processed)",
        f"p50 {statistics.median(latencies):.2f} s, p99 {sorted(latencies)[int(len(latencies) * 0.99) - 1]:.2f} s"
        if latencies else "no samples")
    say("read latency under that load, class dashboard", percentiles(dash_times))
    say("read latency under that load, tutor metrics", percentiles(tutor_times))


def _rows(sql: str, **params) -> list:
    from tutormax.db import session_scope

    with session_scope() as session:
        return list(session.execute(text(sql), params))


def _bench_history_cost(sim: Simulator, url: str, key: str) -> None:
    """Processing cost of 1000 new events into a class with 10² vs 2·10⁴ prior events."""
    small = f"{sim.run}-smallclass"
    post_all(learning_events(sim, small, 100), url, key, batch_size=100)
    wait_processed(1, _max_pk())
    for label, class_id in (("10^2", small), ("2*10^4", f"{sim.run}-bigclass")):
        fresh = Simulator(seed=11, run=f"{sim.run}-more-{label}", now=sim.now + timedelta(hours=1))
        events = learning_events(fresh, class_id, 1000)
        _, processed = _ingest_and_process(events, lambda ev: post_all(ev, url, key, batch_size=1000))
        say(f"per-event processing cost, class with {label} prior events", f"{1000 / processed:.2f} ms/event")


def _bench_handler_cost() -> None:
    """The learning handlers alone: one chain of 100 grades into a class with 10² vs 10⁵ prior events."""
    from tutormax.tasks.learning import measure_chain_cost

    for prior in (100, 100_000):
        t = measure_chain_cost(prior)
        total = t["persist_seconds"] + t["recompute_seconds"]
        say(f"learning handlers, chain of 100 grades, class with {prior} prior events",
            f"persist {t['persist_seconds'] * 1000:.1f} ms + recompute {t['recompute_seconds'] * 1000:.1f} ms "
            f"= {total * 10:.2f} ms/event ({t['pairs']} student-assignment pairs)")


def _bench_tutor_cost(sim: Simulator, url: str, key: str) -> None:
    """One tutor-metrics recompute (all three windows) for a tutor with 10² vs 10⁴ sessions in 90 days."""
    from tutormax.db import session_scope
    from tutormax.tasks.tutoring import store_metrics

    now = datetime.now(timezone.utc)
    for count in (100, 10_000):
        tutor_id = f"{sim.run}-tutor-history-{count}"
        tutor = {**sim._envelope("tutoring", "TUTOR_UPSERTED", now), "tutor_id": tutor_id, "name": "History",
                 "email": "history@example.org", "onboarding_date": "2025-01-06", "status": "active",
                 "subjects": ["math"]}
        post_all([tutor], url, key)
        wait_processed(1, _max_pk())
        sessions = []
        for i in range(count):
            start = now - timedelta(minutes=1 + i * (80 * 1440) // count)
            sessions.append({**sim._envelope("tutoring", "SESSION_COMPLETED", start),
                             "session_id": f"{tutor_id}-{i}", "tutor_id": tutor_id, "student_id": f"st-{i % 40}",
                             "session_number": 1 + i % 5, "scheduled_start": start.isoformat(),
                             "actual_start": start.isoformat(), "duration_minutes": 50, "subject": "math",
                             "engagement_score": 70.0 + i % 30})
        first = _max_pk() + 1
        post_all(sessions, url, key, batch_size=1000)
        wait_processed(first, _max_pk())
        runs = []
        for _ in range(3):
            with session_scope() as session:
                started = time.perf_counter()
                store_metrics(session, [tutor_id], datetime.now(timezone.utc))
                runs.append(time.perf_counter() - started)
        say(f"tutor metrics recompute, tutor with {count} sessions in 90 days", f"{min(runs) * 1000:.1f} ms")


def _bench_debounce(sim: Simulator, url: str, key: str) -> None:
    tutor_id = f"{sim.run}-busytutor"
    now = datetime.now(timezone.utc)
    tutor = {**sim._envelope("tutoring", "TUTOR_UPSERTED", now), "tutor_id": tutor_id, "name": "Busy",
             "email": "busy@example.org", "onboarding_date": "2026-01-05", "status": "active", "subjects": ["math"]}
    post_all([tutor], url, key)
    wait_processed(1, _max_pk())
    before = _counter("tutormax_recomputes", kind="tutor_metrics")
    coalesced_before = _counter("tutormax_recomputes_coalesced", kind="tutor_metrics")
    sessions = [
        {**sim._envelope("tutoring", "SESSION_COMPLETED", now - timedelta(hours=i)), "session_id": f"{tutor_id}-{i}",
         "tutor_id": tutor_id, "student_id": f"st-{i}", "session_number": 1 + i % 4,
         "scheduled_start": (now - timedelta(hours=i)).isoformat(), "actual_start": (now - timedelta(hours=i)).isoformat(),
         "duration_minutes": 45, "subject": "math"}
        for i in range(100)
    ]
    first = _max_pk() + 1
    post_all(sessions[:50], url, key, batch_size=50)
    post_all(sessions[50:], url, key, rate=200)
    wait_processed(first, _max_pk())
    time.sleep(12)  # let the trailing debounced recompute (5 s countdown) run
    recomputes = _counter("tutormax_recomputes", kind="tutor_metrics") - before
    coalesced = _counter("tutormax_recomputes_coalesced", kind="tutor_metrics") - coalesced_before
    say("debounce, one busy tutor", f"{recomputes:.0f} recomputes per 100 events ({coalesced:.0f} coalesced)")
