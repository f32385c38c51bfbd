"""Real HTTP through gunicorn, as the Procfile runs it: the README examples and the simulator."""

from __future__ import annotations

import requests
from sqlalchemy import text

from tests.helpers import wait_for


def test_readme_examples_answer_as_documented(web, keys, uid):
    headers = {"Authorization": f"Bearer {keys['all']}"}
    event = {"event_id": f"readme-{uid}", "source": "lms", "type": "SUBMISSION_GRADED",
             "timestamp": "2026-09-01T09:30:00+02:00", "student_id": f"s-{uid}", "class_id": f"c-{uid}",
             "assignment_id": "a-1", "standard_ids": ["MATH.1"], "score": 87, "teacher_id": f"t-{uid}"}
    first = requests.post(f"{web}/api/v1/events", json=event, headers=headers, timeout=10)
    assert first.status_code == 202
    assert first.json()["duplicate"] is False and first.json()["type"] == "SUBMISSION_GRADED"
    again = requests.post(f"{web}/api/v1/events", json=event, headers=headers, timeout=10)
    assert again.status_code == 202 and again.json() == {**first.json(), "duplicate": True}

    pk = first.json()["id"]
    status = wait_for(lambda: (r := requests.get(f"{web}/api/v1/events/{pk}", headers=headers, timeout=10).json())
                      ["status"] == "processed" and r, what="processed")
    assert status["stages"]["processed_at"] is not None

    bad = requests.post(f"{web}/api/v1/events", headers=headers, timeout=10,
                        json={**event, "event_id": f"readme-{uid}-4", "score": 140})
    assert bad.status_code == 422
    assert bad.json()["errors"] == {
        "score": ["Must be greater than or equal to 0 and less than or equal to 100."]}

    big = requests.post(f"{web}/api/v1/events", headers={**headers, "Content-Type": "application/json"},
                        data=b'{"pad": "' + b"x" * (1024 * 1024) + b'"}', timeout=10)
    assert big.status_code == 413

    assert requests.get(f"{web}/readyz", timeout=10).json()["status"] == "ready"
    assert "tutormax_events_ingested_total" in requests.get(f"{web}/metrics", timeout=10).text


def test_simulated_mixed_stream_is_fully_processed(web, keys):
    from tutormax.db import session_scope
    from tutormax.simulate import Simulator, post_all

    simulator = Simulator(seed=3)
    events = simulator.mixed(400)
    totals = post_all(events, web, keys["writer"], batch_size=100)
    distinct = len({(e["source"], e["event_id"]) for e in events})
    assert totals["invalid"] == 0
    assert totals["accepted"] == distinct and totals["duplicates"] == len(events) - distinct

    def unfinished() -> int:
        with session_scope() as session:
            return session.execute(text(
                "SELECT count(*) FROM events WHERE event_id LIKE :run AND status = 'received'"),
                {"run": f"{simulator.run}-%"}).scalar()

    wait_for(lambda: unfinished() == 0, timeout=180, what="the simulated stream to finish")
    with session_scope() as session:
        dead = session.execute(text(
            "SELECT count(*) FROM events WHERE event_id LIKE :run AND status = 'dead_lettered'"),
            {"run": f"{simulator.run}-%"}).scalar()
    assert dead == 0
