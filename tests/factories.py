"""Event builders for the integration tests: one per event type, ids prefixed by the test's uid.

Each returns the JSON body a producer would POST; keyword arguments override or add
fields, so a test states only what matters to it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

UTC = timezone.utc


# --- reading (SPEC §3.2) --------------------------------------------------------------

def checkout(uid: str, n: int | str = 1, student: str | None = None, book: str | None = None,
             timestamp: str = "2026-09-01T08:00:00+02:00", **extra) -> dict:
    """A BOOK_CHECKED_OUT; by default student `s-<uid>` takes book `b-<uid>`."""
    return {"event_id": f"{uid}-{n}", "source": "library", "type": "BOOK_CHECKED_OUT", "timestamp": timestamp,
            "student_id": student or f"s-{uid}", "book_id": book or f"b-{uid}", **extra}


def catalog(uid: str, n: int, book: str, timestamp: str, **fields) -> dict:
    """A BOOK_CATALOGED of `book` with the given fields (reading_level, difficulty_band, …)."""
    return {"event_id": f"{uid}-cat-{n}", "source": "library", "type": "BOOK_CATALOGED",
            "timestamp": timestamp, "book_id": book, "title": f"Title {n}", **fields}


# --- learning (SPEC §3.1) ---------------------------------------------------------------

LEARNING_TYPES = {"assigned": "ASSIGNMENT_ASSIGNED", "created": "SUBMISSION_CREATED", "graded": "SUBMISSION_GRADED"}


def learning_event(uid: str, n: str, kind: str, student: str, class_id: str, assignment: str,
                   standards: list[str], day: str, time: str, score: float | None = None,
                   teacher: str | None = None, offset: str = "Z") -> dict:
    """One learning event body; `kind` is assigned/created/graded, ids prefixed by the test's uid."""
    body = {
        "event_id": f"{uid}-{n}", "source": "lms", "type": LEARNING_TYPES[kind],
        "timestamp": f"{day}T{time}{offset}", "student_id": f"{uid}-{student}", "class_id": f"{uid}-{class_id}",
        "assignment_id": f"{uid}-{assignment}", "standard_ids": [f"{uid}-{s}" for s in standards],
    }
    if score is not None:
        body["score"] = score
    if teacher is not None:
        body["teacher_id"] = f"{uid}-{teacher}"
    return body


LEARNING_DAY = "2026-09-01"


def learning_event_on_day(uid: str, n: str, kind: str, student: str, class_id: str, assignment: str,
                          standards: list[str], time: str, score: float | None = None, teacher: str | None = None,
                          offset: str = "Z") -> dict:
    """One learning event on LEARNING_DAY."""
    return learning_event(uid, n, kind, student, class_id, assignment, standards, LEARNING_DAY, time, score,
                          teacher, offset)


# --- tutoring (SPEC §3.3) ---------------------------------------------------------------

def iso(moment: datetime) -> str:
    return moment.isoformat()


def tutor_event(uid: str, tutor_id: str, timestamp: datetime | None = None, **fields) -> dict:
    timestamp = timestamp or datetime.now(UTC)
    return {
        "event_id": f"{uid}-tutor-{tutor_id}-{timestamp.timestamp()}",
        "source": "tutoring-platform", "type": "TUTOR_UPSERTED",
        "timestamp": iso(timestamp), "tutor_id": tutor_id,
        "name": f"Name {uid}", "email": f"tutor-{uid}@example.com",
        "onboarding_date": (date.today() - timedelta(days=10)).isoformat(), "status": "active",
        "subjects": ["math"], **fields,
    }


def session_event(uid: str, session_id: str, tutor_id: str, scheduled_start: datetime, **fields) -> dict:
    return {
        "event_id": f"{uid}-session-{session_id}-{fields.pop('version', 1)}", "source": "tutoring-platform",
        "type": "SESSION_COMPLETED", "timestamp": iso(fields.pop("timestamp", scheduled_start + timedelta(hours=1))),
        "session_id": session_id, "tutor_id": tutor_id, "student_id": f"{uid}-student",
        "session_number": 2, "scheduled_start": iso(scheduled_start), "actual_start": iso(scheduled_start),
        "duration_minutes": 60, "subject": "math", **fields,
    }


def feedback_event(uid: str, session_id: str, tutor_id: str, rating: int, submitted: datetime, **fields) -> dict:
    return {
        "event_id": f"{uid}-feedback-{session_id}", "source": "tutoring-platform", "type": "FEEDBACK_SUBMITTED",
        "timestamp": iso(submitted), "feedback_id": f"fb-{session_id}", "session_id": session_id,
        "tutor_id": tutor_id, "student_id": f"{uid}-student", "overall_rating": rating, **fields,
    }


def activity_event(uid: str, n: int, tutor_id: str, timestamp: datetime, activity_type: str, **metadata) -> dict:
    return {
        "event_id": f"{uid}-activity-{n}", "source": "tutoring-platform", "type": "TUTOR_ACTIVITY",
        "timestamp": iso(timestamp), "tutor_id": tutor_id, "activity_type": activity_type, "metadata": metadata,
    }


# --- essays (SPEC §3.4) -----------------------------------------------------------------

def ts(minute: int) -> str:
    """An event time `minute` minutes after 09:00 UTC on a fixed day, sent with a +02:00 offset."""
    hour, minute = divmod(minute, 60)
    return f"2026-03-02T{11 + hour:02d}:{minute:02d}:00+02:00"


def utc(minute: int) -> str:
    """The same instant as `ts(minute)`, as the API writes it (UTC, `Z`)."""
    hour, minute = divmod(minute, 60)
    return f"2026-03-02T{9 + hour:02d}:{minute:02d}:00Z"


class Essays:
    """Builds essay events with ids unique to one test."""

    def __init__(self, uid: str) -> None:
        self.uid = uid
        self.count = 0

    def event(self, event_type: str, minute: int, **fields) -> dict:
        self.count += 1
        return {"event_id": f"{self.uid}-{self.count}", "source": "essay-service", "type": event_type,
                "timestamp": ts(minute), **fields}

    def registered(self, batch_id: str, user_id: str, essay_ids: list[str], minute: int = 0, **extra) -> dict:
        return self.event("BATCH_REGISTERED", minute, batch_id=batch_id, user_id=user_id, essay_ids=essay_ids,
                          **extra)

    def spellcheck(self, batch_id: str, essay_id: str, status: str, minute: int, **extra) -> dict:
        return self.event("ESSAY_SPELLCHECK_COMPLETED", minute, batch_id=batch_id, essay_id=essay_id,
                          status=status, **extra)

    def assessment(self, batch_id: str, results: list[dict], minute: int, **extra) -> dict:
        return self.event("ASSESSMENT_RESULT_PUBLISHED", minute, batch_id=batch_id,
                          cj_assessment_job_id=f"job-{batch_id}", essay_results=results, **extra)

    def outcome(self, batch_id: str, phase: str, status: str, processed: list[str], failed: list[str],
                minute: int) -> dict:
        return self.event("BATCH_PHASE_OUTCOME", minute, batch_id=batch_id, phase_name=phase, phase_status=status,
                          processed_essay_ids=processed, failed_essay_ids=failed)

    def completed(self, batch_id: str, final_status: str, completed: int, failed: int, minute: int) -> dict:
        return self.event("BATCH_PIPELINE_COMPLETED", minute, batch_id=batch_id, final_status=final_status,
                          completed_essay_count=completed, failed_essay_count=failed)
