"""`tutormax simulate --xapi-share`: part of the grades go to /xapi/statements over real HTTP (gunicorn)."""

from __future__ import annotations

from sqlalchemy import text

from tests.helpers import wait_for


def test_simulated_stream_with_an_xapi_share_is_processed_into_the_same_views(web, keys):
    from tutormax.db import session_scope
    from tutormax.simulate import Simulator, post_all, post_statements, split_xapi

    simulator = Simulator(seed=5, iri_ids=True)
    events, statements = split_xapi(simulator.mixed(300), 0.3)
    graded = [e for e in events if e.get("type") == "SUBMISSION_GRADED"]
    assert statements and graded  # both kinds, roughly 30 % of the grades as statements
    assert 0.1 < len(statements) / (len(statements) + len(graded)) < 0.5
    assert post_all(events, web, keys["writer"], batch_size=100)["invalid"] == 0
    assert post_statements(statements, web, keys["writer"]) == len(statements)
    distinct = {s["id"] for s in statements}

    def count(status: str | None = None) -> int:
        with session_scope() as session:
            return session.execute(text(
                "SELECT count(*) FROM events WHERE source = 'xapi' AND event_id = ANY(:ids)"
                + (" AND status = :status" if status else "")), {"ids": list(distinct), "status": status}).scalar()

    assert count() == len(distinct)
    wait_for(lambda: count("processed") == len(distinct), timeout=180, what="the statements to be processed")
    with session_scope() as session:
        types = session.execute(text("SELECT DISTINCT type FROM events WHERE source = 'xapi' AND event_id = ANY(:ids)"),
                                {"ids": list(distinct)}).scalars().all()
    assert types == ["SUBMISSION_GRADED"]
