"""A batch's status does not depend on the order or grouping its events arrive in (concurrent chains)."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import Essays, utc
from tests.helpers import essays_by_id, post_batch, status_body, wait_finished

_examples = itertools.count()


def journey(make: Essays, batch: str, user: str) -> list[dict]:
    """Every event of one batch: three essays, one fails spellcheck, the pipeline completes."""
    return [
        make.registered(batch, user, ["e1", "e2", "e3"], minute=0),
        make.spellcheck(batch, "e1", "SUCCESS", 1),
        make.spellcheck(batch, "e2", "SUCCESS", 1),
        make.spellcheck(batch, "e3", "FAILED", 1),
        make.outcome(batch, "spellcheck", "completed_with_failures", ["e1", "e2"], ["e3"], 2),
        make.assessment(batch, [{"essay_id": "e2", "rank": 1, "bt_score": 0.7},
                                {"essay_id": "anchor", "rank": 2, "bt_score": 0.1, "is_anchor": True},
                                {"essay_id": "e1", "rank": 3, "bt_score": -0.2}], 3),
        make.outcome(batch, "cj_assessment", "completed_successfully", ["e1", "e2"], [], 4),
        make.completed(batch, "completed_with_failures", 2, 1, 5),
    ]


@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(order=st.permutations(range(8)), cuts=st.sets(st.integers(min_value=1, max_value=7), max_size=2))
def test_any_arrival_order_gives_the_same_status(client, keys, uid, order, cuts):
    example = next(_examples)
    make = Essays(f"{uid}-{example}")
    batch, user = f"b-{uid}-{example}", f"u-{uid}-{example}"
    events = [journey(make, batch, user)[i] for i in order]
    bounds = [0, *sorted(cuts), len(events)]
    pks = []
    # Groups posted back to back: their chains run concurrently on the workers.
    for start, end in itertools.pairwise(bounds):
        body = post_batch(client, keys["writer"], events[start:end]).get_json()
        assert body["accepted"] == end - start, body
        pks += [result["id"] for result in body["results"]]
    wait_finished(client, keys["reader"], pks, timeout=60)

    body = status_body(client, batch)
    # Spellcheck outcome: 2 + 1 >= 3 with both kinds → completed_with_failures (minute 2); the
    # pipeline's final word (minute 5) agrees; counts max 2 completed, 1 failed.
    assert (body["overall_status"], body["internal_status"], body["current_phase"]) == (
        "completed_with_failures", "completed_with_failures", None)
    assert (body["completed_essay_count"], body["failed_essay_count"], body["essay_count"]) == (2, 1, 3)
    assert (body["created_at"], body["processing_started_at"], body["processing_completed_at"],
            body["last_updated"]) == (utc(0), utc(2), utc(5), utc(5))
    essays = essays_by_id(body)
    assert [e["essay_id"] for e in body["essays"]] == ["e1", "e2", "e3"]  # the anchor is ignored
    assert [(essays[e]["spellcheck_status"], essays[e]["cj_rank"]) for e in ("e1", "e2", "e3")] == [
        ("completed", 3), ("completed", 1), ("failed", None)]
