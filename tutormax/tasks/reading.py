"""Reading domain (SPEC §3.2): catalog and checkout facts, reading profiles, the profile stream.

Persist stores facts idempotently (checkouts keyed by event pk; the catalog upserted
under a (timestamp, event pk) guard). Recompute refreshes the profiles of the students
touched by a chain's events, in set-based chunks of up to 500 students, compares each
with the stored one inside the transaction and, only on a real change, bumps its version
and writes a pending publication row. After commit the pending rows are appended to the
Redis stream through a Lua script that does SET NX on a per-change dedupe key before
XADD, so a redelivered task or a second drainer never appends a change twice, and a
crash between commit and XADD only delays the entry until the next drain.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, delete, func, literal_column, select, text, tuple_
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.orm import Session

from tutormax import metrics
from tutormax.batching import chunked
from tutormax.db import session_scope, utcnow
from tutormax.locks import lock_all
from tutormax.models.events import Event
from tutormax.models.reading import Book, Checkout, ProfilePublication, ReadingProfile
from tutormax.rebuilds import lock_views, replayable
from tutormax.registry import PermanentFailure, register, register_rebuild
from tutormax.rules.reading import book_band, reading_profile
from tutormax.schemas.reading import BOOK_CATALOGED, BOOK_CHECKED_OUT
from tutormax.tasks.profile_stream import publish_after_commit
from tutormax.upserts import newest_by, upsert_newest_wins

log = logging.getLogger(__name__)


STUDENT_CHUNK = 500
STUDENT_LOCKS = "reading:student"
PROFILE_FIELDS = (
    "histogram", "total_checkouts", "unbanded_checkouts", "dominant_band", "recent_band", "trend", "stability",
)



# --- persist -------------------------------------------------------------------------------


def persist_reading(session: Session, events: Sequence[Event]) -> dict[int, Exception]:
    """Upsert catalog entries (newest wins) and insert checkouts (once per event pk)."""
    failures: dict[int, Exception] = {}
    catalog: list[dict[str, Any]] = []
    for ev in events:
        if ev.type != BOOK_CATALOGED:
            continue
        payload = ev.payload
        try:
            band = book_band(payload.get("difficulty_band"), payload.get("reading_level"))
        except ValueError as exc:
            failures[ev.id] = PermanentFailure("invalid_payload", str(exc))
            continue
        catalog.append({
            "book_id": payload["book_id"], "title": payload["title"], "author": payload.get("author"),
            "reading_level": payload.get("reading_level"), "difficulty_band": payload.get("difficulty_band"),
            "band": band, "cataloged_at": ev.timestamp, "event_pk": ev.id,
        })
    # An older entry arriving later (or the same one redelivered) never overwrites.
    upsert_newest_wins(
        session, Book.__table__,
        newest_by(catalog, key=lambda row: row["book_id"], order=lambda row: (row["cataloged_at"], row["event_pk"])),
        ["book_id"], order=("cataloged_at", "event_pk"), also_set={"updated_at": func.now()})
    checkouts = [
        {"event_pk": ev.id, "student_id": ev.payload["student_id"], "book_id": ev.payload["book_id"],
         "checked_out_at": ev.timestamp}
        for ev in events if ev.type == BOOK_CHECKED_OUT
    ]
    if checkouts:
        session.execute(insert(Checkout).values(checkouts).on_conflict_do_nothing(index_elements=[Checkout.event_pk]))
    return failures


# --- recompute -----------------------------------------------------------------------------


def recompute_reading(session: Session, events: Sequence[Event]) -> None:
    """Refresh the profiles of every student the chain's events touch."""
    _wait_for_rebuild(session)
    causes: dict[str, int] = {}
    for ev in events:
        if ev.type == BOOK_CHECKED_OUT:
            student = ev.payload["student_id"]
            causes[student] = max(causes.get(student, 0), ev.id)
    catalog_pks = [ev.id for ev in events if ev.type == BOOK_CATALOGED]
    if catalog_pks:
        # Only a catalog event that is its book's current winner can have changed a band; a
        # losing (older) one changes nothing, and a newer winner's own chain covers the readers.
        readers = session.execute(
            select(Checkout.student_id, func.max(Book.event_pk))
            .join(Book, Book.book_id == Checkout.book_id)
            .where(Book.event_pk.in_(catalog_pks))
            .group_by(Checkout.student_id)
        ).all()
        for student, catalog_pk in readers:
            causes[student] = max(causes.get(student, 0), catalog_pk)
    refresh_profiles(session, causes)


def _wait_for_rebuild(session: Session) -> None:
    # Conflicts with the EXCLUSIVE lock a rebuild holds, so a recompute reads facts only after it.
    session.execute(text("LOCK TABLE reading_profiles IN ROW EXCLUSIVE MODE"))


def refresh_profiles(session: Session, causes: Mapping[str, int | None]) -> int:
    """Recompute the profiles of `causes`' students; returns how many changed.

    `causes` maps a student to the event pk that triggered the update (recorded as
    `last_event_id` when the profile changes), or None to use the newest contributing event.
    """
    changed = 0
    students = sorted(causes)
    # Every student's lock up front, in one ordered statement: two chains touching one
    # student serialize instead of one overwriting the other with a profile computed
    # from older facts, and overlapping sets cannot deadlock.
    lock_all(session, STUDENT_LOCKS, students)
    for chunk in chunked(students, STUDENT_CHUNK):
        changed += _refresh_chunk(session, chunk, causes)
    if students:
        metrics.inc("tutormax_recomputes", len(students), kind="reading_profile")
    return changed


def _refresh_chunk(session: Session, students: Sequence[str], causes: Mapping[str, int | None]) -> int:
    stored = {
        p.student_id: p
        for p in session.scalars(select(ReadingProfile).where(ReadingProfile.student_id.in_(students)))
    }
    facts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    newest_contributor: dict[str, int] = {}
    rows = session.execute(
        select(Checkout.student_id, Checkout.event_pk, Checkout.checked_out_at, Book.band, Book.event_pk)
        .outerjoin(Book, Book.book_id == Checkout.book_id)
        .where(Checkout.student_id.in_(students))
    ).all()
    for student, checkout_pk, checked_out_at, band, catalog_pk in rows:
        facts[student].append({"timestamp": checked_out_at, "seq": checkout_pk, "band": band})
        newest_contributor[student] = max(newest_contributor.get(student, 0), checkout_pk, catalog_pk or 0)

    now = utcnow()
    upserts: list[dict[str, Any]] = []
    for student in students:
        if not facts[student]:
            continue
        content = reading_profile(facts[student])
        old = stored.get(student)
        if old is not None and _content_of(old) == content:
            continue
        upserts.append({
            "student_id": student, **content, "last_event_id": causes.get(student) or newest_contributor[student],
            "version": (old.version + 1) if old is not None else 1, "updated_at": now,
        })
    # Only a rebuild can find a profile whose checkouts are gone (e.g. their events dead-lettered).
    orphaned = [s for s in students if not facts[s] and s in stored]
    if orphaned:
        session.execute(delete(ReadingProfile).where(ReadingProfile.student_id.in_(orphaned)))
    if not upserts:
        return 0
    stmt = insert(ReadingProfile).values(upserts)
    session.execute(stmt.on_conflict_do_update(
        index_elements=[ReadingProfile.student_id],
        set_={name: getattr(stmt.excluded, name)
              for name in (*PROFILE_FIELDS, "last_event_id", "version", "updated_at")},
    ), execution_options={"synchronize_session": False})
    publication_ids = session.scalars(
        insert(ProfilePublication)
        .values([{"student_id": u["student_id"], "version": u["version"], "event_pk": u["last_event_id"],
                  "changed_at": now} for u in upserts])
        .returning(ProfilePublication.id)
    ).all()
    publish_after_commit(session, publication_ids)
    log.info("reading profiles changed", extra={"student_count": len(upserts),
                                                "event_pks": sorted({u["last_event_id"] for u in upserts})[:20]})
    return len(upserts)


def _content_of(profile: ReadingProfile) -> dict[str, Any]:
    """The stored profile in the shape rules.reading.reading_profile returns."""
    stability = profile.stability
    return {
        "histogram": dict(profile.histogram or {}),
        "total_checkouts": profile.total_checkouts,
        "unbanded_checkouts": profile.unbanded_checkouts,
        "dominant_band": profile.dominant_band,
        "recent_band": profile.recent_band,
        "trend": profile.trend,
        "stability": float(stability) if isinstance(stability, Decimal) else stability,
    }


# --- rebuild -------------------------------------------------------------------------------


def _rebuildable(event_type: str):
    """Events whose facts belong in the views (the shared rule of tutormax.rebuilds)."""
    return and_(Event.domain == "reading", Event.type == event_type, replayable())


def rebuild_reading() -> str:
    """Recompute the catalog, checkouts and every profile from the event log (`tutormax rebuild`)."""
    with session_scope() as session:
        # Pipeline writers wait (persist writes books before checkouts, the same order: no deadlock).
        lock_views(session, ["reading_books", "reading_checkouts", "reading_profiles"])
        checkout_events = select(Event.id).where(_rebuildable(BOOK_CHECKED_OUT))
        session.execute(delete(Checkout).where(Checkout.event_pk.not_in(checkout_events)))
        session.execute(
            insert(Checkout).from_select(
                ["event_pk", "student_id", "book_id", "checked_out_at"],
                select(Event.id, Event.payload["student_id"].astext, Event.payload["book_id"].astext, Event.timestamp)
                .where(_rebuildable(BOOK_CHECKED_OUT)),
            ).on_conflict_do_nothing(index_elements=[Checkout.event_pk])
        )
        books = _rebuild_catalog(session)
        students = sorted(set(session.scalars(select(Checkout.student_id).distinct()))
                          | set(session.scalars(select(ReadingProfile.student_id))))
        changed = refresh_profiles(session, dict.fromkeys(students))
    return f"books={books} profiles={len(students)} changed={changed}"


def _rebuild_catalog(session: Session) -> int:
    # A literal (not a bound key) so DISTINCT ON and ORDER BY are seen as the same expression.
    book_id = literal_column("events.payload ->> 'book_id'")
    # DISTINCT ON keeps each book's newest entry by (timestamp, event pk), the persist guard's order.
    winners = session.execute(
        select(Event.id, Event.timestamp, Event.payload)
        .where(_rebuildable(BOOK_CATALOGED))
        .ext(distinct_on(book_id))
        .order_by(book_id, Event.timestamp.desc(), Event.id.desc())
    ).all()
    session.execute(delete(Book).where(Book.book_id.not_in(select(book_id).where(_rebuildable(BOOK_CATALOGED)))))
    rows = [
        {"book_id": payload["book_id"], "title": payload["title"], "author": payload.get("author"),
         "reading_level": payload.get("reading_level"), "difficulty_band": payload.get("difficulty_band"),
         "band": book_band(payload.get("difficulty_band"), payload.get("reading_level")),
         "cataloged_at": timestamp, "event_pk": pk}
        for pk, timestamp, payload in winners
    ]
    for part in chunked(rows, 1000):
        stmt = insert(Book).values(part)
        excluded = stmt.excluded
        session.execute(stmt.on_conflict_do_update(
            index_elements=[Book.book_id],
            set_={name: getattr(excluded, name) for name in
                  ("title", "author", "reading_level", "difficulty_band", "band", "cataloged_at", "event_pk")}
            | {"updated_at": func.now()},
            where=tuple_(Book.event_pk, Book.band).is_distinct_from(tuple_(excluded.event_pk, excluded.band)),
        ))
    return len(rows)


register("reading", persist=persist_reading, recompute=recompute_reading)
register_rebuild("reading", rebuild_reading)
