"""`tutormax rebuild --domain reading` gives the same profiles as incremental processing (SPEC §1, §3.2)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.helpers import auth, post_batch, post_event, wait_finished, wait_for
from tutormax.rules.reading import BANDS, catalog_band, reading_profile

T0 = datetime(2026, 9, 1, 8, 0, tzinfo=timezone.utc)
OFFSETS = (timezone.utc, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5)))
PROFILE_FIELDS = ("histogram", "total_checkouts", "unbanded_checkouts", "dominant_band", "recent_band", "trend",
                  "stability")


def rebuild() -> str:
    from tutormax.registry import rebuilder_for

    return rebuilder_for("reading")()


def read(client, keys, path: str) -> tuple[int, dict]:
    response = client.get(path, headers=auth(keys["reader"]))
    return response.status_code, response.get_json()


catalog_entries = st.lists(
    st.tuples(
        st.integers(0, 2),  # book (book 3 is never cataloged)
        st.integers(0, 20),  # minute: equal minutes make timestamp ties, broken by arrival order
        st.sampled_from([None, 0, 2.0, 3.5, 6.0, 7.9, 8.0, 11.0]),  # reading_level
        st.sampled_from([None, None, *BANDS]),  # difficulty_band
    ),
    max_size=5,
)
checkout_entries = st.lists(
    st.tuples(st.integers(0, 2), st.integers(0, 3), st.integers(0, 20)),  # student, book, minute
    min_size=1, max_size=12,
)


# No shrinking: every step goes through the real stack, so a shrink would take many minutes.
@settings(max_examples=6, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(catalogs=catalog_entries, checkouts=checkout_entries, data=st.data())
def test_rebuild_equals_incremental_and_the_spec(client, keys, catalogs, checkouts, data):
    import uuid

    uid = uuid.uuid4().hex[:10]  # per example: the uid fixture is shared by every example
    events = []
    for n, (book, minute, level, band) in enumerate(catalogs):
        fields = {k: v for k, v in (("reading_level", level), ("difficulty_band", band)) if v is not None}
        stamp = (T0 + timedelta(minutes=minute)).astimezone(OFFSETS[n % 3]).isoformat()
        events.append({"event_id": f"{uid}-cat-{n}", "source": "library", "type": "BOOK_CATALOGED",
                       "timestamp": stamp, "book_id": f"{uid}-b{book}", "title": f"T{n}", **fields})
    for n, (student, book, minute) in enumerate(checkouts):
        stamp = (T0 + timedelta(minutes=minute)).astimezone(OFFSETS[n % 3]).isoformat()
        events.append({"event_id": f"{uid}-co-{n}", "source": "library", "type": "BOOK_CHECKED_OUT",
                       "timestamp": stamp, "student_id": f"{uid}-s{student}", "book_id": f"{uid}-b{book}"})
    # Redeliveries by the producer (same source and event_id), then any arrival order, in two batches
    # posted back to back so their chains can run concurrently.
    repeats = data.draw(st.lists(st.sampled_from(events), max_size=4), label="duplicates")
    arrival = data.draw(st.permutations(events + repeats), label="arrival")
    cut = data.draw(st.integers(0, len(arrival)), label="cut")
    pk_of: dict[str, int] = {}
    for part in (arrival[:cut], arrival[cut:]):
        if not part:
            continue
        response = post_batch(client, keys["writer"], part)
        assert response.status_code == 200, response.get_json()
        for event, result in zip(part, response.get_json()["results"]):
            assert result["status"] in ("accepted", "duplicate"), result
            pk_of.setdefault(event["event_id"], result["id"])
            assert pk_of[event["event_id"]] == result["id"]
    assert len(pk_of) == len(events)
    wait_finished(client, keys["reader"], sorted(pk_of.values()), timeout=90)

    # The SPEC's profile from the distinct events alone, through the pure rules.
    def when(event: dict) -> datetime:
        return datetime.fromisoformat(event["timestamp"])

    bands = {}
    for book in range(4):
        entries = [{**e, "timestamp": when(e), "seq": pk_of[e["event_id"]]} for e in events
                   if e["type"] == "BOOK_CATALOGED" and e["book_id"] == f"{uid}-b{book}"]
        bands[f"{uid}-b{book}"] = catalog_band(entries)
    before = {}
    for student in range(3):
        sid = f"{uid}-s{student}"
        mine = [{"timestamp": when(e), "seq": pk_of[e["event_id"]], "band": bands[e["book_id"]]} for e in events
                if e["type"] == "BOOK_CHECKED_OUT" and e["student_id"] == sid]
        status, body = read(client, keys, f"/api/v1/students/{sid}/reading-profile")
        if not mine:
            assert status == 404
            continue
        assert status == 200, body
        assert {k: body[k] for k in PROFILE_FIELDS} == reading_profile(mine)
        before[sid] = body
    books_before = {b: read(client, keys, f"/api/v1/books/{b}") for b in bands}
    for book, (status, body) in books_before.items():
        cataloged = any(e["type"] == "BOOK_CATALOGED" and e["book_id"] == book for e in events)
        assert status == (200 if cataloged else 404)
        if status == 200:
            assert body["band"] == bands[book]

    rebuild()

    for sid, body in before.items():
        assert read(client, keys, f"/api/v1/students/{sid}/reading-profile") == (200, body)
    for book, answer in books_before.items():
        assert read(client, keys, f"/api/v1/books/{book}") == answer


def test_rebuild_restores_lost_views_from_the_event_log(client, keys, uid):
    from sqlalchemy import delete

    from tutormax.db import session_scope
    from tutormax.models.reading import Book, Checkout, ReadingProfile

    student, book = f"{uid}-s", f"{uid}-b"
    ids = []
    for body in (
        {"event_id": f"{uid}-cat", "source": "library", "type": "BOOK_CATALOGED",
         "timestamp": "2026-09-01T08:00:00Z", "book_id": book, "title": "T", "reading_level": 5.0},
        {"event_id": f"{uid}-co", "source": "library", "type": "BOOK_CHECKED_OUT",
         "timestamp": "2026-09-02T08:00:00Z", "student_id": student, "book_id": book},
    ):
        response = post_event(client, keys["writer"], body)
        assert response.status_code == 202, response.get_json()
        ids.append(response.get_json()["id"])
        wait_finished(client, keys["reader"], ids[-1:], timeout=60)
    status, profile = read(client, keys, f"/api/v1/students/{student}/reading-profile")
    # 5.0 ≤ 6.0 → late_elementary; the checkout (stored after the catalog entry) changed the profile last.
    assert status == 200 and profile["histogram"] == {"late_elementary": 1} and profile["last_event_id"] == ids[1]
    _, entry = read(client, keys, f"/api/v1/books/{book}")

    with session_scope() as session:
        session.execute(delete(ReadingProfile).where(ReadingProfile.student_id == student))
        session.execute(delete(Checkout).where(Checkout.student_id == student))
        session.execute(delete(Book).where(Book.book_id == book))
    assert read(client, keys, f"/api/v1/students/{student}/reading-profile")[0] == 404
    assert read(client, keys, f"/api/v1/books/{book}")[0] == 404

    rebuild()

    status, rebuilt = read(client, keys, f"/api/v1/students/{student}/reading-profile")
    assert status == 200
    assert rebuilt | {"updated_at": None} == profile | {"updated_at": None}
    _, rebuilt_entry = read(client, keys, f"/api/v1/books/{book}")
    assert rebuilt_entry | {"updated_at": None} == entry | {"updated_at": None}

    # The recreated profile is a change for downstream consumers: one more stream entry, naming the checkout.
    from tutormax.redis_client import get_redis

    def entries() -> list[str]:
        recent = get_redis().xrevrange("tutormax:student_profiles", count=2000)
        return [fields["event_id"] for _id, fields in reversed(recent) if fields.get("student_id") == student]

    wait_for(lambda: len(entries()) >= 2, timeout=30, what="the rebuild's stream entry")
    assert entries() == [str(ids[1]), str(ids[1])]
