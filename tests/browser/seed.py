"""The data the browser tests see: one class of a teacher, another teacher's class, a reader, a rated tutor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tests.factories import learning_event

LEARNING_DAY = "2026-10-05"


@dataclass(frozen=True)
class Seed:
    """What `seeded` posted; ids are unique to the test run.

    Class `class_id` of teacher `teacher_id` (hand-worked from SPEC §3.1, as in tests/web/test_dashboard_pages.py):
    students u1–u3 with a1, a2 assigned; graded u1/a1 80, u1/a2 90, u2/a1 70, u2/a2 50 → 3 students, 2 assignments,
    completion 4/6 = 67%, average score 72.5; at risk u2 (score trending down 70 → 50) and u3 (nothing graded).
    `other_class_id` belongs to another teacher. `reader_id` (u2) checked out one book of level 3.0.
    Tutor `tutor_id` ("Ada"): two sessions rated 5 and 4 in the last two days → 5 green flags, engagement 52 red →
    "Needs Attention" in every window.
    """

    prefix: str
    teacher_id: str
    class_id: str
    other_class_id: str
    students: tuple[str, str, str]
    reader_id: str
    tutor_id: str
    tutor_name: str


def seed_events(prefix: str, now: datetime) -> tuple[Seed, list[dict]]:
    """The events behind `Seed`, ids prefixed by `prefix`; the tutor's sessions are in the two days before `now`."""

    def learning(n: str, kind: str, student: str, class_id: str, assignment: str, standard: str, time: str,
                 score: float | None = None, teacher: str | None = None) -> dict:
        return learning_event(prefix, n, kind, student, class_id, assignment, [standard], LEARNING_DAY, time, score,
                              teacher)

    events = [learning(f"as-{s}-{a}", "assigned", s, "A", a, "S1" if a == "a1" else "S2", f"08:0{i}:00",
                       teacher="tA" if i == 0 else None)
              for i, (s, a) in enumerate((s, a) for s in ("u1", "u2", "u3") for a in ("a1", "a2"))]
    events += [
        learning("g-u1-a1", "graded", "u1", "A", "a1", "S1", "09:00:00", 80),
        learning("g-u1-a2", "graded", "u1", "A", "a2", "S2", "10:00:00", 90),
        learning("g-u2-a1", "graded", "u2", "A", "a1", "S1", "09:30:00", 70),
        learning("g-u2-a2", "graded", "u2", "A", "a2", "S2", "10:30:00", 50),
        learning("c-u3-a1", "created", "u3", "A", "a1", "S1", "09:45:00"),
        learning("as-v1-b1", "assigned", "v1", "B", "b1", "S1", "08:00:00", teacher="tB"),
        {"event_id": f"{prefix}-cat", "source": "library", "type": "BOOK_CATALOGED",
         "timestamp": f"{LEARNING_DAY}T07:00:00Z", "book_id": f"{prefix}-book", "title": "A book",
         "reading_level": 3.0},
        {"event_id": f"{prefix}-co", "source": "library", "type": "BOOK_CHECKED_OUT",
         "timestamp": f"{LEARNING_DAY}T12:00:00Z", "student_id": f"{prefix}-u2", "book_id": f"{prefix}-book"},
    ]
    tutor = f"{prefix}-tutor"
    starts = [now - timedelta(days=2), now - timedelta(days=1)]
    events.append({"event_id": f"{prefix}-tutor", "source": "tp", "type": "TUTOR_UPSERTED",
                   "timestamp": now.isoformat(), "tutor_id": tutor, "name": "Ada", "email": f"{prefix}@example.com",
                   "onboarding_date": (date.today() - timedelta(days=10)).isoformat(), "status": "active",
                   "subjects": ["math", "physics"]})
    for n, (start, rating) in enumerate(zip(starts, (5, 4)), start=1):
        events.append({"event_id": f"{prefix}-s{n}", "source": "tp", "type": "SESSION_COMPLETED",
                       "timestamp": (start + timedelta(hours=1)).isoformat(), "session_id": f"{prefix}-s{n}",
                       "tutor_id": tutor, "student_id": f"{prefix}-st", "session_number": n,
                       "scheduled_start": start.isoformat(), "actual_start": start.isoformat(),
                       "duration_minutes": 60, "subject": "math", "engagement_score": 80,
                       "learning_objectives_met": True})
        events.append({"event_id": f"{prefix}-f{n}", "source": "tp", "type": "FEEDBACK_SUBMITTED",
                       "timestamp": (start + timedelta(hours=2)).isoformat(), "feedback_id": f"{prefix}-f{n}",
                       "session_id": f"{prefix}-s{n}", "tutor_id": tutor, "student_id": f"{prefix}-st",
                       "overall_rating": rating})
    seed = Seed(prefix=prefix, teacher_id=f"{prefix}-tA", class_id=f"{prefix}-A", other_class_id=f"{prefix}-B",
                students=(f"{prefix}-u1", f"{prefix}-u2", f"{prefix}-u3"), reader_id=f"{prefix}-u2", tutor_id=tutor,
                tutor_name="Ada")
    return seed, events
