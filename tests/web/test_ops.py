"""Operator endpoints: liveness, readiness, metrics, OpenAPI."""

from __future__ import annotations

from tests.helpers import metric_value, post_event, wait_finished


def test_healthz_checks_nothing(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_reports_each_dependency(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready",
                                   "checks": {"database": "ok", "schema": "ok", "redis": "ok"}}


def test_readyz_is_503_when_redis_is_unreachable(client, monkeypatch):
    import redis

    from tutormax import redis_client

    monkeypatch.setattr(redis_client, "_client", redis.Redis(port=1, socket_connect_timeout=0.2))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["redis"].startswith("error")


def test_readyz_is_503_when_schema_is_behind(client, monkeypatch):
    from tutormax.web import ops

    monkeypatch.setattr(ops, "schema_is_current", lambda engine: False)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "tutormax db upgrade" in response.get_json()["checks"]["schema"]


def _sample(text: str, name: str, **labels: str) -> float:
    return metric_value(text, name, **labels) or 0.0


def test_pipeline_metrics_are_aggregated_from_the_workers(client, keys, uid):
    before = client.get("/metrics").get_data(as_text=True)
    event = {"event_id": f"{uid}-m", "source": "metrics", "type": "BOOK_CHECKED_OUT",
             "timestamp": "2026-09-01T08:00:00Z", "student_id": f"s-{uid}", "book_id": "b"}
    pk = post_event(client, keys["writer"], event).get_json()["id"]
    post_event(client, keys["writer"], event)
    wait_finished(client, keys["reader"], [pk])
    after = client.get("/metrics").get_data(as_text=True)
    labels = {"type": "BOOK_CHECKED_OUT"}
    ingested = "tutormax_events_ingested_total"
    assert _sample(after, ingested, **labels) - _sample(before, ingested, **labels) >= 1
    assert _sample(after, "tutormax_events_duplicate_total") - _sample(before, "tutormax_events_duplicate_total") >= 1
    # Counted by a worker process, read by the web process.
    assert _sample(after, "tutormax_events_processed_total", **labels) >= 1
    assert _sample(after, "tutormax_event_e2e_seconds_count") >= 1
    for queue in ("ingest", "enrich", "persist", "recompute.learning", "maintenance"):
        assert f'tutormax_queue_depth{{queue="{queue}"}}' in after
    # prometheus-flask-exporter request metrics are there too.
    assert "flask_http_request_duration_seconds" in after


def test_openapi_document_and_swagger_ui(client):
    spec = client.get("/openapi/openapi.json")
    assert spec.status_code == 200
    paths = spec.get_json()["paths"]
    for path in ("/api/v1/events", "/api/v1/events/batch", "/api/v1/events/{event_pk}",
                 "/api/v1/admin/dead-letters", "/api/v1/admin/dead-letters/{letter_id}/replay"):
        assert path in paths, sorted(paths)
    docs = client.get("/openapi/docs")
    assert docs.status_code == 200 and b"swagger" in docs.data.lower()
