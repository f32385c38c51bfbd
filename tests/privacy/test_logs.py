"""docs/privacy.md "What is logged": the simulator's stream through the real stack leaves no
name, email or free text in any process's log (gunicorn, Celery workers, beat, PostgreSQL, Redis)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import auth, wait_for
from tutormax.simulate import Simulator
from tutormax.simulate import post_all as simulate_post

WEB_THREADS, WEB_NAME = 8, "web-privacy-logs"


def _outbox_empty() -> bool:
    from sqlalchemy import text

    from tutormax.db import session_scope

    with session_scope() as session:
        return session.scalar(text("SELECT count(*) = 0 FROM outbox"))


def test_no_process_logs_a_name_an_email_or_free_text(stack, web, keys, client, uid):
    simulator = Simulator(seed=15)
    events = simulator.mixed(600)
    texts = []
    for n, event in enumerate(events):
        if event["type"] == "FEEDBACK_SUBMITTED":
            # The simulator sends no free text: add some, one distinct sentence per feedback.
            event["free_text_feedback"] = f"Private remark {uid} number {n}"
            texts.append(event["free_text_feedback"])
    names = {e["name"] for e in events if e["type"] == "TUTOR_UPSERTED"}
    emails = {e["email"] for e in events if e["type"] == "TUTOR_UPSERTED"}
    assert names and emails and texts
    totals = simulate_post(events, web, keys["writer"])
    assert totals["accepted"] > 0
    wait_for(_outbox_empty, timeout=240, interval=1, what="the simulated stream processed")
    # Export and erase a tutee too, so the privacy paths' own logs are covered.
    tutee = next(e["student_id"] for e in events if e["type"] == "FEEDBACK_SUBMITTED")
    assert client.get(f"/api/v1/admin/subjects/student/{tutee}/export", headers=auth(keys["admin"])).status_code == 200
    erasure = client.delete(f"/api/v1/admin/subjects/student/{tutee}", headers=auth(keys["admin"])).get_json()
    wait_for(lambda: client.get(f"/api/v1/admin/erasures/{erasure['erasure_id']}", headers=auth(keys["admin"]))
             .get_json()["status"] == "done", what="erasure done")

    logs = sorted(Path(stack.workdir).rglob("*.log"))
    assert any(p.name.startswith("web-privacy-logs") for p in logs) and any("worker" in p.name or "recompute"
                                                                            in p.name for p in logs)
    # The logs do record the work (event ids, counts): the search below is not over empty files.
    assert any("events stored" in p.read_text(errors="replace") for p in logs if p.name.startswith("web-privacy"))
    assert any("erasure done" in p.read_text(errors="replace") for p in logs)
    found = []
    for path in logs:
        content = path.read_text(errors="replace")
        for needle in (*names, *emails, *texts, "Private remark"):
            if needle in content:
                found.append((path.name, needle))
    assert found == []
