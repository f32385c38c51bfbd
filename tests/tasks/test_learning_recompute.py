"""The learning handlers: redelivery changes nothing, cost per chain does not grow with it, counters move."""

from __future__ import annotations

import re

from tests.factories import learning_event_on_day as ev
from tests.helpers import get_json as get
from tests.helpers import post_batch, rerun_handlers, wait_finished


def post_ids(client, keys, bodies: list[dict]) -> list[int]:
    response = post_batch(client, keys["writer"], bodies)
    assert response.status_code == 200, response.get_json()
    return [r["id"] for r in response.get_json()["results"]]


def class_events(uid: str, students: int, tag: str) -> list[dict]:
    """Per student: a1 assigned, a1 graded on S1+S2, a2 graded — three events each, teacher tA."""
    bodies = []
    for k in range(students):
        bodies += [
            ev(uid, f"{tag}-as-{k}", "assigned", f"u{k}", "A", "a1", ["S1"], f"08:{k % 60:02d}:00", teacher="tA"),
            ev(uid, f"{tag}-g1-{k}", "graded", f"u{k}", "A", "a1", ["S1", "S2"], f"09:{k % 60:02d}:00", 40 + k % 60),
            ev(uid, f"{tag}-g2-{k}", "graded", f"u{k}", "A", "a2", ["S1"], f"10:{k % 60:02d}:00", 90),
        ]
    return bodies


def learning_views(client, keys, uid: str) -> tuple:
    reader = keys["reader"]
    return (get(client, reader, f"/api/v1/teachers/{uid}-tA/classes/{uid}-A/dashboard"),
            get(client, reader, f"/api/v1/students/{uid}-u0/mastery"),
            get(client, reader, f"/api/v1/classes/{uid}-A/risk"))


def test_redelivered_chain_changes_nothing_and_costs_the_same_for_3_or_90_events(client, keys, uid):
    ids = post_ids(client, keys, class_events(uid, 30, "x"))
    wait_finished(client, keys["reader"], ids)
    before = learning_views(client, keys, uid)
    # u0: S1 graded 40 (09:00) then 90 (10:00) → 0.9, 2 attempts, average 0.65.
    assert [(m["standard_id"], m["mastery_score"], m["attempts"], m["average_score"])
            for m in before[1]["mastery"]] == [(f"{uid}-S1", 0.9, 2, 0.65), (f"{uid}-S2", 0.4, 1, 0.4)]

    small = rerun_handlers(ids[:3])
    large = rerun_handlers(ids)
    # Nothing is counted twice: the grades were already folded into mastery.
    assert learning_views(client, keys, uid) == before
    # A fixed handful of statements per chain with one class, whether 3 or 90 events:
    # 5 persist inserts/upserts + the assignments' standards (SPEC §3.5) + mastery fold + class lock
    # + pair read + rollup upsert + risk delete = 11 (no student is flagged, so no risk insert).
    assert small == large == 11


def read_counter(client, kind: str) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    match = re.search(rf'^tutormax_recomputes_total{{kind="{kind}"}} ([0-9.e+]+)$', text, re.M)
    return float(match.group(1)) if match else 0.0


def test_recomputes_are_counted(client, keys, uid):
    before = {kind: read_counter(client, kind) for kind in ("mastery", "class_rollup")}
    wait_finished(client, keys["reader"], post_ids(client, keys, class_events(uid, 2, "m")))
    # One chain with grades → at least one mastery and one class_rollup recompute.
    for kind in before:
        assert read_counter(client, kind) >= before[kind] + 1, kind


def test_cli_rebuild_gives_the_incremental_views(client, keys, uid):
    from click.testing import CliRunner

    from tutormax.cli import main

    wait_finished(client, keys["reader"], post_ids(client, keys, class_events(uid, 4, "r")))
    before = learning_views(client, keys, uid)
    result = CliRunner().invoke(main, ["rebuild", "--domain", "learning"])
    assert result.exit_code == 0, result.output
    assert re.search(r"^learning: rebuilt \(\d+ events, \d+ classes\)$", result.output, re.M), result.output
    assert learning_views(client, keys, uid) == before


def test_concurrent_single_event_chains_for_one_class(client, keys, uid):
    from tests.helpers import post_event

    # 12 students, each assigned a1 (08:k) and graded on it (09:k) with score 50 + 4k, every event its
    # own POST and chain, so recomputes of the class race on the workers.
    ids = []
    for k in range(12):
        for body in (ev(uid, f"as-{k}", "assigned", f"u{k}", "A", "a1", ["S1"], f"08:{k:02d}:00", teacher="tA"),
                     ev(uid, f"g-{k}", "graded", f"u{k}", "A", "a1", ["S1"], f"09:{k:02d}:00", 50 + 4 * k)):
            response = post_event(client, keys["writer"], body)
            assert response.status_code == 202
            ids.append(response.get_json()["id"])
    wait_finished(client, keys["reader"], ids)
    dash = get(client, keys["reader"], f"/api/v1/teachers/{uid}-tA/classes/{uid}-A/dashboard")
    # Every pair assigned and graded → 1.0; mean of 50, 54, …, 94 = (50 + 94)/2 = 72; nobody at risk.
    assert (dash["student_count"], dash["assignment_count"], dash["completion_rate"], dash["average_score"]) == (
        12, 1, 1.0, 72.0)
    assert dash["at_risk_students"] == []
    # S1 mastery: mean of 0.50 … 0.94 = 0.72 over 12 students.
    assert [(m["students"], round(m["average_mastery"], 9)) for m in dash["mastery_by_standard"]] == [(12, 0.72)]
