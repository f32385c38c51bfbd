"""Privacy reads (SPEC §4): every stored fact about one student or tutor, as one JSON-ready document.

Which tables name whom (docs/privacy.md is the inventory):
- a student: their events (`payload.student_id`), the learning tables, reading checkouts,
  profile and pending publications, tutoring sessions and feedback, and their entries of
  the Redis stream `tutormax:student_profiles`;
- a tutor: their events (`payload.tutor_id`), the tutor record, sessions, feedback,
  activities, current metrics and daily history.
Essay batches name a `user_id` (the submitting account) and essay ids, never a student or
tutor id, so they are not part of a person's export.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from tutormax.config import PROFILE_STREAM
from tutormax.models.events import DeadLetter, Event
from tutormax.models.learning import (
    LearningActivity,
    LearningClassStandard,
    LearningClassStudent,
    LearningGrade,
    LearningMastery,
    LearningPair,
    LearningRiskFlag,
)
from tutormax.models.reading import Checkout, ProfilePublication, ReadingProfile
from tutormax.models.tutoring import (
    SessionFeedback,
    Tutor,
    TutorActivity,
    TutoringSession,
    TutorMetrics,
    TutorMetricsHistory,
)
from tutormax.privacy import KINDS, SUBJECT_FIELDS
from tutormax.redis_client import get_redis


# Every view table that names a person of each kind, by its column holding the id.
def _naming(column: str, *models: type) -> tuple[tuple[str, type, str], ...]:
    return tuple((model.__tablename__, model, column) for model in models)


VIEW_TABLES: Mapping[str, tuple[tuple[str, type, str], ...]] = {
    "student": _naming("student_id", LearningActivity, LearningPair, LearningGrade, LearningClassStandard,
                       LearningClassStudent, LearningMastery, LearningRiskFlag, Checkout, ReadingProfile,
                       ProfilePublication, TutoringSession, SessionFeedback),
    "tutor": _naming("tutor_id", Tutor, TutoringSession, SessionFeedback, TutorActivity, TutorMetrics,
                     TutorMetricsHistory),
}

STREAM_SCAN_CHUNK = 1000


def _plain(value: Any) -> Any:
    """A column value as JSON can carry it."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _row(model: type, obj: Any) -> dict[str, Any]:
    return {column.key: _plain(getattr(obj, column.key)) for column in model.__table__.columns}


def subject_events(session: Session, kind: str, subject_id: str) -> list[Event]:
    """The events whose payload names the person, in arrival order."""
    field = SUBJECT_FIELDS[kind]
    return list(session.scalars(select(Event).where(Event.payload[field].astext == subject_id).order_by(Event.id)))


def stream_entries(student_id: str) -> list[tuple[str, dict[str, str]]] | None:
    """The student's entries still in the profile stream (id, fields); None when Redis cannot be read."""
    found: list[tuple[str, dict[str, str]]] = []
    try:
        client = get_redis()
        start = "-"
        while True:
            chunk = client.xrange(PROFILE_STREAM, min=start, max="+", count=STREAM_SCAN_CHUNK)
            for entry_id, fields in chunk:
                fields = {_text(k): _text(v) for k, v in fields.items()}
                if fields.get("student_id") == student_id:
                    found.append((_text(entry_id), fields))
            if len(chunk) < STREAM_SCAN_CHUNK:
                return found
            start = "(" + _text(chunk[-1][0])
    except redis.RedisError:
        return None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def subject_export(session: Session, kind: str, subject_id: str) -> dict[str, Any] | None:
    """Every stored fact about the person, or None when TutorMax holds nothing about them."""
    if kind not in KINDS:
        return None
    events = subject_events(session, kind, subject_id)
    views: dict[str, list[dict[str, Any]]] = {}
    for name, model, column in VIEW_TABLES[kind]:
        rows = session.scalars(select(model).where(getattr(model, column) == subject_id)).all()
        if rows:
            views[name] = [_row(model, row) for row in rows]
    if not events and not views:
        return None
    event_pks = [e.id for e in events]
    letters = session.scalars(select(DeadLetter).where(DeadLetter.event_pk.in_(event_pks))).all() if event_pks else []
    entries = stream_entries(subject_id) if kind == "student" else []
    return {
        "kind": kind,
        "id": subject_id,
        "events": [{
            "id": e.id, "event_id": e.event_id, "source": e.source, "type": e.type,
            "timestamp": _plain(e.timestamp), "status": e.status, "received_at": _plain(e.received_at),
            "payload": e.payload,
        } for e in events],
        "views": views,
        "dead_letters": [_row(DeadLetter, letter) for letter in letters],
        "profile_stream": None if entries is None else [{"id": i, "fields": f} for i, f in entries],
    }
