"""Learning migrations that fill what they add from the data already stored, so no rebuild is needed:
0006 (the aggregates) and 0009 (the triage, through pending work the sweeper does)."""

from __future__ import annotations

from decimal import Decimal, localcontext

from alembic import command
from sqlalchemy import create_engine, text

from tests.helpers import scratch_database
from tutormax.migrate import alembic_config


def test_upgrade_fills_the_aggregates_from_existing_pairs(stack):
    with scratch_database(stack, "tutormax_learning_backfill") as url:
        engine = create_engine(url)
        try:
            command.upgrade(alembic_config(), "0005_essays")
            with engine.begin() as conn:
                # Class C: u1 assigned a1 (graded 0.1) and a2 (ungraded), graded 0.2 on a3 unassigned;
                # u2 has only a created submission on a4.
                conn.execute(text("""
                    INSERT INTO learning_pairs (class_id, student_id, assignment_id, assigned, grade_score, grade_at,
                                                grade_event_pk) VALUES
                    ('C', 'u1', 'a1', true, 0.1, '2026-09-01T09:00Z', 1),
                    ('C', 'u1', 'a2', true, NULL, NULL, NULL),
                    ('C', 'u1', 'a3', false, 0.2, '2026-09-01T10:00Z', 2),
                    ('C', 'u2', 'a4', false, NULL, NULL, NULL)
                """))
            command.upgrade(alembic_config(), "head")
            with engine.connect() as conn:
                students = conn.execute(text(
                    "SELECT student_id, assigned, graded_assigned, graded, score_sum FROM learning_class_students "
                    "WHERE class_id = 'C' ORDER BY student_id")).all()
                totals = conn.execute(text("SELECT assignment_count FROM learning_class_totals WHERE class_id = 'C'"))
                values = conn.execute(text(
                    "SELECT assignment_id, grade_value FROM learning_pairs ORDER BY assignment_id")).all()
            # grade_value is the exact value of each score's float; u1's sum is theirs.
            exact = {"a1": Decimal(0.1), "a2": None, "a3": Decimal(0.2), "a4": None}
            assert dict(values) == exact
            with localcontext() as ctx:
                ctx.prec = 200  # the exact sum: both expansions have about 55 digits
                u1_sum = Decimal(0.1) + Decimal(0.2)
            assert [tuple(s) for s in students] == [("u1", 2, 1, 2, u1_sum), ("u2", 0, 0, 0, 0)]
            assert totals.scalar_one() == 4
            command.downgrade(alembic_config(), "0005_essays")
            with engine.connect() as conn:
                assert conn.execute(text("SELECT to_regclass('learning_class_students')")).scalar_one() is None
        finally:
            engine.dispose()


def test_upgrade_queues_every_class_for_triage_and_the_sweeper_computes_it(stack):
    import tutormax.tasks.learning  # noqa: F401  (registers the `learning_triage` repair)
    from tutormax.db import dispose_engine

    with scratch_database(stack, "tutormax_learning_triage") as url:
        # The sweeper's repair runs through the app's engine: start a fresh one on the scratch database.
        dispose_engine()
        engine = create_engine(url)
        try:
            _triage_backfill(engine)
        finally:
            engine.dispose()


def _triage_backfill(engine) -> None:
    """Class C stored by 0008, upgraded to head, then the sweeper's repair."""
    from tutormax.tasks.maintenance import repair_pending_work

    command.upgrade(alembic_config(), "0008_pending_work")
    with engine.begin() as conn:
        # Class C as 0008 stored it: u1 assigned a1 and a2, graded 30 (S1, 09:00) and 40 (S2, 10:00);
        # u2 assigned both, nothing graded, flagged by the seed's rules.
        conn.execute(text("""
            INSERT INTO learning_pairs (class_id, student_id, assignment_id, assigned, grade_score, grade_value,
                                        grade_at, grade_event_pk) VALUES
            ('C', 'u1', 'a1', true, 30, 30, '2026-09-01T09:00Z', 1),
            ('C', 'u1', 'a2', true, 40, 40, '2026-09-01T10:00Z', 2),
            ('C', 'u2', 'a1', true, NULL, NULL, NULL, NULL),
            ('C', 'u2', 'a2', true, NULL, NULL, NULL, NULL);
            INSERT INTO learning_class_students VALUES ('C', 'u1', 2, 2, 2, 70), ('C', 'u2', 2, 0, 0, 0);
            INSERT INTO learning_class_totals VALUES ('C', 2);
            INSERT INTO learning_class_standards VALUES ('C', 'S1', 'u1'), ('C', 'S2', 'u1');
            INSERT INTO learning_mastery (student_id, standard_id, attempts, score_total, latest_score, latest_at,
                                          latest_event_pk) VALUES
            ('u1', 'S1', 1, 30, 30, '2026-09-01T09:00Z', 1), ('u1', 'S2', 1, 40, 40, '2026-09-01T10:00Z', 2);
            INSERT INTO learning_risk_flags VALUES
            ('C', 'u2', '{missing_submissions,completion_below_median}', '{}');
        """))
    command.upgrade(alembic_config(), "head")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT kind, subject_id FROM pending_work")).all() == [("learning_triage", "C")]
        # Until the sweeper comes: the defaults.
        assert conn.execute(text("SELECT student_id, severity, priority, explanations FROM learning_risk_flags"
                                 )).all() == [("u2", 0, "low", [])]

    assert repair_pending_work(budget_seconds=5) == {"learning_triage": 1}
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT student_id, reasons, severity, priority, explanations "
                                 "FROM learning_risk_flags ORDER BY severity DESC")).all()
        assert conn.execute(text("SELECT count(*) FROM pending_work")).scalar_one() == 0
    # Rates u1 1, u2 0 → median 0.5. u2: m 1 → 35, c 0.5 → 10 → 45, high.
    # u1: 30 → 40 is no drop; mean mastery (0.3 + 0.4)/2 = 0.35 < 0.6; k 0.35/0.7 = 0.5 → 12.5 → 13 (half up).
    assert [tuple(r) for r in rows] == [
        ("u2", ["missing_submissions", "completion_below_median"], 45, "high",
         ["2 of 2 assigned pairs not graded", "completion 0 % vs class median 50 %"]),
        ("u1", ["low_mastery"], 13, "low", ["mean mastery 35 % over 2 standards"]),
    ]
    command.downgrade(alembic_config(), "0008_pending_work")
    with engine.connect() as conn:
        # The older release's rows: the seed's reasons only; u1 (low_mastery only) is gone.
        assert conn.execute(text("SELECT student_id, reasons FROM learning_risk_flags")).all() == [
            ("u2", ["missing_submissions", "completion_below_median"])]
