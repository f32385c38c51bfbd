"""Order independence and rebuild equality of the learning views, through the real pipeline.

A random mix of learning events is posted to a fresh class in a random order, in
random batches, with random duplicates; the same events are posted once, in
timestamp order, to another fresh class with other students. Every view (dashboard,
mastery, risk, timeline, trends) must be the same up to the ids, and `rebuild` must give
back exactly what incremental processing produced.
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from tests.helpers import auth, post_batch, wait_finished

BASE = datetime(2026, 9, 1, 8, 0, tzinfo=timezone.utc)
# Few students and assignments, many grades: regrades and out-of-order pairs are common.
STUDENTS = 2
OFFSETS = {"Z": timezone.utc, "+02:00": timezone(timedelta(hours=2)),
           "-05:30": timezone(timedelta(hours=-5, minutes=-30))}
_counter = itertools.count()

learning_event = st.fixed_dictionaries({
    "kind": st.sampled_from(["ASSIGNMENT_ASSIGNED", "SUBMISSION_CREATED", "SUBMISSION_GRADED", "SUBMISSION_GRADED"]),
    "student": st.integers(0, STUDENTS - 1),
    "assignment": st.sampled_from(["a0", "a1"]),
    "standards": st.lists(st.sampled_from(["S1", "S2", "S3"]), min_size=1, max_size=3),
    "score": st.one_of(st.integers(0, 100), st.sampled_from([12.5, 33.3, 66.7, 99.9, 0.1])),
    "teacher": st.booleans(),
    "offset": st.sampled_from(sorted(OFFSETS)),
})


@st.composite
def scenarios(draw):
    """Events with distinct timestamps, an arrival order with duplicates, and batch cuts."""
    events = draw(st.lists(learning_event, min_size=2, max_size=14))
    n = len(events)
    # Distinct instants: with equal timestamps, arrival order legitimately breaks the tie.
    minutes = draw(st.permutations([7 * i for i in range(n)]))
    arrival = list(draw(st.permutations(range(n))))
    for index in draw(st.lists(st.integers(0, n - 1), max_size=4)):
        arrival.insert(draw(st.integers(0, len(arrival))), index)
    cuts = draw(st.lists(st.booleans(), min_size=len(arrival), max_size=len(arrival)))
    return events, minutes, arrival, cuts


def body(prefix: str, index: int, event: dict, minute: int) -> dict:
    """The event for one class: class, student, teacher and event ids carry `prefix`."""
    when = (BASE + timedelta(minutes=minute)).astimezone(OFFSETS[event["offset"]])
    out = {
        "event_id": f"{prefix}-e{index}", "source": "lms", "type": event["kind"], "timestamp": when.isoformat(),
        "class_id": f"{prefix}-class", "student_id": f"{prefix}-s{event['student']}",
        "assignment_id": event["assignment"], "standard_ids": event["standards"],
    }
    if event["kind"] == "SUBMISSION_GRADED":
        out["score"] = event["score"]
    # The first event always names the teacher, so the dashboard is reachable.
    if event["teacher"] or index == 0:
        out["teacher_id"] = f"{prefix}-t"
    return out


def post(client, keys, bodies: list[dict]) -> list[int]:
    response = post_batch(client, keys["writer"], bodies)
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert all(r["status"] in ("accepted", "duplicate") for r in results), results
    return [r["id"] for r in results]


def views(client, keys, prefix: str) -> str:
    """Every learning view of the class and its students, with `prefix` replaced by a placeholder."""
    paths = [f"/api/v1/teachers/{prefix}-t/classes/{prefix}-class/dashboard",
             f"/api/v1/classes/{prefix}-class/risk", f"/api/v1/classes/{prefix}-class/trend"]
    for k in range(STUDENTS):
        paths += [f"/api/v1/students/{prefix}-s{k}/mastery",
                  f"/api/v1/classes/{prefix}-class/students/{prefix}-s{k}/timeline?limit=500",
                  f"/api/v1/classes/{prefix}-class/students/{prefix}-s{k}/trend"]
    seen = {}
    for path in paths:
        response = client.get(path, headers=auth(keys["reader"]))
        assert response.status_code in (200, 404), (path, response.get_json())
        seen[path.replace(prefix, "P")] = (response.status_code,
                                           response.get_json() if response.status_code == 200 else None)
    return json.dumps(seen, sort_keys=True).replace(prefix, "P")


@settings(max_examples=8, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
@given(scenario=scenarios())
# A regrade (90 at +14 min) posted, alone, before the original grade (50 at +7 min) of the
# same pair, and a grade of the other student; the third batch repeats the regrade.
@example(scenario=(
    [{"kind": "ASSIGNMENT_ASSIGNED", "student": 0, "assignment": "a0", "standards": ["S1"], "score": 0,
      "teacher": True, "offset": "Z"},
     {"kind": "SUBMISSION_GRADED", "student": 0, "assignment": "a0", "standards": ["S1", "S2"], "score": 50,
      "teacher": False, "offset": "+02:00"},
     {"kind": "SUBMISSION_GRADED", "student": 0, "assignment": "a0", "standards": ["S1"], "score": 90,
      "teacher": False, "offset": "-05:30"},
     {"kind": "SUBMISSION_GRADED", "student": 1, "assignment": "a1", "standards": ["S2"], "score": 33.3,
      "teacher": False, "offset": "Z"}],
    [0, 7, 14, 21],
    [2, 1, 2, 3, 0],
    [True, True, True, False, True],
))
def test_views_ignore_arrival_order_and_duplicates_and_equal_rebuild(client, keys, uid, scenario):
    from tutormax.tasks.learning import rebuild_learning

    events, minutes, arrival, cuts = scenario
    run = next(_counter)
    shuffled, ordered = f"{uid}-{run}-x", f"{uid}-{run}-y"

    # Class x: random order, random batches, duplicates included.
    ids: list[int] = []
    batch: list[dict] = []
    for index, cut in zip(arrival, cuts):
        batch.append(body(shuffled, index, events[index], minutes[index]))
        if cut:
            ids += post(client, keys, batch)
            batch = []
    if batch:
        ids += post(client, keys, batch)
    # Class y: each event once, in timestamp order, one batch.
    by_time = sorted(range(len(events)), key=lambda i: minutes[i])
    ids += post(client, keys, [body(ordered, i, events[i], minutes[i]) for i in by_time])
    wait_finished(client, keys["reader"], set(ids))

    incremental = views(client, keys, shuffled)
    assert incremental == views(client, keys, ordered)
    # The dashboard is there (the first event linked the teacher) and counts the events.
    dashboard = json.loads(incremental)["/api/v1/teachers/P-t/classes/P-class/dashboard"]
    assert dashboard[0] == 200 and len(dashboard[1]["recent_activity"]) == min(len(events), 20)

    rebuild_learning()
    assert views(client, keys, shuffled) == incremental
    assert views(client, keys, ordered) == incremental
