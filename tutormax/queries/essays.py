"""Essay-result reads (SPEC §3.4, §4): the stored status bodies of the internal batch API."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tutormax.models.essays import EssayBatch


def batch_status(session: Session, batch_id: str) -> dict | None:
    """The stored status body of a registered batch, or None."""
    return session.scalar(
        select(EssayBatch.response).where(EssayBatch.batch_id == batch_id, EssayBatch.registered.is_(True))
    )


def user_batches(session: Session, user_id: str, limit: int, offset: int, status: str | None) -> dict:
    """A page of the user's registered batches, newest first, with the total matching `status`."""
    where = [EssayBatch.user_id == user_id, EssayBatch.registered.is_(True)]
    if status is not None:
        where.append(EssayBatch.overall_status == status)
    total = session.scalar(select(func.count()).select_from(EssayBatch).where(*where))
    bodies = session.scalars(
        select(EssayBatch.response).where(*where)
        .order_by(EssayBatch.created_at.desc(), EssayBatch.registered_event_pk.desc(), EssayBatch.batch_id.desc())
        .limit(limit).offset(offset)
    ).all()
    return {"batches": list(bodies), "pagination": {"limit": limit, "offset": offset, "total": total}}
