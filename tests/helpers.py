"""Small helpers shared by the integration tests."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select


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


def get_json(client, key: str, path: str, status: int = 200) -> dict:
    """GET `path` with `key`; asserts the status and returns the body."""
    response = client.get(path, headers=auth(key))
    assert response.status_code == status, (path, response.get_json())
    return response.get_json()


def accepted_ids(response) -> list[int]:
    """The ids of a batch answer in which nothing was invalid."""
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["invalid"] == 0, body
    return [r["id"] for r in body["results"]]


def post_all(client, keys, bodies: list[dict]) -> list[int]:
    """Post events as one batch; return their ids (all must be accepted, none a duplicate)."""
    response = post_batch(client, keys["writer"], bodies)
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == ["accepted"] * len(bodies), results
    return [r["id"] for r in results]


def metric(client, name: str, **labels: str) -> float:
    """One sample of the web /metrics page (0 when absent)."""
    label_text = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    prefix = f"{name}{{{label_text}}} " if labels else f"{name} "
    for line in client.get("/metrics").get_data(as_text=True).splitlines():
        if line.startswith(prefix):
            return float(line.split()[-1])
    return 0.0


# --- the internal batch-status API (SPEC §3.4) -------------------------------------

INTERNAL = {"X-Internal-API-Key": "test-internal-key", "X-Service-ID": "essay-service"}


def send(client, keys, *events: dict) -> list[int]:
    """POST events as one batch and wait until every one is processed."""
    response = post_batch(client, keys["writer"], list(events))
    body = response.get_json()
    assert response.status_code == 200 and body["accepted"] == len(events), body
    pks = [result["id"] for result in body["results"]]
    wait_finished(client, keys["reader"], pks, timeout=60)
    return pks


def batch_status(client, batch_id: str, headers: dict | None = None):
    return client.get(f"/internal/v1/batches/{batch_id}/status", headers=INTERNAL if headers is None else headers)


def status_body(client, batch_id: str) -> dict:
    response = batch_status(client, batch_id)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def user_batches(client, user_id: str, query: str = "", headers: dict | None = None):
    return client.get(f"/internal/v1/batches/user/{user_id}{query}", headers=INTERNAL if headers is None else headers)


def essays_by_id(body: dict) -> dict[str, dict]:
    return {essay["essay_id"]: essay for essay in body["essays"]}


# --- the /dashboard pages -------------------------------------------------------------

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(client, path: str = "/dashboard/login") -> str:
    """The CSRF token of the form on `path`."""
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    return CSRF.search(page.get_data(as_text=True)).group(1)


def sign_in(client, key: str, next_path: str | None = None) -> str:
    """Sign `client` in with `key`; returns the redirect target."""
    data = {"api_key": key, "csrf_token": csrf_from(client)}
    if next_path is not None:
        data["next"] = next_path
    response = client.post("/dashboard/login", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


# --- re-running handlers as a redelivery would ------------------------------------------

def rerun_handlers(event_pks: list[int]) -> int:
    """Run persist then recompute again for processed events, as a redelivery would; return SQL statements run."""
    from tutormax.db import get_engine, session_scope
    from tutormax.models.events import Event
    from tutormax.tasks import learning

    statements = []

    def count(conn, cursor, statement, *args):
        if not re.match(r"\s*(SELECT|INSERT|UPDATE|DELETE|WITH)", statement, re.I) or "FROM events" in statement:
            return
        statements.append(statement)

    engine = get_engine()
    with session_scope() as session:
        events = session.scalars(select(Event).where(Event.id.in_(event_pks)).order_by(Event.id)).all()
        sa_event.listen(engine, "before_cursor_execute", count)
        try:
            learning.persist(session, events)
            learning.recompute(session, events)
        finally:
            sa_event.remove(engine, "before_cursor_execute", count)
    return len(statements)


@contextmanager
def scratch_database(stack, name: str) -> Iterator[str]:
    """A fresh, empty database `name` on the session's server, the app's DATABASE_URL while inside.

    For migration tests that must not touch the session's data; the settings and the engine
    go back to the session database on the way out.
    """
    import psycopg

    from tutormax.config import reset_settings
    from tutormax.db import dispose_engine

    admin = f"host=127.0.0.1 port={stack.pg.port} user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    url = stack.pg.url.rsplit("/", 1)[0] + f"/{name}"
    original = os.environ["DATABASE_URL"]
    os.environ["DATABASE_URL"] = url
    reset_settings()
    try:
        yield url
    finally:
        os.environ["DATABASE_URL"] = original
        reset_settings()
        dispose_engine()
