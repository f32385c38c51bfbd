"""Migration 0006 fills the learning aggregates from the pairs already stored, so no rebuild is needed."""

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
