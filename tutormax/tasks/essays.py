"""Essay results in the pipeline: store facts, recompute batch status, invalidate the cache (SPEC §3.4).

persist stores each event as a fact of its batch (keyed by the event's pk, so a
redelivery stores nothing new). recompute folds all facts of every batch the
chain touched (`rules.essays.batch_view`), one fold per batch per chain, under a
per-batch advisory lock so two chains can never write an older fold over a newer
one. The internal API's Redis cache is invalidated before the commit (so a read
after it never takes the old entry) and again after it (so an entry filled from
the old rows in between is dropped). Both calls go to Redis only, so the same
transaction also records the invalidation as pending work (`pending_work`, kinds
`essays_batch_cache` and `essays_user_cache`), which the after-commit call settles
when it succeeds; otherwise the outbox sweeper repeats it after
TUTORMAX_OUTBOX_STALE_SECONDS, so an invalidation lost to a Redis outage (an entry
that survived a restart, or a network blip) costs seconds, not CACHE_TTL_SECONDS.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from tutormax import metrics
from tutormax.batching import chunked
from tutormax.cache import invalidate_cache
from tutormax.config import get_settings
from tutormax.db import after_commit, session_scope
from tutormax.locks import lock_all
from tutormax.models.essays import EssayBatch, EssayFact
from tutormax.models.events import Event
from tutormax.rebuilds import replayable
from tutormax.registry import PermanentFailure, register, register_rebuild
from tutormax.rules.essays import batch_view
from tutormax.schemas.essays import batch_status_body
from tutormax.tasks.maintenance import record_pending, register_repair, settle_pending_request

log = logging.getLogger(__name__)

RECOMPUTE_KIND = "batch_status"
BATCH_CACHE_KIND = "essays_batch_cache"
USER_CACHE_KIND = "essays_user_cache"
REBUILD_CHUNK = 500

# --- persist --------------------------------------------------------------------------


def persist_facts(session: Session, events: Sequence[Event]) -> Mapping[int, Exception]:
    """Store every event as a fact of its batch (INSERT … ON CONFLICT DO NOTHING, one statement)."""
    failures: dict[int, Exception] = {}
    rows = []
    for ev in events:
        batch_id = (ev.payload or {}).get("batch_id")
        if not batch_id:
            failures[ev.id] = PermanentFailure("invalid_payload", "essay event without batch_id")
            continue
        rows.append({"event_pk": ev.id, "batch_id": batch_id, "type": ev.type, "timestamp": ev.timestamp,
                     "payload": ev.payload})
    if rows:
        session.execute(insert(EssayFact).values(rows).on_conflict_do_nothing(index_elements=["event_pk"]))
    return failures


# --- recompute -------------------------------------------------------------------------


BATCH_LOCKS = "essays:batch"


def recompute_batches(session: Session, batch_ids: Sequence[str]) -> tuple[set[str], set[str]]:
    """Recompute the status rows of `batch_ids` from their facts; returns (batch ids, user ids) changed."""
    batch_ids = sorted(set(batch_ids))
    if not batch_ids:
        return set(), set()
    # Serialize recomputes of the same batch until commit.
    lock_all(session, BATCH_LOCKS, batch_ids)
    # Read after the lock: under READ COMMITTED each statement sees every fact committed so far.
    previous_users = {
        user_id for user_id in session.scalars(
            select(EssayBatch.user_id).where(EssayBatch.batch_id.in_(batch_ids))
        ) if user_id
    }
    facts: dict[str, list[dict]] = {}
    for fact in session.execute(
        select(EssayFact.event_pk, EssayFact.batch_id, EssayFact.type, EssayFact.timestamp, EssayFact.payload)
        .where(EssayFact.batch_id.in_(batch_ids))
    ):
        facts.setdefault(fact.batch_id, []).append(
            {**fact.payload, "batch_id": fact.batch_id, "type": fact.type, "timestamp": fact.timestamp,
             "seq": fact.event_pk}
        )
    rows = []
    for batch_id, batch_facts in facts.items():
        state, essays = batch_view(batch_facts)
        response = batch_status_body(state, essays)
        rows.append({
            "batch_id": batch_id,
            "user_id": state["user_id"],
            "registered": state["registered"],
            "registered_event_pk": state["registered_seq"],
            "internal_status": state["internal_status"],
            "overall_status": state["overall_status"],
            "current_phase": state["current_phase"],
            "essay_count": state["essay_count"],
            "completed_essay_count": state["completed_essay_count"],
            "failed_essay_count": state["failed_essay_count"],
            "error_detail": state["error_detail"],
            "created_at": state["created_at"],
            "last_updated": state["last_updated"],
            "processing_started_at": state["processing_started_at"],
            "processing_completed_at": state["processing_completed_at"],
            "response": response,
            "last_event_pk": state["last_seq"],
        })
    if rows:
        stmt = insert(EssayBatch).values(rows)
        updated = {column: stmt.excluded[column] for column in rows[0] if column != "batch_id"}
        session.execute(stmt.on_conflict_do_update(
            index_elements=["batch_id"], set_={**updated, "computed_at": text("now()")}
        ))
    gone = [b for b in batch_ids if b not in facts]
    if gone:
        # Only a rebuild removes facts; a batch without any is no batch.
        session.execute(delete(EssayBatch).where(EssayBatch.batch_id.in_(gone)))
    users = previous_users | {row["user_id"] for row in rows if row["user_id"]}
    return set(batch_ids), users


def invalidate_around_commit(session: Session, batch_ids: set[str], user_ids: set[str]) -> None:
    """Invalidate now (before the commit) and once more right after the commit.

    Both calls reach Redis only, so the invalidation is also recorded as pending work in
    this transaction; the after-commit call settles it when it succeeds, else the
    sweeper repeats it.
    """
    token = uuid.uuid4().hex
    record_pending(session, BATCH_CACHE_KIND, batch_ids, token)
    record_pending(session, USER_CACHE_KIND, user_ids, token)
    invalidate_cache(batch_ids, user_ids)

    def settle() -> None:
        # A failure leaves the rows: the sweeper invalidates once more.
        if invalidate_cache(batch_ids, user_ids):
            settle_pending_request(token)

    after_commit(session, settle, "invalidate essay caches")


def recompute_events(session: Session, events: Sequence[Event]) -> None:
    """Recompute each batch touched by the chain once, however many of its events it carries."""
    batch_ids = {(ev.payload or {}).get("batch_id") for ev in events} - {None, ""}
    changed_batches, users = recompute_batches(session, sorted(batch_ids))
    metrics.inc("tutormax_recomputes", len(changed_batches), kind=RECOMPUTE_KIND)
    metrics.inc("tutormax_recomputes_coalesced", len(events) - len(changed_batches), kind=RECOMPUTE_KIND)
    invalidate_around_commit(session, changed_batches, users)
    log.info("essay batches recomputed",
             extra={"batches": len(changed_batches), "event_pks": [ev.id for ev in events][:20]})


# --- rebuild ------------------------------------------------------------------------


def rebuild_essays() -> str:
    """Refill facts from the event log and recompute every batch (`tutormax rebuild --domain essays`)."""
    with session_scope() as session:
        # Facts of every event the shared rebuild rule replays.
        live = select(Event.id).where(Event.domain == "essays", replayable())
        session.execute(delete(EssayFact).where(EssayFact.event_pk.not_in(live)))
        session.execute(
            insert(EssayFact)
            .from_select(
                ["event_pk", "batch_id", "type", "timestamp", "payload"],
                select(Event.id, Event.payload["batch_id"].astext, Event.type, Event.timestamp, Event.payload)
                .where(Event.id.in_(live), Event.payload["batch_id"].astext.is_not(None)),
            )
            .on_conflict_do_nothing(index_elements=["event_pk"])
        )
        batch_ids = sorted(set(session.scalars(select(EssayFact.batch_id).distinct()))
                           | set(session.scalars(select(EssayBatch.batch_id))))
    for chunk in chunked(batch_ids, REBUILD_CHUNK):
        with session_scope() as session:
            changed, users = recompute_batches(session, chunk)
            invalidate_around_commit(session, changed, users)
        metrics.inc("tutormax_recomputes", len(chunk), kind=RECOMPUTE_KIND)
    return f"{len(batch_ids)} batches"


register("essays", persist=persist_facts, recompute=recompute_events)
register_rebuild("essays", rebuild_essays)
# An invalidation not settled after TUTORMAX_OUTBOX_STALE_SECONDS is repeated by the sweeper
# (a row it reads is committed, so its invalidation comes after the change it covers).
register_repair(BATCH_CACHE_KIND, lambda _session, batch_ids: invalidate_cache(batch_ids, ()),
                lambda: get_settings().outbox_stale_seconds)
register_repair(USER_CACHE_KIND, lambda _session, user_ids: invalidate_cache((), user_ids),
                lambda: get_settings().outbox_stale_seconds)
