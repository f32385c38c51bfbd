"""Reading profiles through the real stack: the profile stream, unbanded → banded, re-levels, stale catalog events.

A real Redis consumer group (created before posting, `$` = only new entries) reads
`tutormax:student_profiles`, keeping only this test's students, so every assertion is
about what a downstream consumer would see.
"""

from __future__ import annotations

from datetime import datetime

from tests.factories import catalog, checkout
from tests.helpers import auth, post_batch, post_event, wait_finished


def post_processed(client, keys, body: dict) -> int:
    """POST one new event and wait until it is processed; returns its database id."""
    response = post_event(client, keys["writer"], body)
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["duplicate"] is False
    pk = response.get_json()["id"]
    wait_finished(client, keys["reader"], [pk], timeout=60)
    return pk


def profile(client, keys, student: str) -> dict:
    response = client.get(f"/api/v1/students/{student}/reading-profile", headers=auth(keys["reader"]))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def book(client, keys, book_id: str) -> dict:
    response = client.get(f"/api/v1/books/{book_id}", headers=auth(keys["reader"]))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def recomputes_total(client) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    for line in text.splitlines():
        if line.startswith('tutormax_recomputes_total{kind="reading_profile"}'):
            return float(line.split()[-1])
    return 0.0


def test_unbanded_checkout_then_catalog_publishes_one_entry_per_change(client, keys, uid, consumer):
    student, title_book = f"{uid}-s1", f"{uid}-b1"
    recomputes_before = recomputes_total(client)

    # A checkout of a book never cataloged: counted, but unbanded.
    c1 = post_processed(client, keys, checkout(uid, "co-1", student, title_book, "2026-09-01T08:00:00+02:00"))
    entries = consumer.wait_count(student, 1)
    assert entries == [{"event_type": "student_profile_changed", "student_id": student, "source": "tutormax",
                        "timestamp": entries[0]["timestamp"], "event_id": str(c1)}]
    assert datetime.fromisoformat(entries[0]["timestamp"].replace("Z", "+00:00")).tzinfo is not None
    assert profile(client, keys, student) | {"updated_at": None} == {
        "student_id": student, "histogram": {}, "total_checkouts": 1, "unbanded_checkouts": 1,
        "dominant_band": None, "recent_band": None, "trend": "insufficient_data", "stability": None,
        "last_event_id": c1, "updated_at": None,
    }

    # The same checkout again is a duplicate: nothing stored, nothing published.
    again = post_event(client, keys["writer"], checkout(uid, "co-1", student, title_book, "2026-09-01T08:00:00+02:00"))
    assert again.status_code == 202, again.get_json()
    assert again.get_json()["duplicate"] is True and again.get_json()["id"] == c1

    # Cataloging the book at level 3.5 (≤ 4.0 → early_elementary) bands the checkout:
    # histogram {early_elementary: 1}, unbanded 0, dominant = recent = early_elementary,
    # 1 banded checkout < 4 → insufficient_data, stability 1/1 = 1.0.
    cat = post_processed(client, keys, catalog(uid, 1, title_book, "2026-08-01T00:00:00Z", reading_level=3.5))
    entries = consumer.wait_count(student, 2)
    assert entries[1]["event_id"] == str(cat)
    assert profile(client, keys, student) | {"updated_at": None} == {
        "student_id": student, "histogram": {"early_elementary": 1}, "total_checkouts": 1, "unbanded_checkouts": 0,
        "dominant_band": "early_elementary", "recent_band": "early_elementary", "trend": "insufficient_data",
        "stability": 1.0, "last_event_id": cat, "updated_at": None,
    }

    # A newer catalog entry that only renames the book changes no band: the profile stays, nothing is published.
    rename = post_processed(client, keys, catalog(uid, 2, title_book, "2026-08-02T00:00:00Z", reading_level=3.5))
    assert book(client, keys, title_book)["title"] == "Title 2"
    assert book(client, keys, title_book)["last_event_id"] == rename
    assert profile(client, keys, student)["last_event_id"] == cat

    # A sentinel change: its entry comes after anything the duplicate or the rename could have published.
    c2 = post_processed(client, keys, checkout(uid, "co-2", student, title_book, "2026-09-02T08:00:00+02:00"))
    consumer.wait_count(student, 3)
    consumer.poll(block_ms=500)
    assert [e["event_id"] for e in consumer.of(student)] == [str(c1), str(cat), str(c2)]
    # c2 adds a second early_elementary checkout: histogram {early_elementary: 2}, total 2.
    assert profile(client, keys, student)["histogram"] == {"early_elementary": 2}
    assert recomputes_total(client) >= recomputes_before + 3


def test_relevel_updates_every_reader_and_an_older_catalog_event_never_wins(client, keys, uid, consumer):
    shelf_book = f"{uid}-b"
    readers = [f"{uid}-s{i}" for i in range(1, 4)]
    # Level 1.0 ≤ 2.0 → beginner.
    first = post_processed(client, keys, catalog(uid, 1, shelf_book, "2026-09-01T10:00:00Z", reading_level=1.0))
    response = post_batch(client, keys["writer"], [
        checkout(uid, f"co-{i}", s, shelf_book, f"2026-09-0{i + 1}T10:00:00Z") for i, s in enumerate(readers, 1)
    ])
    assert response.status_code == 200 and response.get_json()["accepted"] == 3, response.get_json()
    checkout_pks = [r["id"] for r in response.get_json()["results"]]
    wait_finished(client, keys["reader"], checkout_pks, timeout=60)
    for student in readers:
        consumer.wait_count(student, 1)
        assert profile(client, keys, student)["histogram"] == {"beginner": 1}

    # Re-level to 9.0 (> 8.0 → advanced), newer than the first entry: every reader moves to advanced.
    relevel = post_processed(client, keys, catalog(uid, 2, shelf_book, "2026-09-05T10:00:00Z", reading_level=9.0))
    for student in readers:
        entries = consumer.wait_count(student, 2)
        assert entries[1]["event_id"] == str(relevel)
        got = profile(client, keys, student)
        assert (got["histogram"], got["dominant_band"], got["recent_band"], got["stability"], got["last_event_id"]) == (
            {"advanced": 1}, "advanced", "advanced", 1.0, relevel)

    # An entry older than the re-level (timestamp 09-03 < 09-05) arriving later never overwrites it.
    stale = post_processed(client, keys, catalog(uid, 3, shelf_book, "2026-09-03T10:00:00Z",
                                                 difficulty_band="beginner"))
    entry = book(client, keys, shelf_book)
    assert (entry["band"], entry["reading_level"], entry["difficulty_band"], entry["title"],
            entry["last_event_id"]) == (
        "advanced", 9.0, None, "Title 2", relevel)
    assert stale != relevel and first != relevel

    # Sentinel: another checkout by the first reader (an uncataloged book → unbanded).
    sentinel = post_processed(client, keys, checkout(uid, "co-9", readers[0], f"{uid}-unknown", "2026-09-06T10:00:00Z"))
    consumer.wait_count(readers[0], 3)
    consumer.poll(block_ms=500)
    assert [e["event_id"] for e in consumer.of(readers[0])] == [str(checkout_pks[0]), str(relevel), str(sentinel)]
    for student, pk in zip(readers[1:], checkout_pks[1:]):
        assert [e["event_id"] for e in consumer.of(student)] == [str(pk), str(relevel)]
        assert profile(client, keys, student)["last_event_id"] == relevel
    # histogram {advanced: 1} plus one unbanded checkout: total 2, unbanded 1.
    got = profile(client, keys, readers[0])
    assert (got["histogram"], got["total_checkouts"], got["unbanded_checkouts"]) == ({"advanced": 1}, 2, 1)


def test_an_older_catalog_event_arriving_first_is_replaced_by_the_newer_one(client, keys, uid):
    book_id = f"{uid}-b"
    # The newer entry (difficulty_band wins over level: middle_school) arrives second but wins.
    post_processed(client, keys, catalog(uid, 1, book_id, "2026-09-01T10:00:00+02:00", reading_level=1.0))
    newer = post_processed(client, keys, catalog(uid, 2, book_id, "2026-09-01T09:00:01Z", reading_level=1.0,
                                                 difficulty_band="middle_school"))
    # 10:00+02:00 is 08:00Z, older than 09:00:01Z.
    entry = book(client, keys, book_id)
    assert (entry["band"], entry["difficulty_band"], entry["last_event_id"]) == (
        "middle_school", "middle_school", newer)
    assert entry["cataloged_at"].startswith("2026-09-01T09:00:01")
