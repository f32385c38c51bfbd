"""Small helpers shared by the integration tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def wait_for(predicate: Callable[[], Any], timeout: float = 30, interval: float = 0.2, what: str = "condition") -> Any:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


def metric_value(exposition: str, name: str, **labels: str) -> float | None:
    """The value of sample `name` with exactly `labels` in a Prometheus text exposition; None if absent."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return None


def post_event(client, key: str, event: dict, **kwargs):
    return client.post("/api/v1/events", json=event, headers=auth(key), **kwargs)


def post_batch(client, key: str, events: list[dict]):
    return client.post("/api/v1/events/batch", json={"events": events}, headers=auth(key))


def event_status(client, key: str, event_pk: int) -> dict:
    response = client.get(f"/api/v1/events/{event_pk}", headers=auth(key))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def wait_finished(client, key: str, event_pks, timeout: float = 60, status: str = "processed") -> None:
    """Wait until every event reaches `status` (processed or dead_lettered)."""
    pending = set(event_pks)

    def done():
        for pk in list(pending):
            if event_status(client, key, pk)["status"] == status:
                pending.discard(pk)
        return not pending

    wait_for(done, timeout=timeout, what=f"events {sorted(pending)[:10]} to be {status}")


LEARNING_TYPES = {"assigned": "ASSIGNMENT_ASSIGNED", "created": "SUBMISSION_CREATED", "graded": "SUBMISSION_GRADED"}


def learning_event(uid: str, n: str, kind: str, student: str, class_id: str, assignment: str,
                   standards: list[str], day: str, time: str, score: float | None = None,
                   teacher: str | None = None, offset: str = "Z") -> dict:
    """One learning event body; `kind` is assigned/created/graded, ids prefixed by the test's uid."""
    body = {
        "event_id": f"{uid}-{n}", "source": "lms", "type": LEARNING_TYPES[kind],
        "timestamp": f"{day}T{time}{offset}", "student_id": f"{uid}-{student}", "class_id": f"{uid}-{class_id}",
        "assignment_id": f"{uid}-{assignment}", "standard_ids": [f"{uid}-{s}" for s in standards],
    }
    if score is not None:
        body["score"] = score
    if teacher is not None:
        body["teacher_id"] = f"{uid}-{teacher}"
    return body
