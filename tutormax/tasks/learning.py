"""Learning-domain stage handlers (SPEC §3.1); the recompute stage runs on queue recompute.learning.

persist: raw facts, idempotent by event pk or by key (timeline rows, grade facts,
class↔standard↔student, class↔teacher), then, under the classes' advisory locks, one
statement that merges pair state (guarded by (timestamp, event pk)) and adds each pair's
before/after difference to the per-student and per-class aggregates.
recompute: folds newly persisted grade facts into the running mastery totals
(exactly once, via `learning_grades.applied`), then, under the same locks, reads one
aggregate row per student of the affected classes (the chain's, and any other class whose
triage reads a mastery that changed) and writes their rollups and triage.
Both are a fixed number of set-based statements per chain (plus one lock per class),
independent of how many events, pairs or assignments a class has had."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from tutormax import metrics
from tutormax.batching import chunked
from tutormax.config import get_settings
from tutormax.db import session_scope
from tutormax.locks import lock_all
from tutormax.models.events import Event
from tutormax.models.learning import (
    LEARNING_TABLES,
    LearningActivity,
    LearningClassStandard,
    LearningClassTeacher,
    LearningGrade,
)
from tutormax.rebuilds import replayable
from tutormax.registry import register, register_rebuild
from tutormax.rules.learning import (
    StudentAggregate,
    order_key,
    risk_flags_from_aggregates,
    rollup_from_aggregates,
)
from tutormax.schemas.learning import ASSIGNMENT_ASSIGNED as ASSIGNED
from tutormax.schemas.learning import EVENT_SCHEMAS
from tutormax.schemas.learning import SUBMISSION_GRADED as GRADED
from tutormax.tasks.maintenance import register_repair

log = logging.getLogger(__name__)

# The learning facts; statements stored unmapped (XAPI_UNMAPPED, SPEC §3.5) pass the chain and touch no view.
FACT_TYPES = tuple(EVENT_SCHEMAS)
REBUILD_BATCH = 500
CLASS_CHUNK = 200
TRIAGE_KIND = "learning_triage"


def _decimal(score: float | int) -> Decimal:
    """The score as an exact decimal of its shortest repr, so sums are exact and order-free."""
    return Decimal(repr(float(score)))


def _execute_rows(session: Session, stmt: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    """Run a constant INSERT for many rows: SQLAlchemy's "insertmanyvalues" sends one multi-row
    statement per page, and the statement is compiled once and cached, not per batch."""
    if rows:
        key = [c for c in stmt.table.primary_key.columns]
        session.connection().execute(stmt.returning(*key), list(rows)).all()


def _insert_ignore(session: Session, model: type, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT … ON CONFLICT DO NOTHING, set-based."""
    _execute_rows(session, insert(model).on_conflict_do_nothing(), rows)


# One statement, run under the advisory locks of the chain's classes (so its snapshot has
# every earlier change of these classes' pairs): merge the chain's pair states into
# learning_pairs (`assigned` only turns on; a grade replaces the stored one only if its
# (timestamp, event pk) is later), and add the difference between the pairs' states
# before and after to the per-student and per-class aggregates. A redelivered chain
# changes no pair, so it adds nothing.
_MERGE_PAIRS = text("""
WITH input AS (
    SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS i(
        class_id text, student_id text, assignment_id text, assigned boolean,
        grade_score numeric, grade_value numeric, grade_at timestamptz, grade_event_pk bigint)
), old AS (
    SELECT p.class_id, p.student_id, p.assignment_id, p.assigned, p.grade_value, p.grade_event_pk
    FROM learning_pairs p JOIN input i
      ON p.class_id = i.class_id AND p.student_id = i.student_id AND p.assignment_id = i.assignment_id
), new_assignments AS (
    SELECT i.class_id, count(DISTINCT i.assignment_id) AS n FROM input i
    WHERE NOT EXISTS (SELECT 1 FROM learning_pairs p
                      WHERE p.class_id = i.class_id AND p.assignment_id = i.assignment_id)
    GROUP BY i.class_id
), merged AS (
    INSERT INTO learning_pairs AS p
        (class_id, student_id, assignment_id, assigned, grade_score, grade_value, grade_at, grade_event_pk)
    SELECT class_id, student_id, assignment_id, assigned, grade_score, grade_value, grade_at, grade_event_pk
    FROM input ORDER BY class_id, student_id, assignment_id
    ON CONFLICT (class_id, student_id, assignment_id) DO UPDATE SET
        assigned = p.assigned OR EXCLUDED.assigned,
        grade_score = CASE WHEN {later} THEN EXCLUDED.grade_score ELSE p.grade_score END,
        grade_value = CASE WHEN {later} THEN EXCLUDED.grade_value ELSE p.grade_value END,
        grade_at = CASE WHEN {later} THEN EXCLUDED.grade_at ELSE p.grade_at END,
        grade_event_pk = CASE WHEN {later} THEN EXCLUDED.grade_event_pk ELSE p.grade_event_pk END
    RETURNING p.class_id, p.student_id, p.assignment_id, p.assigned, p.grade_value, p.grade_event_pk
), delta AS (
    SELECT m.class_id, m.student_id,
           sum(m.assigned::int - coalesce(o.assigned::int, 0)) AS assigned,
           sum((m.assigned AND m.grade_event_pk IS NOT NULL)::int
               - coalesce((o.assigned AND o.grade_event_pk IS NOT NULL)::int, 0)) AS graded_assigned,
           sum((m.grade_event_pk IS NOT NULL)::int - coalesce((o.grade_event_pk IS NOT NULL)::int, 0)) AS graded,
           sum(coalesce(m.grade_value, 0) - coalesce(o.grade_value, 0)) AS score_sum,
           bool_or(o.class_id IS NULL) AS new_pair
    FROM merged m LEFT JOIN old o
      ON o.class_id = m.class_id AND o.student_id = m.student_id AND o.assignment_id = m.assignment_id
    GROUP BY m.class_id, m.student_id
), students AS (
    INSERT INTO learning_class_students AS s (class_id, student_id, assigned, graded_assigned, graded, score_sum)
    SELECT class_id, student_id, assigned, graded_assigned, graded, score_sum FROM delta
    WHERE new_pair OR assigned <> 0 OR graded_assigned <> 0 OR graded <> 0 OR score_sum <> 0
    ORDER BY class_id, student_id
    ON CONFLICT (class_id, student_id) DO UPDATE SET
        assigned = s.assigned + EXCLUDED.assigned,
        graded_assigned = s.graded_assigned + EXCLUDED.graded_assigned,
        graded = s.graded + EXCLUDED.graded,
        score_sum = s.score_sum + EXCLUDED.score_sum
    RETURNING 1
)
INSERT INTO learning_class_totals AS t (class_id, assignment_count)
SELECT class_id, n FROM new_assignments ORDER BY class_id
ON CONFLICT (class_id) DO UPDATE SET assignment_count = t.assignment_count + EXCLUDED.assignment_count
""".replace("{later}", "(EXCLUDED.grade_event_pk IS NOT NULL AND (p.grade_event_pk IS NULL OR "
                       "(EXCLUDED.grade_at, EXCLUDED.grade_event_pk) > (p.grade_at, p.grade_event_pk)))"))


def _json_value(value: Any) -> Any:
    """JSON for the statements' jsonb inputs: decimals as exact strings, datetimes in ISO form."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _jsonb(rows: Iterable[Mapping[str, Any]]) -> str:
    return json.dumps([{k: _json_value(v) for k, v in row.items()} for row in rows])


def merge_pairs(session: Session, rows: Sequence[Mapping[str, Any]], lock: bool = True) -> None:
    """Merge pair states into learning_pairs and its aggregates (one statement after the class locks)."""
    if not rows:
        return
    if lock:
        lock_classes(session, {row["class_id"] for row in rows})
    session.execute(_MERGE_PAIRS, {"rows": _jsonb(rows)})


def persist_facts(session: Session, events: Sequence[Any], lock: bool = True) -> None:
    """Store the facts of learning events (objects with id, type, timestamp, payload); idempotent.

    `lock=False` only for a caller that holds the learning tables exclusively (rebuild).
    """
    activity: list[dict[str, Any]] = []
    links: set[tuple[str, str]] = set()
    pairs: dict[tuple[str, str, str], dict[str, Any]] = {}
    grades: dict[tuple[int, str], dict[str, Any]] = {}
    class_standards: set[tuple[str, str, str]] = set()
    assignment_standards: set[tuple[str, str, str]] = set()
    standardless: list[int] = []
    for event in events:
        payload = event.payload
        class_id, student_id, assignment_id = payload["class_id"], payload["student_id"], payload["assignment_id"]
        score = _decimal(payload["score"]) if event.type == GRADED else None
        # The exact value of the float the reference rules average (Decimal(float) is exact).
        value = Decimal(float(payload["score"])) if event.type == GRADED else None
        activity.append({
            "event_pk": event.id, "class_id": class_id, "student_id": student_id, "assignment_id": assignment_id,
            "event_type": event.type, "standard_ids": list(payload["standard_ids"]), "score": score,
            "timestamp": event.timestamp,
        })
        if payload.get("teacher_id"):
            links.add((class_id, payload["teacher_id"]))
        pair = pairs.setdefault((class_id, student_id, assignment_id), {
            "class_id": class_id, "student_id": student_id, "assignment_id": assignment_id, "assigned": False,
            "grade_score": None, "grade_value": None, "grade_at": None, "grade_event_pk": None,
        })
        if event.type == ASSIGNED:
            pair["assigned"] = True
            assignment_standards.update((class_id, assignment_id, s) for s in payload["standard_ids"])
        if event.type == GRADED and not payload["standard_ids"]:
            standardless.append(event.id)
        if event.type == GRADED:
            candidate = {"timestamp": event.timestamp, "seq": event.id}
            if pair["grade_event_pk"] is None or order_key(candidate) > order_key(
                {"timestamp": pair["grade_at"], "seq": pair["grade_event_pk"]}
            ):
                pair.update(grade_score=score, grade_value=value, grade_at=event.timestamp,
                            grade_event_pk=event.id)
            # A standard listed twice on one event is one assessment of it.
            for standard_id in dict.fromkeys(payload["standard_ids"]):
                grades[(event.id, standard_id)] = {
                    "event_pk": event.id, "standard_id": standard_id, "student_id": student_id,
                    "class_id": class_id, "score": score, "graded_at": event.timestamp,
                }
                class_standards.add((class_id, standard_id, student_id))

    _insert_ignore(session, LearningActivity, activity)
    if links:
        _insert_ignore(session, LearningClassTeacher,
                       [{"class_id": c, "teacher_id": t} for c, t in sorted(links)])
    if grades:
        _insert_ignore(session, LearningGrade, [grades[k] for k in sorted(grades)])
        _insert_ignore(session, LearningClassStandard, [
            {"class_id": c, "standard_id": s, "student_id": u} for c, s, u in sorted(class_standards)
        ])
    # Last, so the class locks are held only while the pairs and aggregates change: a
    # recompute holding grade rows and waiting for a class lock never waits on this
    # transaction's grade inserts. Sorted keys: concurrent chains lock rows in one order.
    merge_pairs(session, [pairs[k] for k in sorted(pairs)], lock=lock)
    # Under the class locks, so a grade and its assignment's standards persisted by two
    # concurrent chains meet: whichever commits second sees the other's rows.
    if assignment_standards or standardless:
        session.execute(_GRADE_ON_ASSIGNMENT_STANDARDS, {
            "assigned": json.dumps([{"class_id": c, "assignment_id": a, "standard_id": s}
                                    for c, a, s in sorted(assignment_standards)]),
            "standardless": standardless,
        })


# SPEC §3.5: a grade naming no standard (an xAPI statement) is graded on the standards its
# class's assignment was assigned with, including those that arrive after it. One statement:
# record the chain's assignment standards; grade rows for (a) the standardless grades of
# (class, assignment)s that gained a standard and (b) the chain's standardless grades on
# the standards already known; the students' class standards. The rows are new
# (NOT EXISTS), so this never waits on a row a recompute is folding in.
_GRADE_ON_ASSIGNMENT_STANDARDS = text("""
WITH assigned AS (
    SELECT * FROM jsonb_to_recordset(CAST(:assigned AS jsonb)) AS x(class_id text, assignment_id text, standard_id text)
), recorded AS (
    INSERT INTO learning_assignment_standards (class_id, assignment_id, standard_id)
    SELECT class_id, assignment_id, standard_id FROM assigned ORDER BY class_id, assignment_id, standard_id
    ON CONFLICT DO NOTHING
    RETURNING class_id, assignment_id, standard_id
), wanted AS (
    SELECT a.event_pk, r.standard_id, a.student_id, a.class_id, a.score, a.timestamp
    FROM recorded r JOIN learning_activity a
      ON a.class_id = r.class_id AND a.assignment_id = r.assignment_id
     AND a.event_type = 'SUBMISSION_GRADED' AND a.standard_ids = '{}'
    UNION
    SELECT a.event_pk, s.standard_id, a.student_id, a.class_id, a.score, a.timestamp
    FROM learning_activity a JOIN learning_assignment_standards s
      ON s.class_id = a.class_id AND s.assignment_id = a.assignment_id
    WHERE a.event_pk = ANY(CAST(:standardless AS bigint[]))
), graded AS (
    INSERT INTO learning_grades (event_pk, standard_id, student_id, class_id, score, graded_at)
    SELECT w.event_pk, w.standard_id, w.student_id, w.class_id, w.score, w.timestamp FROM wanted w
    WHERE NOT EXISTS (SELECT 1 FROM learning_grades g WHERE g.event_pk = w.event_pk AND g.standard_id = w.standard_id)
    ORDER BY w.event_pk, w.standard_id
    ON CONFLICT DO NOTHING
    RETURNING 1
)
INSERT INTO learning_class_standards (class_id, standard_id, student_id)
SELECT DISTINCT class_id, standard_id, student_id FROM wanted ORDER BY class_id, standard_id, student_id
ON CONFLICT DO NOTHING
""")


# The grade facts not yet folded in are marked applied and added to the running
# totals in one statement; a concurrent duplicate run finds them applied and adds nothing.
# It answers the classes whose triage reads a mastery it changed: mastery is across
# classes, so a grade in class B moves low_mastery (and severity) of the same student in
# every class A where that student was graded on that standard.
_APPLY_GRADES = text("""
WITH fresh AS (
    UPDATE learning_grades SET applied = true
    -- One semi-join on the primary key (an OR of the two sets would scan every grade row).
    WHERE NOT applied AND event_pk IN (
        SELECT unnest(CAST(:event_pks AS bigint[]))
        UNION
        -- standardless grades of the chain's assignments, graded on standards that arrived after them
        SELECT a.event_pk FROM learning_activity a
        JOIN jsonb_to_recordset(CAST(:assigned AS jsonb)) AS x(class_id text, assignment_id text)
          ON a.class_id = x.class_id AND a.assignment_id = x.assignment_id
        WHERE a.event_type = 'SUBMISSION_GRADED' AND a.standard_ids = '{}')
    RETURNING student_id, standard_id, score, graded_at, event_pk
), latest AS (
    SELECT DISTINCT ON (student_id, standard_id) student_id, standard_id, score, graded_at, event_pk
    FROM fresh ORDER BY student_id, standard_id, graded_at DESC, event_pk DESC
), totals AS (
    SELECT student_id, standard_id, count(*) AS attempts, sum(score) AS score_total
    FROM fresh GROUP BY student_id, standard_id
), upserted AS (
    INSERT INTO learning_mastery AS m
        (student_id, standard_id, attempts, score_total, latest_score, latest_at, latest_event_pk, updated_at)
    SELECT t.student_id, t.standard_id, t.attempts, t.score_total, l.score, l.graded_at, l.event_pk, now()
    FROM totals t JOIN latest l USING (student_id, standard_id)
    ORDER BY t.student_id, t.standard_id
    ON CONFLICT (student_id, standard_id) DO UPDATE SET
        attempts = m.attempts + EXCLUDED.attempts,
        score_total = m.score_total + EXCLUDED.score_total,
        latest_score = CASE WHEN (EXCLUDED.latest_at, EXCLUDED.latest_event_pk) > (m.latest_at, m.latest_event_pk)
                            THEN EXCLUDED.latest_score ELSE m.latest_score END,
        latest_event_pk = CASE WHEN (EXCLUDED.latest_at, EXCLUDED.latest_event_pk) > (m.latest_at, m.latest_event_pk)
                               THEN EXCLUDED.latest_event_pk ELSE m.latest_event_pk END,
        latest_at = GREATEST(m.latest_at, EXCLUDED.latest_at),
        updated_at = now()
    RETURNING m.student_id, m.standard_id
)
SELECT DISTINCT cs.class_id
FROM upserted u JOIN learning_class_standards cs ON cs.student_id = u.student_id AND cs.standard_id = u.standard_id
""")


def apply_grades(session: Session, events: Sequence[Any]) -> list[str]:
    """Fold the grade facts of the events into learning_mastery, exactly once each (for an assignment,
    those of its standardless grades); return the classes (any class, not only the chain's) whose
    triage reads a mastery that changed."""
    event_pks = [e.id for e in events if e.type == GRADED]
    assigned = sorted({(e.payload["class_id"], e.payload["assignment_id"]) for e in events if e.type == ASSIGNED})
    if not event_pks and not assigned:
        return []
    return list(session.scalars(_APPLY_GRADES, {
        "event_pks": event_pks,
        "assigned": json.dumps([{"class_id": c, "assignment_id": a} for c, a in assigned]),
    }))


CLASS_LOCKS = "learning:class"


def lock_classes(session: Session, class_ids: Iterable[str]) -> None:
    """Serialize recomputes of a class: the later one reads after the earlier one commits."""
    lock_all(session, CLASS_LOCKS, class_ids)


# Per student of the classes: the aggregates, the class's assignment count, the scores
# of the student's two most recently graded pairs (two index reads each), and the number
# and exact sum of the latest scores of the standards the student was graded on in the
# class (mastery across classes: one row per such standard, not per grade).
_READ_AGGREGATES = text("""
SELECT s.class_id, s.student_id, s.assigned, s.graded_assigned, s.graded, s.score_sum,
       coalesce(t.assignment_count, 0) AS assignment_count,
       ARRAY(SELECT x.grade_score FROM (
                 SELECT p.grade_score, p.grade_at, p.grade_event_pk FROM learning_pairs p
                 WHERE p.class_id = s.class_id AND p.student_id = s.student_id AND p.grade_event_pk IS NOT NULL
                 ORDER BY p.grade_at DESC, p.grade_event_pk DESC LIMIT 2) x
             ORDER BY x.grade_at, x.grade_event_pk) AS last_two,
       coalesce(ms.standards, 0) AS mastery_standards, coalesce(ms.score_sum, 0) AS mastery_score_sum
FROM learning_class_students s
LEFT JOIN learning_class_totals t ON t.class_id = s.class_id
LEFT JOIN (SELECT cs.class_id, cs.student_id, count(*) AS standards, sum(m.latest_score) AS score_sum
           FROM learning_class_standards cs
           JOIN learning_mastery m ON m.student_id = cs.student_id AND m.standard_id = cs.standard_id
           WHERE cs.class_id = ANY(CAST(:class_ids AS text[]))
           GROUP BY cs.class_id, cs.student_id) ms ON ms.class_id = s.class_id AND ms.student_id = s.student_id
WHERE s.class_id = ANY(CAST(:class_ids AS text[]))
ORDER BY s.class_id, s.student_id
""")

# Upsert the rollups and the triage of the classes' students with a reason, and drop the
# rows of students who no longer have one, in one statement (the DELETE's rows are disjoint from the upserted ones).
_WRITE_VIEWS = text("""
WITH rollups AS (
    INSERT INTO learning_class_rollups AS r
        (class_id, student_count, assignment_count, completion_rate, average_score, updated_at)
    SELECT class_id, student_count, assignment_count, completion_rate, average_score, now()
    FROM jsonb_to_recordset(CAST(:rollups AS jsonb)) AS x(
        class_id text, student_count int, assignment_count int, completion_rate float8, average_score float8)
    ORDER BY class_id
    ON CONFLICT (class_id) DO UPDATE SET
        student_count = EXCLUDED.student_count, assignment_count = EXCLUDED.assignment_count,
        completion_rate = EXCLUDED.completion_rate, average_score = EXCLUDED.average_score, updated_at = now()
    RETURNING 1
), flags AS (
    SELECT * FROM jsonb_to_recordset(CAST(:flags AS jsonb)) AS x(
        class_id text, student_id text, reasons text[], details jsonb, severity int, priority text,
        explanations text[])
), upserted AS (
    INSERT INTO learning_risk_flags AS f (class_id, student_id, reasons, details, severity, priority, explanations)
    SELECT class_id, student_id, reasons, details, severity, priority, explanations FROM flags
    ORDER BY class_id, student_id
    ON CONFLICT (class_id, student_id) DO UPDATE SET
        reasons = EXCLUDED.reasons, details = EXCLUDED.details, severity = EXCLUDED.severity,
        priority = EXCLUDED.priority, explanations = EXCLUDED.explanations
    RETURNING 1
)
DELETE FROM learning_risk_flags f
WHERE f.class_id = ANY(CAST(:class_ids AS text[]))
  AND NOT EXISTS (SELECT 1 FROM flags x WHERE x.class_id = f.class_id AND x.student_id = f.student_id)
""")


def recompute_classes(session: Session, class_ids: Sequence[str]) -> None:
    """Rollup and triage of each class from its per-student aggregates: two statements for all classes."""
    class_ids = list(dict.fromkeys(class_ids))  # a class twice would be upserted twice in one statement
    if not class_ids:
        return
    settings = get_settings()
    students: dict[str, list[StudentAggregate]] = defaultdict(list)
    assignment_counts: dict[str, int] = {}
    for row in session.execute(_READ_AGGREGATES, {"class_ids": list(class_ids)}):
        assignment_counts[row.class_id] = row.assignment_count
        students[row.class_id].append(StudentAggregate(
            student_id=row.student_id, assigned=row.assigned, graded_assigned=row.graded_assigned,
            graded=row.graded, score_sum=row.score_sum,
            last_two_scores=tuple(float(score) for score in row.last_two),
            mastery_standards=row.mastery_standards, mastery_score_sum=row.mastery_score_sum,
        ))

    rollups: list[dict[str, Any]] = []
    flagged: list[dict[str, Any]] = []
    for class_id in class_ids:
        rows = students.get(class_id, [])
        rollup = rollup_from_aggregates(rows, assignment_counts.get(class_id, 0))
        rollups.append({
            "class_id": class_id, "student_count": rollup.student_count,
            "assignment_count": rollup.assignment_count, "completion_rate": rollup.completion_rate,
            "average_score": rollup.average_score,
        })
        triage = risk_flags_from_aggregates(rows, settings.risk_missing_threshold, settings.risk_low_mastery)
        flagged += [{"class_id": class_id, "student_id": student_id, **entry}
                    for student_id, entry in triage.items() if entry["reasons"]]
    session.execute(_WRITE_VIEWS, {"rollups": json.dumps(rollups), "flags": json.dumps(flagged),
                                   "class_ids": list(class_ids)})


def _facts(events: Sequence[Event]) -> list[Event]:
    return [e for e in events if e.type in FACT_TYPES]


def persist(session: Session, events: Sequence[Event]) -> None:
    """Persist stage: store the chain's facts."""
    persist_facts(session, _facts(events))


def recompute(session: Session, events: Sequence[Event]) -> None:
    """Recompute stage: mastery totals for the chain's grades, then the views of the chain's classes
    and of every other class whose triage reads a mastery that changed."""
    events = _facts(events)
    if not events:
        return
    graded = [e.id for e in events if e.type == GRADED]
    class_ids = sorted({e.payload["class_id"] for e in events} | set(apply_grades(session, events)))
    lock_classes(session, class_ids)
    recompute_classes(session, class_ids)
    if graded:
        metrics.inc("tutormax_recomputes", kind="mastery")
    metrics.inc("tutormax_recomputes", len(class_ids), kind="class_rollup")
    log.info("learning views recomputed", extra={"event_pks": [e.id for e in events][:20],
                                                  "grades": len(graded), "classes": len(class_ids)})


def rebuild_learning() -> str:
    """Recompute every learning view from the event log; the result equals incremental processing."""
    tables = ", ".join(model.__tablename__ for model in LEARNING_TABLES)
    classes: set[str] = set()
    count = 0
    with session_scope() as session:
        # TRUNCATE waits for in-flight learning transactions and blocks new ones until commit.
        session.execute(text(f"TRUNCATE {tables}"))
        # Events mid-chain whose persist already committed are replayed too: their own
        # recompute will then find their grades applied and only refresh the class.
        last_pk = 0
        while True:
            batch = session.execute(
                select(Event.id, Event.type, Event.timestamp, Event.payload)
                .where(Event.domain == "learning", Event.type.in_(FACT_TYPES), Event.id > last_pk, replayable())
                .order_by(Event.id).limit(REBUILD_BATCH)
            ).all()
            if not batch:
                break
            # The TRUNCATE's exclusive locks already keep every other writer out.
            persist_facts(session, batch, lock=False)
            apply_grades(session, batch)
            classes.update(e.payload["class_id"] for e in batch)
            count += len(batch)
            last_pk = batch[-1].id
        ordered = sorted(classes)
        for part in chunked(ordered, CLASS_CHUNK):
            recompute_classes(session, part)
    log.info("learning views rebuilt", extra={"events": count, "classes": len(classes)})
    return f"{count} events, {len(classes)} classes"


def repair_triage(session: Session, class_ids: list[str]) -> bool:
    """Pending work `learning_triage` (queued by migration 0009 for the classes it found): recompute them."""
    lock_classes(session, class_ids)
    recompute_classes(session, class_ids)
    return True


register("learning", persist=persist, recompute=recompute)
register_rebuild("learning", rebuild_learning)
register_repair(TRIAGE_KIND, repair_triage, lambda: get_settings().outbox_stale_seconds)
