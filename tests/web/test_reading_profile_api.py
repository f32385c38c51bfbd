"""GET /api/v1/students/{id}/reading-profile and /api/v1/books/{id}: values worked out by hand from SPEC §3.2."""

from __future__ import annotations

import random

from tests.helpers import auth, post_batch, wait_finished

# Book key → catalog fields, and the band SPEC §3.2 gives it.
BOOKS = {
    "beg": ({"reading_level": 1.5}, "beginner"),  # 1.5 ≤ 2.0
    "early": ({"reading_level": 7, "difficulty_band": "early_elementary"}, "early_elementary"),  # band beats level
    "late": ({"reading_level": 6.0}, "late_elementary"),  # 6.0 ≤ 6.0, inclusive
    "mid": ({"reading_level": 7.2}, "middle_school"),  # 6.0 < 7.2 ≤ 8.0
    "adv": ({"reading_level": 8.5}, "advanced"),  # > 8.0
    "none": ({}, None),  # neither level nor band: cataloged but unbanded
}


def post_all(client, keys, events: list[dict]) -> list[int]:
    """POST events as one batch (in a shuffled order) and wait until all are processed; ids in input order."""
    order = list(range(len(events)))
    random.Random(7).shuffle(order)
    response = post_batch(client, keys["writer"], [events[i] for i in order])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["accepted"] == len(events), body
    ids = [0] * len(events)
    for result in body["results"]:
        ids[order[result["index"]]] = result["id"]
    wait_finished(client, keys["reader"], ids, timeout=60)
    return ids


def get_profile(client, keys, student: str) -> dict:
    response = client.get(f"/api/v1/students/{student}/reading-profile", headers=auth(keys["reader"]))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_profiles_match_the_spec_formulas(client, keys, uid):
    book = {key: f"{uid}-{key}" for key in BOOKS}
    post_all(client, keys, [
        {"event_id": f"{uid}-cat-{key}", "source": "library", "type": "BOOK_CATALOGED",
         "timestamp": "2026-08-01T00:00:00Z", "book_id": book[key], "title": f"Book {key}", **fields}
        for key, (fields, _band) in BOOKS.items()
    ])
    for key, (fields, band) in BOOKS.items():
        response = client.get(f"/api/v1/books/{book[key]}", headers=auth(keys["reader"]))
        assert response.status_code == 200, response.get_json()
        got = response.get_json()
        assert (got["band"], got["reading_level"], got["difficulty_band"], got["title"]) == (
            band, fields.get("reading_level"), fields.get("difficulty_band"), f"Book {key}")

    plans = {
        # Banded in time order: beg beg early late mid mid adv late (+ "none" and a never-cataloged book).
        # histogram beg 2, early 1, late 2, mid 2, adv 1; total 10, unbanded 2.
        # dominant: beg/late/mid tie at 2 → the higher band, middle_school.
        # recent (last 5 banded: late mid mid adv late): late/mid tie at 2 → the later one, late_elementary.
        # trend over all 8 (indices 0 0 1 2 | 3 3 4 2): 3.0 − 0.75 = 2.25 ≥ 0.5 → advancing.
        # stability 2/8 = 0.25.
        "a": (["beg", "beg", "early", "none", "late", "mid", "mid", "unknown", "adv", "late"], {
            "histogram": {"beginner": 2, "early_elementary": 1, "late_elementary": 2, "middle_school": 2,
                          "advanced": 1},
            "total_checkouts": 10, "unbanded_checkouts": 2, "dominant_band": "middle_school",
            "recent_band": "late_elementary", "trend": "advancing", "stability": 0.25}),
        # adv adv mid early beg: odd count, the middle (mid) left out: mean(1, 0) − mean(4, 4) = −3.5 → declining.
        # dominant advanced (2); recent advanced (2 of 5); stability 2/5 = 0.4.
        "b": (["adv", "adv", "mid", "early", "beg"], {
            "histogram": {"beginner": 1, "early_elementary": 1, "middle_school": 1, "advanced": 2},
            "total_checkouts": 5, "unbanded_checkouts": 0, "dominant_band": "advanced",
            "recent_band": "advanced", "trend": "declining", "stability": 0.4}),
        # early late early late: mean(1, 2) − mean(1, 2) = 0 → steady; dominant tie → late (higher);
        # recent tie → late (most recent); stability 2/4 = 0.5.
        "c": (["early", "late", "early", "late"], {
            "histogram": {"early_elementary": 2, "late_elementary": 2}, "total_checkouts": 4,
            "unbanded_checkouts": 0, "dominant_band": "late_elementary", "recent_band": "late_elementary",
            "trend": "steady", "stability": 0.5}),
        # beg beg early beg: mean(1, 0) − mean(0, 0) = 0.5, exactly the boundary → advancing;
        # dominant = recent = beginner (3); stability 3/4 = 0.75.
        "d": (["beg", "beg", "early", "beg"], {
            "histogram": {"beginner": 3, "early_elementary": 1}, "total_checkouts": 4, "unbanded_checkouts": 0,
            "dominant_band": "beginner", "recent_band": "beginner", "trend": "advancing", "stability": 0.75}),
        # Three checkouts (< 4 banded) → insufficient_data; one unbanded ("none"): stability 2/3 = 0.67 (half-up).
        "e": (["mid", "none", "mid", "beg"], {
            "histogram": {"beginner": 1, "middle_school": 2}, "total_checkouts": 4, "unbanded_checkouts": 1,
            "dominant_band": "middle_school", "recent_band": "middle_school", "trend": "insufficient_data",
            "stability": 0.67}),
    }
    events, owners = [], []
    for name, (sequence, _expected) in plans.items():
        for minute, key in enumerate(sequence):
            # Alternate offsets: the order is by the UTC instant (minute m at 10:m UTC either way).
            stamp = (f"2026-09-01T10:{minute:02d}:00Z" if minute % 2 else f"2026-09-01T12:{minute:02d}:00+02:00")
            events.append({"event_id": f"{uid}-co-{name}-{minute}", "source": "library", "type": "BOOK_CHECKED_OUT",
                           "timestamp": stamp, "student_id": f"{uid}-{name}",
                           "book_id": book.get(key, f"{uid}-never-cataloged")})
            owners.append(name)
    ids = post_all(client, keys, events)

    for name, (_sequence, expected) in plans.items():
        got = get_profile(client, keys, f"{uid}-{name}")
        # One batch, one chain: the profile was last changed by the newest of the student's checkouts.
        newest = max(pk for pk, owner in zip(ids, owners) if owner == name)
        assert got.pop("updated_at")
        assert got == {"student_id": f"{uid}-{name}", **expected, "last_event_id": newest}


def test_re_checkout_counts_again_and_timestamp_ties_go_by_arrival(client, keys, uid):
    student = f"{uid}-s"
    post_all(client, keys, [
        {"event_id": f"{uid}-cat-{n}", "source": "library", "type": "BOOK_CATALOGED",
         "timestamp": "2026-08-01T00:00:00Z", "book_id": f"{uid}-{n}", "title": "T", "reading_level": level}
        for n, level in (("x", 1.0), ("y", 9.0))
    ])
    # Same instant for both checkouts: the one stored later (higher id) is the more recent.
    first = post_all(client, keys, [{"event_id": f"{uid}-co-1", "source": "library", "type": "BOOK_CHECKED_OUT",
                                     "timestamp": "2026-09-01T10:00:00Z", "student_id": student,
                                     "book_id": f"{uid}-y"}])
    second = post_all(client, keys, [{"event_id": f"{uid}-co-2", "source": "library", "type": "BOOK_CHECKED_OUT",
                                      "timestamp": "2026-09-01T12:00:00+02:00", "student_id": student,
                                      "book_id": f"{uid}-x"}])
    # advanced 1, beginner 1: dominant tie → advanced (higher); recent tie → beginner (the later arrival).
    got = get_profile(client, keys, student)
    assert (got["dominant_band"], got["recent_band"], got["stability"], got["last_event_id"]) == (
        "advanced", "beginner", 0.5, second[0])
    assert second[0] > first[0]
    # A re-checkout of the same book is another event and counts again: beginner 2 → dominant beginner, 2/3 = 0.67.
    post_all(client, keys, [{"event_id": f"{uid}-co-3", "source": "library", "type": "BOOK_CHECKED_OUT",
                             "timestamp": "2026-09-02T10:00:00Z", "student_id": student, "book_id": f"{uid}-x"}])
    got = get_profile(client, keys, student)
    assert (got["histogram"], got["total_checkouts"], got["dominant_band"], got["stability"]) == (
        {"beginner": 2, "advanced": 1}, 3, "beginner", 0.67)
