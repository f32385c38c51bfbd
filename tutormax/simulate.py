"""A realistic mixed event stream for `tutormax simulate` and the benchmark.

Classes with teachers, assignments and grades; a library catalog and
checkouts; tutors with sessions, feedback and activity; essay batches moving
through their phases. A few events are sent twice and arrival order is
shuffled within small windows, as real producers do. With an xAPI share, that
share of the grades is sent as xAPI statements to /xapi/statements, shaped as
Moodle's logstore_xapi sends them (SPEC §3.5); their standards then come from the
assignment, as for a real LMS.
"""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import requests

BANDS = ("beginner", "early_elementary", "late_elementary", "middle_school", "advanced")
SUBJECTS = ("math", "reading", "science", "writing", "history")
LMS_HOME = "https://lms.tutormax.example"
STATEMENT_IDS = uuid.UUID("2f1c9a4e-6a52-4f51-9d0e-5b0b7f3c1d11")  # uuid5 namespace: one event, one statement id


def _ts(moment: datetime, offset_hours: int = 0) -> str:
    return moment.astimezone(timezone(timedelta(hours=offset_hours))).isoformat(timespec="seconds")


class Simulator:
    """Generates events; ids are prefixed with `run` so repeated runs never collide."""

    def __init__(self, seed: int | None = None, run: str | None = None, now: datetime | None = None,
                 iri_ids: bool = False) -> None:
        self.rng = random.Random(seed)
        self.run = run or f"sim{self.rng.randrange(16**6):06x}"
        self.now = now or datetime.now(timezone.utc)
        self.seq = 0
        # Classes and assignments named by IRIs, as an LMS sending xAPI names them.
        self.iri_ids = iri_ids

    def _envelope(self, source: str, event_type: str, moment: datetime, offset: int = 0) -> dict:
        self.seq += 1
        return {"event_id": f"{self.run}-{self.seq}", "source": source, "type": event_type,
                "timestamp": _ts(moment, offset)}

    def _moment(self, days_back: float = 30) -> datetime:
        return self.now - timedelta(seconds=self.rng.uniform(0, days_back * 86400))

    def learning(self, class_no: int, students: int = 25, assignments: int = 8) -> Iterator[dict]:
        """One class: assignments to every student, most graded, some regraded."""
        class_id, teacher_id = f"{self.run}-class-{class_no}", f"{self.run}-teacher-{class_no % 5}"
        if self.iri_ids:
            class_id = f"urn:tutormax-sim:{class_id}"
        for a in range(assignments):
            assignment_id = f"{class_id}-a{a}"
            standards = [f"STD.{class_no % 7}.{a % 4}", f"STD.{class_no % 7}.{(a + 1) % 4}"][: 1 + a % 2]
            assigned_at = self.now - timedelta(days=30 - a * 3)
            for s in range(students):
                student_id = f"{self.run}-student-{class_no}-{s}"
                base = {"student_id": student_id, "class_id": class_id, "assignment_id": assignment_id,
                        "standard_ids": standards, "teacher_id": teacher_id}
                yield {**self._envelope("lms", "ASSIGNMENT_ASSIGNED", assigned_at), **base}
                if self.rng.random() < 0.85:
                    graded_at = assigned_at + timedelta(days=self.rng.uniform(1, 3))
                    yield {**self._envelope("lms", "SUBMISSION_GRADED", graded_at), **base,
                           "score": round(self.rng.uniform(40, 100), 1)}

    def reading(self, books: int = 40, students: int = 30, checkouts: int = 150) -> Iterator[dict]:
        for b in range(books):
            event = {**self._envelope("library", "BOOK_CATALOGED", self.now - timedelta(days=90)),
                     "book_id": f"{self.run}-book-{b}", "title": f"Book {b}",
                     "reading_level": round(self.rng.uniform(0.5, 10), 1)}
            if b % 4 == 0:
                event["difficulty_band"] = self.rng.choice(BANDS)
            yield event
        for _ in range(checkouts):
            yield {**self._envelope("library", "BOOK_CHECKED_OUT", self._moment(60)),
                   "student_id": f"{self.run}-reader-{self.rng.randrange(students)}",
                   "book_id": f"{self.run}-book-{self.rng.randrange(books)}"}

    def tutoring(self, tutors: int = 5, sessions: int = 60) -> Iterator[dict]:
        for t in range(tutors):
            yield {**self._envelope("tutoring", "TUTOR_UPSERTED", self.now - timedelta(days=1)),
                   "tutor_id": f"{self.run}-tutor-{t}", "name": f"Tutor {t}", "email": f"tutor{t}@example.org",
                   "onboarding_date": (self.now - timedelta(days=20 + 100 * t)).date().isoformat(),
                   "status": "active", "subjects": list(SUBJECTS[: 1 + t % 3])}
        for s in range(sessions):
            tutor_id = f"{self.run}-tutor-{s % tutors}"
            start = self._moment(85)
            session_id = f"{self.run}-session-{s}"
            no_show = self.rng.random() < 0.05
            yield {**self._envelope("tutoring", "SESSION_COMPLETED", start, -5), "session_id": session_id,
                   "tutor_id": tutor_id, "student_id": f"{self.run}-tutee-{s % 17}", "session_number": 1 + s % 6,
                   "scheduled_start": _ts(start, -5), "actual_start": None if no_show else _ts(start, -5),
                   "duration_minutes": 60, "subject": self.rng.choice(SUBJECTS), "no_show": no_show,
                   "late_start_minutes": self.rng.choice((0, 0, 0, 3, 8, 15)),
                   "engagement_score": round(self.rng.uniform(50, 100), 1),
                   "learning_objectives_met": self.rng.random() < 0.85}
            if not no_show and self.rng.random() < 0.7:
                yield {**self._envelope("tutoring", "FEEDBACK_SUBMITTED", start + timedelta(hours=2)),
                       "feedback_id": f"{session_id}-fb", "session_id": session_id, "tutor_id": tutor_id,
                       "student_id": f"{self.run}-tutee-{s % 17}", "overall_rating": self.rng.choice((3, 4, 5, 5)),
                       "communication_rating": self.rng.choice((3, 4, 5)), "patience_rating": self.rng.choice((4, 5))}
            if self.rng.random() < 0.5:
                yield {**self._envelope("tutoring", "TUTOR_ACTIVITY", start - timedelta(hours=1)),
                       "tutor_id": tutor_id, "activity_type": self.rng.choice(("login", "message_response")),
                       "metadata": {"response_time_minutes": self.rng.randint(1, 90)}}

    def essays(self, batches: int = 4, essays_per_batch: int = 6) -> Iterator[dict]:
        for b in range(batches):
            batch_id = f"{self.run}-batch-{b}"
            essay_ids = [f"{batch_id}-e{e}" for e in range(essays_per_batch)]
            start = self.now - timedelta(hours=b + 1)
            yield {**self._envelope("essays", "BATCH_REGISTERED", start), "batch_id": batch_id,
                   "user_id": f"{self.run}-user-{b % 2}", "essay_ids": essay_ids, "course_code": "ENG5"}
            failed = essay_ids[:1] if b % 2 else []
            for e in essay_ids:
                yield {**self._envelope("essays", "ESSAY_SPELLCHECK_COMPLETED", start + timedelta(minutes=5)),
                       "batch_id": batch_id, "essay_id": e,
                       "status": "FAILED" if e in failed else "SUCCESS", "corrections_made": self.rng.randint(0, 9)}
            done = [e for e in essay_ids if e not in failed]
            yield {**self._envelope("essays", "BATCH_PHASE_OUTCOME", start + timedelta(minutes=6)),
                   "batch_id": batch_id, "phase_name": "spellcheck",
                   "phase_status": "completed_with_failures" if failed else "completed_successfully",
                   "processed_essay_ids": done, "failed_essay_ids": failed}
            yield {**self._envelope("essays", "ASSESSMENT_RESULT_PUBLISHED", start + timedelta(minutes=20)),
                   "batch_id": batch_id, "cj_assessment_job_id": f"{batch_id}-cj",
                   "essay_results": [{"essay_id": e, "rank": i + 1, "bt_score": round(self.rng.uniform(-2, 2), 3),
                                      "letter_grade": self.rng.choice("ABCD")} for i, e in enumerate(done)]
                   + [{"essay_id": f"{batch_id}-anchor", "rank": len(done) + 1, "bt_score": 0.0, "is_anchor": True}]}

    def mixed(self, count: int) -> list[dict]:
        """About `count` events of every kind, shuffled within windows of 20, 3% sent twice."""
        events: list[dict] = []
        class_no = 0
        while len(events) < count:
            events += list(self.tutoring(tutors=3, sessions=40))
            events += list(self.reading(books=15, students=20, checkouts=60))
            events += list(self.learning(class_no, students=12, assignments=5))
            events += list(self.essays(batches=2, essays_per_batch=5))
            class_no += 1
        events = events[:count]
        for start in range(0, len(events), 20):
            window = events[start:start + 20]
            self.rng.shuffle(window)
            events[start:start + 20] = window
        for index in self.rng.sample(range(len(events)), k=len(events) * 3 // 100):
            events.insert(min(len(events), index + self.rng.randint(1, 50)), dict(events[index]))
        return events


def post_all(events: list[dict], url: str, key: str, rate: float = 0.0, batch_size: int = 200) -> dict:
    """POST events: in batches as fast as possible, or one by one at `rate` per second."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    totals = {"accepted": 0, "duplicates": 0, "invalid": 0}
    if rate <= 0:
        for start in range(0, len(events), batch_size):
            response = session.post(f"{url}/api/v1/events/batch", json={"events": events[start:start + batch_size]},
                                    timeout=60)
            response.raise_for_status()
            body = response.json()
            for name in totals:
                totals[name] += body[name]
        return totals
    interval = 1.0 / rate
    next_at = time.monotonic()
    for event in events:
        response = session.post(f"{url}/api/v1/events", json=event, timeout=30)
        if response.status_code == 202:
            totals["duplicates" if response.json()["duplicate"] else "accepted"] += 1
        else:
            totals["invalid"] += 1
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))
    return totals


def statement_of(event: dict) -> dict:
    """A SUBMISSION_GRADED as Moodle's logstore_xapi (≤ 4.7) sends it: ADL `scored`, the course in `grouping`,
    raw/min/max with `scaled`; no standards (they come from the assignment). One event id, one statement id."""
    return {
        "id": str(uuid.uuid5(STATEMENT_IDS, event["event_id"])),
        "actor": {"objectType": "Agent", "account": {"homePage": LMS_HOME, "name": event["student_id"]}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/scored", "display": {"en": "scored"}},
        "object": {"objectType": "Activity", "id": event["assignment_id"],
                   "definition": {"type": "http://adlnet.gov/expapi/activities/assessment"}},
        "result": {"score": {"raw": event["score"], "min": 0, "max": 100, "scaled": event["score"] / 100},
                   "completion": True},
        "context": {
            "platform": "TutorMax simulator",
            "instructor": {"objectType": "Agent", "account": {"homePage": LMS_HOME, "name": event["teacher_id"]}},
            "contextActivities": {"grouping": [{"id": event["class_id"], "objectType": "Activity", "definition": {
                "type": "http://id.tincanapi.com/activitytype/lms/course"}}]},
        },
        "timestamp": event["timestamp"],
    }


def split_xapi(events: list[dict], share: float) -> tuple[list[dict], list[dict]]:
    """(native events, statements): about `share` of the grades become statements, both copies of a duplicate alike."""
    natives, statements = [], []
    for event in events:
        pick = int(hashlib.sha1(event["event_id"].encode()).hexdigest()[:8], 16) / 16**8 < share
        if event.get("type") == "SUBMISSION_GRADED" and pick:
            statements.append(statement_of(event))
        else:
            natives.append(event)
    return natives, statements


def post_statements(statements: list[dict], url: str, key: str, batch_size: int = 100) -> int:
    """POST statements to /xapi/statements as an LMS does (HTTP Basic, the key as password); how many were sent."""
    session = requests.Session()
    session.auth = ("simulator", key)
    session.headers["X-Experience-API-Version"] = "1.0.3"
    # xAPI refuses a batch holding one id twice: a re-sent statement goes in a later round, as an LMS retry would.
    rounds: list[list[dict]] = []
    seen: dict[str, int] = {}
    for statement in statements:
        n = seen[statement["id"]] = seen.get(statement["id"], -1) + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(statement)
    for batch_round in rounds:
        for start in range(0, len(batch_round), batch_size):
            response = session.post(f"{url}/xapi/statements", json=batch_round[start:start + batch_size], timeout=60)
            response.raise_for_status()
    return len(statements)


def run_simulation(count: int, rate: float, url: str, key: str, seed: int | None = None,
                   xapi_share: float = 0.0) -> str:
    simulator = Simulator(seed, iri_ids=xapi_share > 0)
    events, statements = split_xapi(simulator.mixed(count), xapi_share)
    started = time.monotonic()
    totals = post_all(events, url.rstrip("/"), key, rate)
    # Statements go in batches after the native events (arrival order does not change the views).
    sent = post_statements(statements, url.rstrip("/"), key) if statements else 0
    elapsed = time.monotonic() - started
    xapi = f", {sent} grades as xAPI statements" if statements else ""
    return (f"run {simulator.run}: posted {len(events)} events{xapi} in {elapsed:.1f}s — "
            f"accepted {totals['accepted']}, duplicates {totals['duplicates']}, invalid {totals['invalid']}")
