"""SPEC §4 "Privacy" at scale: erasing a student with 10⁴ events while other classes keep posting.

Prints the erasure's time and the p50/p99 of concurrent single-event POSTs (against gunicorn),
next to the same figures without an erasure running; timings are reported, not asserted.
Set TUTORMAX_ERASURE_SCALE_EVENTS to change the student's event count.
"""

from __future__ import annotations

import json
import os
import statistics
import threading
import time
import urllib.request

from tests.factories import learning_event_on_day
from tests.helpers import auth, post_batch, wait_for

EVENTS = int(os.environ.get("TUTORMAX_ERASURE_SCALE_EVENTS", "10000"))


WEB_THREADS, WEB_NAME = 8, "web-erasure-scale"


def _post(url: str, key: str, body: dict) -> float:
    request = urllib.request.Request(f"{url}/api/v1/events", data=json.dumps(body).encode(), method="POST",
                                     headers={**auth(key), "Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 202
    return time.perf_counter() - started


def _post_while(url: str, key: str, uid: str, tag: str, running: threading.Event, latencies: list[float]) -> None:
    n = 0
    while running.is_set():
        n += 1
        body = learning_event_on_day(uid, f"{tag}-{n}", "graded", f"other-{n % 20}", f"other-{n % 5}", f"a{n % 7}",
                                     ["std"], "10:00:00", score=n % 100)
        latencies.append(_post(url, key, body))


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) >= 2 else float("nan")


def _pending(conn_sql: str) -> int:
    from sqlalchemy import text

    from tutormax.db import session_scope

    with session_scope() as session:
        return session.scalar(text(conn_sql))


def test_erasing_ten_thousand_events_does_not_block_other_classes(client, keys, web, uid):
    student = f"{uid}-busy"
    for start in range(0, EVENTS, 1000):
        bodies = [learning_event_on_day(uid, f"e{i}", "graded" if i % 2 else "assigned", "busy", f"c{i % 3}",
                                        f"a{i // 2}", ["s1", "s2"], "09:00:00", score=(i * 7) % 100 if i % 2 else None)
                  for i in range(start, min(start + 1000, EVENTS))]
        response = post_batch(client, keys["writer"], bodies)
        assert response.status_code == 200 and response.get_json()["accepted"] == len(bodies)
    wait_for(lambda: _pending("SELECT count(*) = 0 FROM outbox"), timeout=600, interval=1,
             what="the student's events processed")

    def measure(tag: str, action) -> tuple[list[float], float]:
        latencies: list[float] = []
        running = threading.Event()
        running.set()
        posters = [threading.Thread(target=_post_while, args=(web, keys["writer"], uid, f"{tag}{i}", running,
                                                              latencies)) for i in range(4)]
        for t in posters:
            t.start()
        time.sleep(1)
        started = time.perf_counter()
        action()
        elapsed = time.perf_counter() - started
        time.sleep(1)
        running.clear()
        for t in posters:
            t.join()
        return latencies, elapsed

    stored = _pending(f"SELECT count(*) FROM events WHERE payload ->> 'student_id' = '{student}'")
    assert stored == EVENTS
    baseline, _ = measure("base", lambda: time.sleep(5))

    def erase():
        response = client.delete(f"/api/v1/admin/subjects/student/{student}", headers=auth(keys["admin"]))
        erasure_id = response.get_json()["erasure_id"]
        wait_for(lambda: client.get(f"/api/v1/admin/erasures/{erasure_id}", headers=auth(keys["admin"]))
                 .get_json()["status"] == "done", timeout=300, interval=0.05, what="erasure done")
        erase.body = client.get(f"/api/v1/admin/erasures/{erasure_id}", headers=auth(keys["admin"])).get_json()

    during, elapsed = measure("erase", erase)
    counts = erase.body["counts"]
    assert counts["events_deleted"] == EVENTS
    print(f"\nerasure of {EVENTS} events: first pass {counts['first_pass_ms']} ms, {elapsed:.2f} s from request to "
          f"done (after its verification pass) (counts {counts})")
    print(f"concurrent POSTs of other classes without erasure: n={len(baseline)} "
          f"p50={_p(baseline, 50):.1f} ms p99={_p(baseline, 99):.1f} ms")
    print(f"concurrent POSTs of other classes during erasure:  n={len(during)} "
          f"p50={_p(during, 50):.1f} ms p99={_p(during, 99):.1f} ms")
