"""The tutor roster and the tier flags through the real stack (SPEC §3.3, §4); expected values worked out by hand.

The database is shared with other tests (and the OpenAPI fuzzer's random tutors), so every roster
query here names this test's uid in `q`.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.factories import activity_event, feedback_event, session_event, tutor_event
from tests.helpers import accepted_ids, auth, get_json, post_batch, wait_finished, wait_for

UTC = timezone.utc
AR, FS, RR, NS, EN, LO = ("avg_rating", "first_session_success_rate", "reschedule_rate", "no_show_count",
                          "engagement_score", "learning_objectives_met_pct")


def insert_tutor_without_metrics(tutor_id: str, name: str) -> None:
    """A tutor row as the persist stage writes it, with no metrics computed yet (no event, no recompute)."""
    from tutormax.db import session_scope
    from tutormax.models.tutoring import Tutor

    now = datetime.now(UTC)
    with session_scope() as session:
        session.add(Tutor(tutor_id=tutor_id, name=name, email="eve@example.com", onboarding_date="2026-01-01",
                          status="inactive", subjects=["math"], tenure_days=0, is_new_tutor=True,
                          experience_level="junior", subject_count=1, is_active_today=False, derived_at=now,
                          event_timestamp=now, event_pk=0))


@pytest.fixture(scope="module")
def roster_uid() -> str:
    """One uid for the module's tutors, built once (their metrics take a debounced recompute)."""
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="module")
def roster_tutors(app, keys, roster_uid) -> dict[str, str]:
    """Five tutors; short name → tutor id. Sessions 1 and 2 days ago, so every window holds the same."""
    client, uid = app.test_client(), roster_uid
    now = datetime.now(UTC)
    day1, day2 = now - timedelta(days=1), now - timedelta(days=2)
    ids = {short: f"{uid}-{short}" for short in ("a", "b", "C", "d", "e")}
    a, b, c, d = ids["a"], ids["b"], ids["C"], ids["d"]
    events = [
        tutor_event(uid, a, now - timedelta(days=30), name=f"Ada 100% Lovelace {uid}"),
        tutor_event(uid, b, now - timedelta(days=30), name=f"bob_smith {uid}"),
        tutor_event(uid, c, now - timedelta(days=30), name=f"Carol bobXsmith {uid}"),
        tutor_event(uid, d, now - timedelta(days=30), name=f"Dave 1000 Lovelace {uid}"),
        # a: two sessions (the first a first session) rated 5 and 4, engagement 90, objectives met; two logins.
        session_event(uid, f"{a}-s1", a, day1, session_number=1, engagement_score=90, learning_objectives_met=True),
        session_event(uid, f"{a}-s2", a, day2, engagement_score=90, learning_objectives_met=True),
        feedback_event(uid, f"{a}-s1", a, 5, day1 + timedelta(hours=2)),
        feedback_event(uid, f"{a}-s2", a, 4, day2 + timedelta(hours=2)),
        activity_event(uid, 1, a, day1, "login"),
        activity_event(uid, 2, a, day2, "login"),
        # b: one rescheduled session rated 3, engagement 50, objectives not met; no login.
        session_event(uid, f"{b}-s1", b, day1, engagement_score=50, learning_objectives_met=False,
                      tutor_initiated_reschedule=True),
        feedback_event(uid, f"{b}-s1", b, 3, day1 + timedelta(hours=2)),
        # C: one session without feedback, engagement 70, objectives met; one login.
        session_event(uid, f"{c}-s1", c, day1, engagement_score=70, learning_objectives_met=True),
        activity_event(uid, 3, c, day1, "login"),
        # d: no session at all.
    ]
    wait_finished(client, keys["reader"], accepted_ids(post_batch(client, keys["writer"], events)))
    insert_tutor_without_metrics(ids["e"], f"Eve {uid}")

    def settled():
        tutors = get_json(client, keys["reader"], f"/api/v1/tutors?q={uid}")["tutors"]
        month = {t["tutor_id"]: t["windows"]["30day"] for t in tutors}
        return (month[a]["avg_rating"] == 4.5 and month[b]["avg_rating"] == 3.0
                and month[c]["engagement_score"] == 88.0 and month[d]["performance_tier"] is not None)

    wait_for(settled, timeout=30, what="the roster tutors' metrics")
    return ids


def roster(client, keys, query: str) -> tuple[list[str], int]:
    body = get_json(client, keys["reader"], f"/api/v1/tutors?{query}")
    return [t["tutor_id"] for t in body["tutors"]], body["pagination"]["total"]


def test_roster_entries_tiers_and_red_flags(client, keys, roster_uid, roster_tutors):
    ids, uid = roster_tutors, roster_uid
    body = get_json(client, keys["reader"], f"/api/v1/tutors?q={uid}")
    # Default order: tutor_id by code point ('C' is 67, before 'a' 97).
    assert [t["tutor_id"] for t in body["tutors"]] == [ids[s] for s in ("C", "a", "b", "d", "e")]
    assert body["pagination"] == {"limit": 50, "offset": 0, "total": 5}
    by_id = {t["tutor_id"]: t for t in body["tutors"]}

    a = by_id[ids["a"]]
    assert (a["name"], a["status"]) == (f"Ada 100% Lovelace {uid}", "active")
    # avg (5 + 4)/2 = 4.5; first session rated 5 → 100; no reschedule → 0; no no-show; engagement
    # 0.4 · min(2 logins/2 · 100, 100) + 0.4 · 90 + 0.2 · 100 = 96; objectives 2/2 → 100: six green.
    expected_a = {"performance_tier": "Exemplary", "total_sessions_scheduled": 2, "avg_rating": 4.5,
                  "first_session_success_rate": 100.0, "reschedule_rate": 0.0, "no_show_count": 0,
                  "engagement_score": 96.0, "learning_objectives_met_pct": 100.0}
    assert a["windows"] == {"7day": expected_a, "30day": expected_a, "90day": expected_a}
    assert a["red_flags"] == []

    # b: avg 3 < 3.5 red; no first session → null; 1/1 rescheduled → 100 > 15 red; no-show 0 green;
    # engagement 0.4 · 0 + 0.4 · 50 + 0.2 · 100 = 40 < 60 red; objectives 0/1 → 0 < 80 red → At Risk.
    b = by_id[ids["b"]]
    assert b["windows"]["30day"] == {
        "performance_tier": "At Risk", "total_sessions_scheduled": 1, "avg_rating": 3.0,
        "first_session_success_rate": None, "reschedule_rate": 100.0, "no_show_count": 0,
        "engagement_score": 40.0, "learning_objectives_met_pct": 0.0}
    assert b["red_flags"] == [AR, RR, EN, LO]

    # C: no feedback → avg null; engagement 0.4 · 100 + 0.4 · 70 + 0.2 · 100 = 88; green RR, NS, EN, LO → Strong.
    assert (by_id[ids["C"]]["windows"]["30day"]["performance_tier"], by_id[ids["C"]]["red_flags"]) == ("Strong", [])
    # d: no session: counts 0, rates null; the no-show count 0 is its one green flag → Developing.
    assert by_id[ids["d"]]["windows"]["30day"] == {
        "performance_tier": "Developing", "total_sessions_scheduled": 0, "avg_rating": None,
        "first_session_success_rate": None, "reschedule_rate": None, "no_show_count": 0,
        "engagement_score": None, "learning_objectives_met_pct": None}
    # e: never computed: every metric null, and no flags rather than "no red flag".
    e = by_id[ids["e"]]
    assert (e["name"], e["status"], e["red_flags"]) == (f"Eve {uid}", "inactive", None)
    assert set(e["windows"]) == {"7day", "30day", "90day"}
    assert all(value is None for window in e["windows"].values() for value in window.values())


@pytest.mark.parametrize(("sort", "order"), [
    # avg_rating: b 3.0, a 4.5, then the nulls (C, d, e) by tutor_id, in both directions.
    ("avg_rating", "b a C d e"),
    ("-avg_rating", "a b C d e"),
    # engagement_score: b 40, C 88, a 96; d and e null.
    ("engagement_score", "b C a d e"),
    ("-engagement_score", "a C b d e"),
    # total_sessions_scheduled: d 0, C 1 and b 1 (a tie: by tutor_id, C first), a 2; e null.
    ("total_sessions_scheduled", "d C b a e"),
    ("-total_sessions_scheduled", "a C b d e"),
    # reschedule_rate: a 0, C 0 (tie: C first), b 100; d (no session) and e null.
    ("reschedule_rate", "C a b d e"),
    ("-reschedule_rate", "b C a d e"),
    ("tutor_id", "C a b d e"),
    ("-tutor_id", "e d b a C"),
])
def test_roster_sorts_with_nulls_last_both_ways(client, keys, roster_uid, roster_tutors, sort, order):
    ids, uid = roster_tutors, roster_uid
    assert roster(client, keys, f"q={uid}&sort={sort}") == ([ids[s] for s in order.split()], 5)


@pytest.mark.parametrize(("tier", "expected"), [
    ("Exemplary", ["a"]), ("At%20Risk", ["b"]), ("Strong", ["C"]), ("Developing", ["d"]), ("Needs%20Attention", [])])
def test_roster_tier_filter_uses_the_30_day_window(client, keys, roster_uid, roster_tutors, tier, expected):
    ids = [roster_tutors[s] for s in expected]
    assert roster(client, keys, f"q={roster_uid}&tier={tier}") == (ids, len(ids))


def test_roster_search_is_case_insensitive_and_wildcards_match_themselves(client, keys, roster_uid, roster_tutors):
    ids, uid = roster_tutors, roster_uid
    # The id "<uid>-C" matches "<uid>-c"; no name holds "<uid>-".
    assert roster(client, keys, f"q={uid}-c") == ([ids["C"]], 1)
    # "100%" is a literal percent sign: Ada's name, not Dave's "1000 Lovelace" (which an unescaped % would match).
    assert roster(client, keys, f"q=100%25%20lovelace%20{uid}") == ([ids["a"]], 1)
    # "_" is a literal underscore: bob_smith, not Carol's "bobXsmith".
    assert roster(client, keys, f"q=BOB_SMITH%20{uid}") == ([ids["b"]], 1)
    # A backslash is literal too (it is the LIKE escape character): nothing here holds one.
    assert roster(client, keys, f"q=%5C{uid}") == ([], 0)


def test_roster_pagination_counts_every_match(client, keys, roster_uid, roster_tutors):
    ids, uid = roster_tutors, roster_uid
    body = get_json(client, keys["reader"], f"/api/v1/tutors?q={uid}&limit=2&offset=1")
    assert [t["tutor_id"] for t in body["tutors"]] == [ids["a"], ids["b"]]
    assert body["pagination"] == {"limit": 2, "offset": 1, "total": 5}
    # A page past the end is empty and still says how many there are.
    body = get_json(client, keys["reader"], f"/api/v1/tutors?q={uid}&offset=10")
    assert (body["tutors"], body["pagination"]) == ([], {"limit": 50, "offset": 10, "total": 5})
    assert roster(client, keys, f"q={uid}&tier=Exemplary&limit=1&offset=0") == ([ids["a"]], 1)


def test_metrics_list_the_flags_behind_the_tier(client, keys, roster_tutors):
    ids = roster_tutors
    month = get_json(client, keys["reader"], f"/api/v1/tutors/{ids['b']}/metrics?window=30day")["windows"]["30day"]
    assert (month["performance_tier"], month["green_flags"], month["red_flags"]) == ("At Risk", [NS], [AR, RR, EN, LO])
    week = get_json(client, keys["reader"], f"/api/v1/tutors/{ids['a']}/metrics")["windows"]["7day"]
    assert (week["performance_tier"], week["green_flags"], week["red_flags"]) == (
        "Exemplary", [AR, FS, RR, NS, EN, LO], [])
    history = get_json(client, keys["reader"], f"/api/v1/tutors/{ids['C']}/metrics/history?window=30day&days=1")
    assert [(row["performance_tier"], row["green_flags"], row["red_flags"]) for row in history["history"]] == [
        ("Strong", [RR, NS, EN, LO], [])]
    # Never computed: no tier and no flags.
    never = get_json(client, keys["reader"], f"/api/v1/tutors/{ids['e']}/metrics")["windows"]["30day"]
    assert (never["performance_tier"], never["green_flags"], never["red_flags"]) == (None, None, None)


@pytest.mark.parametrize(("query", "errors"), [
    ("sort=charm", {"sort"}),
    ("sort=-name", {"sort"}),
    ("tier=Great", {"tier"}),
    ("limit=0", {"limit"}),
    ("limit=501", {"limit"}),
    ("offset=-1", {"offset"}),
    ("sort=charm&tier=Great&limit=0&offset=-1", {"sort", "tier", "limit", "offset"}),
    # A NUL cannot be compared by PostgreSQL; 200 characters is the most a search holds.
    ("q=a%00b", {"q"}),
    ("q=" + "x" * 201, {"q"}),
])
def test_roster_bad_arguments_are_422_per_field(client, keys, query, errors):
    response = client.get(f"/api/v1/tutors?{query}", headers=auth(keys["reader"]))
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == errors


def test_roster_bad_argument_messages(client, keys):
    response = client.get("/api/v1/tutors?tier=Great&limit=0", headers=auth(keys["reader"]))
    assert response.get_json()["errors"] == {
        "tier": ["Must be one of: Exemplary, Strong, Developing, Needs Attention, At Risk."],
        "limit": ["Must be greater than or equal to 1 and less than or equal to 500."]}


def test_roster_is_closed_to_teacher_keys(client, uid):
    from tutormax.web.auth import create_api_key

    teacher = create_api_key(f"teacher-{uid}", ["read"], teacher_id=f"{uid}-t")
    response = client.get("/api/v1/tutors", headers=auth(teacher))
    assert response.status_code == 403
