"""Newest-event-wins upserts: a record built from events keeps the one with the latest (timestamp, event pk).

Records upserted by their own id (a tutor, a session, a book) must not depend on the
order events arrive in: an older event arriving later, or the same one redelivered,
never overwrites a newer one. One statement per batch; rows in key order, so two
chains upserting overlapping rows lock them in the same order and cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Table, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

T = TypeVar("T")


def newest_by(items: Iterable[T], key: Callable[[T], Hashable], order: Callable[[T], tuple]) -> list[T]:
    """The newest item by `order` within each group of `key` (an INSERT … ON CONFLICT touches a row once)."""
    newest: dict[Hashable, T] = {}
    for item in items:
        group = key(item)
        current = newest.get(group)
        if current is None or order(item) > order(current):
            newest[group] = item
    return list(newest.values())


def upsert_newest_wins(session: Session, table: Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str],
                       order: Sequence[str] = ("event_timestamp", "event_pk"),
                       also_set: Mapping[str, Any] | None = None) -> None:
    """INSERT `rows` into `table`; on a key conflict update only where the stored row's `order` columns are older.

    `rows` must hold one row per key (see `newest_by`); `also_set` adds values for the
    update only (e.g. `updated_at=func.now()`).
    """
    if not rows:
        return
    ordered = sorted(rows, key=lambda row: tuple(row[k] for k in keys))
    stmt = insert(table).values(list(ordered))
    columns = [c for c in ordered[0] if c not in keys]
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={**{c: stmt.excluded[c] for c in columns}, **(also_set or {})},
        where=tuple_(*(table.c[c] for c in order)) < tuple_(*(stmt.excluded[c] for c in order)),
    )
    session.execute(stmt)
