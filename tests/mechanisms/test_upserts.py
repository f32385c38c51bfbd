"""tutormax.upserts on the real PostgreSQL: the newest event wins whatever the arrival order."""

from __future__ import annotations

from datetime import UTC, datetime

from tutormax.upserts import newest_by, upsert_newest_wins


def at(hour: int) -> datetime:
    return datetime(2026, 9, 1, hour, tzinfo=UTC)


def test_newest_by_keeps_the_latest_per_key_ties_broken_by_pk():
    items = [("b1", at(9), 5), ("b1", at(10), 3), ("b2", at(9), 1), ("b1", at(10), 4)]
    newest = newest_by(items, key=lambda i: i[0], order=lambda i: (i[1], i[2]))
    assert sorted(newest) == [("b1", at(10), 4), ("b2", at(9), 1)]


def test_an_older_event_never_overwrites_a_newer_one(stack, uid):
    from sqlalchemy import select

    from tutormax.db import session_scope
    from tutormax.models.reading import Book

    table = Book.__table__
    book = f"book-{uid}"

    def row(title: str, hour: int, pk: int) -> dict:
        return {"book_id": book, "title": title, "band": None, "cataloged_at": at(hour), "event_pk": pk}

    def stored() -> tuple:
        with session_scope() as session:
            return session.execute(select(Book.title, Book.event_pk).where(Book.book_id == book)).one()

    def upsert(r: dict) -> None:
        with session_scope() as session:
            upsert_newest_wins(session, table, [r], ["book_id"], order=("cataloged_at", "event_pk"))

    with session_scope() as session:
        from tutormax.models.events import Event

        pks = [session.execute(Event.__table__.insert().values(
            source="test", event_id=f"{uid}-{n}", type="BOOK_CATALOGED", domain="reading", timestamp=at(9),
            tz_offset_minutes=0, payload={}).returning(Event.id)).scalar_one() for n in range(3)]
    upsert(row("newer", 10, pks[1]))
    upsert(row("older", 9, pks[2]))          # arrives later, happened earlier: ignored
    assert stored() == ("newer", pks[1])
    upsert(row("newer", 10, pks[1]))         # redelivered: nothing changes
    assert stored() == ("newer", pks[1])
    upsert(row("same time, later pk", 10, pks[2]))  # a tie on time goes to arrival order
    assert stored() == ("same time, later pk", pks[2])
