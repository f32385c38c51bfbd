"""Essay pipeline handlers: idempotent redelivery, one recompute per batch per chain, rebuild."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from tests.factories import Essays
from tests.helpers import metric, send, status_body
from tutormax.cache import invalidate_cache
from tutormax.db import session_scope
from tutormax.models.essays import EssayBatch, EssayFact
from tutormax.models.events import Event
from tutormax.registry import rebuilder_for
from tutormax.tasks.essays import persist_facts, recompute_events


def facts_of(batch_id: str) -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(EssayFact).where(EssayFact.batch_id == batch_id))


def test_redelivered_persist_and_recompute_change_nothing(client, keys, uid):
    make = Essays(uid)
    batch = f"b-{uid}"
    pks = send(client, keys,
               make.registered(batch, f"u-{uid}", ["e1", "e2"]),
               make.spellcheck(batch, "e1", "SUCCESS", 1),
               make.outcome(batch, "spellcheck", "completed_with_failures", ["e1"], ["e2"], 2))
    before = status_body(client, batch)
    assert before["overall_status"] == "completed_with_failures"  # 1 + 1 >= 2, both kinds
    assert facts_of(batch) == 3

    # The broker redelivers the persist and recompute messages of the same chain.
    with session_scope() as session:
        events = session.scalars(select(Event).where(Event.id.in_(pks)).order_by(Event.id)).all()
        persist_facts(session, events)
        recompute_events(session, events)
    assert facts_of(batch) == 3  # one fact per event, still
    assert status_body(client, batch) == before


def test_one_recompute_per_batch_per_chain(client, keys, uid):
    make = Essays(uid)
    first, second = f"b1-{uid}", f"b2-{uid}"
    before = metric(client, "tutormax_recomputes_total", kind="batch_status")
    # Seven events of two batches in one POST: one chain, so two batch recomputes, not seven.
    send(client, keys,
         make.registered(first, f"u-{uid}", ["e1", "e2"]),
         make.spellcheck(first, "e1", "SUCCESS", 1),
         make.spellcheck(first, "e2", "SUCCESS", 1),
         make.outcome(first, "spellcheck", "completed_successfully", ["e1", "e2"], [], 2),
         make.registered(second, f"u-{uid}", ["e1"]),
         make.spellcheck(second, "e1", "FAILED", 1),
         make.outcome(second, "spellcheck", "completed_with_failures", [], ["e1"], 2))
    recomputes = metric(client, "tutormax_recomputes_total", kind="batch_status") - before
    # 2 normally; a chain slower than the outbox staleness (3 s in tests) may be re-dispatched once,
    # and the copy that still finds live events recomputes the same two batches again.
    assert recomputes in (2, 4), recomputes
    assert status_body(client, first)["overall_status"] == "completed_successfully"
    # 0 completed + 1 failed >= 1, nothing completed → failed_critically, client status failed.
    assert status_body(client, second)["overall_status"] == "failed"


def test_rebuild_restores_the_incremental_views(client, keys, uid):
    make = Essays(uid)
    early, plain, user = f"b1-{uid}", f"b2-{uid}", f"u-{uid}"
    send(client, keys,
         make.spellcheck(early, "e1", "SUCCESS", 1),  # before its batch
         make.assessment(early, [{"essay_id": "e1", "rank": 1, "bt_score": 0.2}], 2))
    send(client, keys,
         make.registered(early, user, ["e1"], minute=0),
         make.registered(plain, user, ["e1", "e2"], minute=3),
         make.outcome(plain, "cj_assessment", "failed_critically", [], ["e1"], 4))
    expected = {batch: status_body(client, batch) for batch in (early, plain)}

    # Lose the views and the facts of both batches, then rebuild from the event log.
    with session_scope() as session:
        session.execute(delete(EssayFact).where(EssayFact.batch_id.in_([early, plain])))
        session.execute(delete(EssayBatch).where(EssayBatch.batch_id.in_([early, plain])))
    rebuild = rebuilder_for("essays")
    assert rebuild is not None
    rebuild()
    # Drop any cached body so the reads below come from the rebuilt rows.
    invalidate_cache([early, plain], [user])
    assert {batch: status_body(client, batch) for batch in (early, plain)} == expected
    assert facts_of(early) == 3 and facts_of(plain) == 2
