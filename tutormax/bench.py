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
from typing import Any

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


class EventPoster:
    """A lean keep-alive HTTP client for single-event POSTs.

    The load generator shares the 2-core machine with the stack it measures;
    `requests` spends about a millisecond of CPU per request, http.client a
    fraction of that, which leaves the CPU to the system under test.
    """

    def __init__(self, url: str, key: str) -> None:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        self._host, self._port = parts.hostname, parts.port
        self._headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self._conn = None

    def post(self, event: dict) -> int:
        """POST one event; returns the status (202 accepted or duplicate)."""
        import http.client
        import json

        body = json.dumps(event).encode()
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=30)
            try:
                self._conn.request("POST", "/api/v1/events", body=body, headers=self._headers)
                response = self._conn.getresponse()
                response.read()
                return response.status
            except (http.client.HTTPException, OSError):
                self._conn.close()
                self._conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def post_singly(events: list[dict], url: str, key: str) -> None:
    """POST events one by one, as fast as the server answers; fails on anything but 202."""
    poster = EventPoster(url, key)
    for event in events:
        status = poster.post(event)
        if status != 202:
            raise RuntimeError(f"POST answered {status}")


def timed_gets(session: requests.Session, url: str, stop, out: list[float]) -> None:
    while not stop.is_set():
        started = time.monotonic()
        session.get(url, timeout=30)
        out.append(time.monotonic() - started)
        time.sleep(0.05)


def _read_loop(key: str, urls: dict[str, str], stop, results) -> None:
    """In a process of its own: GET each URL in a loop until `stop`, then report the latencies."""
    samples: dict[str, list[float]] = {name: [] for name in urls}
    threads = []
    for name, url in urls.items():
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {key}"
        threads.append(threading.Thread(target=timed_gets, args=(http, url, stop, samples[name])))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(samples)


class Readers:
    """Readers in a separate process, as a teacher's browser would be: the load
    generator's threads must not share a GIL with the clock that times the reads."""

    def __init__(self, key: str, urls: dict[str, str]) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._results = context.Queue()
        self._process = context.Process(target=_read_loop, args=(key, urls, self._stop, self._results))
        self.samples: dict[str, list[float]] = {}

    def __enter__(self) -> Readers:
        self._process.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self.samples = self._results.get(timeout=120)
        self._process.join(timeout=30)


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
        load = os.getloadavg()
        say("machine", f"{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at start")
        sim = Simulator(seed=7)
        naive = _bench_naive(stack)
        _bench_single(sim, url, key, naive)
        _bench_batch(sim, url, key, naive)
        _bench_freshness_and_reads(sim, url, key)
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


def _pipeline_tasks() -> float:
    from tutormax.metrics import PREFIX
    from tutormax.redis_client import get_redis

    return sum(float(v) for v in get_redis().hgetall(PREFIX + "tutormax_pipeline_tasks").values())


def _ingest_and_process(events: list[dict], post: Callable[[list[dict]], object]) -> tuple[float, float, float]:
    """(accepted/s, processed end to end/s, pipeline tasks per event) for posting `events`."""
    first = _max_pk() + 1
    tasks_before = _pipeline_tasks()
    started = time.monotonic()
    post(events)
    accepted = time.monotonic() - started
    last = _max_pk()
    processed = accepted + wait_processed(first, last)
    count = last - first + 1
    return count / accepted, count / processed, (_pipeline_tasks() - tasks_before) / count


NAIVE_EVENTS = 3000
CLIENTS = 16


def _bench_naive(stack: LocalStack) -> float:
    """Events/s of the naive design: one chain of four no-op tasks per event, 16 publishing threads."""
    import sys

    from tutormax import bench_naive
    from tutormax.redis_client import get_redis

    stack._spawn("naive", [sys.executable, "-m", "celery", "-A", "tutormax.bench_naive", "worker", "-Q",
                           bench_naive.QUEUE, "-n", "naive@%h", "--concurrency", "4", "--loglevel", "WARNING"])
    redis = get_redis()
    redis.delete(bench_naive.DONE_KEY)
    bench_naive.start_chain(0)  # warm-up: the worker is up when its first chain is done
    deadline = time.monotonic() + 60
    while int(redis.get(bench_naive.DONE_KEY) or 0) < 1:
        if time.monotonic() > deadline:
            raise RuntimeError("the naive worker did not start")
        time.sleep(0.1)
    redis.delete(bench_naive.DONE_KEY)
    started = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(bench_naive.start_chain, range(NAIVE_EVENTS)))
    while int(redis.get(bench_naive.DONE_KEY) or 0) < NAIVE_EVENTS:
        time.sleep(0.05)
    rate = NAIVE_EVENTS / (time.monotonic() - started)
    stack.stop("naive")
    say(f"baseline, naive design: one chain of 4 no-op tasks per event, {NAIVE_EVENTS} events, "
        f"{CLIENTS} publishing threads, worker with 4 children", f"{rate:.0f} events/s end to end (4.0 tasks/event)")
    return rate


def _spread_learning(sim: Simulator, prefix: str, count: int, classes: int) -> list[dict]:
    """`count` learning events over `classes` classes, interleaved as a school's LMS would send them."""
    per_class = [learning_events(sim, f"{sim.run}-{prefix}{c}", count // classes) for c in range(classes)]
    return [e for group in zip(*per_class) for e in group]


def _bench_single(sim: Simulator, url: str, key: str, naive: float) -> None:
    events = _spread_learning(sim, "single", NAIVE_EVENTS, classes=20)

    def post(ev):
        chunks = [ev[i::CLIENTS] for i in range(CLIENTS)]
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(lambda chunk: post_singly(chunk, url, key), chunks))

    accepted, processed, tasks = _ingest_and_process(events, post)
    say(f"single-event POSTs, {len(events)} learning events ({CLIENTS} clients)", f"{accepted:.0f} events/s accepted")
    say("single-event POSTs, end to end (first POST → last processed)",
        f"{processed:.0f} events/s = {processed / naive:.2f}× the naive design, "
        f"{processed / accepted:.2f}× accepted/s, {tasks:.2f} pipeline tasks/event")


def _bench_batch(sim: Simulator, url: str, key: str, naive: float) -> None:
    events = learning_events(sim, f"{sim.run}-bigclass", 20_000)

    def post(ev):
        halves = [ev[:len(ev) // 2], ev[len(ev) // 2:]]
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda half: post_all(half, url, key, batch_size=1000), halves))

    accepted, processed, tasks = _ingest_and_process(events, post)
    say("batch POSTs, 20000 learning events (batches of 1000, 2 clients)", f"{accepted:.0f} events/s accepted")
    say("batch POSTs, end to end", f"{processed:.0f} events/s = {processed / naive:.2f}× the naive design, "
                                   f"{tasks:.3f} pipeline tasks/event")


def paced_post(events: list[dict], url: str, key: str, rate: float, clients: int = CLIENTS) -> list[float]:
    """POST events one by one at `rate` per second from `clients` threads; returns each POST's latency."""
    latencies: list[float] = []
    lock = threading.Lock()
    position = iter(range(len(events)))
    started = time.monotonic() + 0.1

    def client() -> None:
        poster = EventPoster(url, key)
        while True:
            with lock:
                index = next(position, None)
            if index is None:
                return
            time.sleep(max(0.0, started + index / rate - time.monotonic()))
            sent = time.monotonic()
            status = poster.post(events[index])
            if status != 202:
                raise RuntimeError(f"POST answered {status}")
            with lock:
                latencies.append(time.monotonic() - sent)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def _waited_for_reference(events: list[dict]) -> set[tuple[str, str]]:
    """(source, event_id) of tutoring events posted before the record they reference."""
    seen: set[tuple[str, str]] = set()
    early: set[tuple[str, str]] = set()
    for event in events:
        kind = event.get("type")
        if kind == "TUTOR_UPSERTED":
            seen.add(("tutor", event["tutor_id"]))
        elif kind == "SESSION_COMPLETED":
            if ("tutor", event["tutor_id"]) not in seen:
                early.add((event["source"], event["event_id"]))
            seen.add(("session", event["session_id"]))
        elif kind == "FEEDBACK_SUBMITTED" and ("session", event["session_id"]) not in seen:
            early.add((event["source"], event["event_id"]))
        elif kind == "TUTOR_ACTIVITY" and ("tutor", event["tutor_id"]) not in seen:
            early.add((event["source"], event["event_id"]))
    return early


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def _freshness(events: list[dict], url: str, key: str, rate: float) -> None:
    """Offer a mixed stream at `rate` events/s and report freshness, stage medians, POST latency, tasks/event."""
    early = _waited_for_reference(events)
    first = _max_pk() + 1
    tasks_before = _pipeline_tasks()
    posts = paced_post(events, url, key, rate)
    last = _max_pk()
    wait_processed(first, last)
    rows = _rows(
        "SELECT source, event_id, extract(epoch FROM processed_at - received_at), "
        "extract(epoch FROM validated_at - received_at), extract(epoch FROM enriched_at - validated_at), "
        "extract(epoch FROM persisted_at - enriched_at), extract(epoch FROM processed_at - persisted_at) "
        "FROM events WHERE id BETWEEN :a AND :b AND status = 'processed'", a=first, b=last)
    everything = [float(r[2]) for r in rows]
    in_order = [float(r[2]) for r in rows if (r[0], r[1]) not in early]
    stages = [statistics.median(float(r[i]) for r in rows if (r[0], r[1]) not in early) for i in range(3, 7)]
    tasks = (_pipeline_tasks() - tasks_before) / max(1, last - first + 1)
    say(f"freshness at {rate:.0f} events/s offered, {len(rows)} mixed events (received → processed)",
        f"p50 {statistics.median(in_order):.3f} s, p99 {_p(in_order, 0.99):.3f} s "
        f"({len(rows) - len(in_order)} tutoring events sent before their tutor or session, "
        "which wait for it by design; "
        f"all events: p50 {statistics.median(everything):.3f} s, p99 {_p(everything, 0.99):.3f} s)")
    say(f"stage medians at {rate:.0f} events/s",
        "received → validated {:.3f} s, → enriched {:.3f} s, → persisted {:.3f} s, → processed {:.3f} s"
        .format(*stages))
    say(f"POST latency at {rate:.0f} events/s",
        f"p50 {statistics.median(posts) * 1000:.1f} ms, p99 {_p(posts, 0.99) * 1000:.1f} ms; "
        f"{tasks:.2f} pipeline tasks/event")


def _bench_freshness_and_reads(sim: Simulator, url: str, key: str) -> None:
    dashboard = learning_events(sim, f"{sim.run}-dashclass", 300)
    post_all(dashboard, url, key, batch_size=300)
    wait_processed(1, _max_pk())
    class_id = f"{sim.run}-dashclass"
    stream = sim.mixed(1000)
    tutor = next(e for e in stream if e["type"] == "TUTOR_UPSERTED")
    post_all([tutor], url, key)  # read from the start; its later copy in the stream is a duplicate
    tutor_id = tutor["tutor_id"]
    with Readers(key, {
        "dashboard": f"{url}/api/v1/teachers/{class_id}-teacher/classes/{class_id}/dashboard",
        "tutor": f"{url}/api/v1/tutors/{tutor_id}/metrics",
    }) as readers:
        _freshness(stream, url, key, rate=50.0)
    say("read latency at 50 events/s, class dashboard", percentiles(readers.samples["dashboard"]))
    say("read latency at 50 events/s, tutor metrics", percentiles(readers.samples["tutor"]))
    _freshness(sim.mixed(3000), url, key, rate=150.0)


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
        _, processed, _ = _ingest_and_process(events, lambda ev: post_all(ev, url, key, batch_size=1000))
        say(f"per-event processing cost, class with {label} prior events", f"{1000 / processed:.2f} ms/event")


def _bench_handler_cost() -> None:
    """The learning handlers alone: one chain of 100 grades into a class with 10² vs 10⁵ prior events."""
    for prior in (100, 100_000):
        t = measure_learning_chain_cost(prior)
        total = t["persist_seconds"] + t["recompute_seconds"]
        say(f"learning handlers, chain of 100 grades, class with {prior} prior events",
            f"persist {t['persist_seconds'] * 1000:.1f} ms + recompute {t['recompute_seconds'] * 1000:.1f} ms "
            f"= {total * 10:.2f} ms/event ({t['pairs']} student-assignment pairs)")


def _bench_tutor_cost(sim: Simulator, url: str, key: str) -> None:
    """One tutor-metrics recompute (all three windows) for a tutor with 10² vs 10⁴ sessions in 90 days."""
    from tutormax.db import session_scope
    from tutormax.tasks.tutor_metrics import store_metrics

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
         "scheduled_start": (now - timedelta(hours=i)).isoformat(),
         "actual_start": (now - timedelta(hours=i)).isoformat(),
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


def measure_learning_chain_cost(prior_events: int, chain_size: int = 100, students: int = 30,
                       assignments: int | None = None) -> dict[str, float]:
    """Bench (SPEC §7): seconds of the persist and recompute handlers for one chain of
    `chain_size` graded events into a fresh class that already has `prior_events` events.

    History is `students` × `assignments` pairs cycled through assigned/created/graded
    events (default: as many assignments as the history needs, ~3 events per pair).
    Writes real, processed events of a throwaway class; run it on a bench stack only.
    """
    import random
    import uuid

    from sqlalchemy import insert, select

    from tutormax.batching import chunked
    from tutormax.db import session_scope
    from tutormax.models.events import STATUS_PROCESSED, Event
    from tutormax.schemas.learning import ASSIGNMENT_ASSIGNED as ASSIGNED
    from tutormax.schemas.learning import SUBMISSION_CREATED
    from tutormax.schemas.learning import SUBMISSION_GRADED as GRADED
    from tutormax.tasks.learning import (
        REBUILD_BATCH,
        apply_grades,
        persist,
        persist_facts,
        recompute,
        recompute_classes,
    )

    rng = random.Random(prior_events)
    class_id = f"bench-{uuid.uuid4().hex[:12]}"
    if assignments is None:
        assignments = max(1, prior_events // (3 * students))
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    kinds = (ASSIGNED, SUBMISSION_CREATED, GRADED)

    def rows(count: int, first: int, kind_of) -> list[dict[str, Any]]:
        out = []
        for i in range(first, first + count):
            kind = kind_of(i)
            payload = {"student_id": f"{class_id}-s{i % students}", "class_id": class_id,
                       "assignment_id": f"a{(i // students) % assignments}", "standard_ids": [f"S{i % 5}"],
                       "teacher_id": "bench-teacher"}
            if kind == GRADED:
                payload["score"] = float(rng.randint(0, 100))
            out.append({"source": "bench", "event_id": f"{class_id}-{i}", "type": kind, "domain": "learning",
                        "timestamp": start + timedelta(seconds=i), "tz_offset_minutes": 0, "payload": payload,
                        "status": STATUS_PROCESSED})
        return out

    def store(values: list[dict[str, Any]]) -> list[Any]:
        with session_scope() as session:
            ids = []
            for part in chunked(values, 1000):
                ids += session.scalars(insert(Event).values(list(part)).returning(Event.id)).all()
            # One transaction's ids: a range, not a 10⁵-parameter IN list.
            return session.execute(select(Event.id, Event.type, Event.timestamp, Event.payload)
                                   .where(Event.id.between(min(ids), max(ids)), Event.source == "bench")
                                   .order_by(Event.id)).all()

    history = store(rows(prior_events, 0, lambda i: kinds[(i // (students * assignments)) % 3]))
    for i in range(0, len(history), REBUILD_BATCH):
        with session_scope() as session:
            batch = history[i:i + REBUILD_BATCH]
            persist_facts(session, batch)
            apply_grades(session, batch)
            recompute_classes(session, [class_id])
    chain = store(rows(chain_size, prior_events, lambda i: GRADED))
    timings: dict[str, float] = {"prior_events": prior_events, "chain_size": chain_size,
                                 "pairs": students * assignments}
    with session_scope() as session:
        began = time.perf_counter()
        persist(session, chain)
        timings["persist_seconds"] = time.perf_counter() - began
    with session_scope() as session:
        began = time.perf_counter()
        recompute(session, chain)
        timings["recompute_seconds"] = time.perf_counter() - began
    return timings
