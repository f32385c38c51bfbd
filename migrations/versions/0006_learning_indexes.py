"""Learning: per-(class, student) and per-class aggregates of the pairs, and the indexes the recompute reads.

Adds `learning_pairs.grade_value` (the exact value of float(grade_score)), the tables
`learning_class_students` and `learning_class_totals`, and two indexes on `learning_pairs`;
fills all of them from the existing pairs, so no rebuild is needed.

Revision ID: 0006_learning_indexes
Revises: 0005_essays
"""

import json
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision = "0006_learning_indexes"
down_revision = "0005_essays"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("learning_pairs", sa.Column("grade_value", sa.Numeric()))
    bind = op.get_bind()
    # Few distinct scores: map each one to its float's exact value in one statement.
    scores = bind.execute(sa.text(
        "SELECT DISTINCT grade_score FROM learning_pairs WHERE grade_score IS NOT NULL")).scalars().all()
    if scores:
        mapping = [{"score": str(s), "value": str(Decimal(float(s)))} for s in scores]
        bind.execute(sa.text("""
            UPDATE learning_pairs p SET grade_value = m.value
            FROM jsonb_to_recordset(CAST(:mapping AS jsonb)) AS m(score numeric, value numeric)
            WHERE p.grade_score = m.score
        """), {"mapping": json.dumps(mapping)})

    op.create_index("ix_learning_pairs_class_assignment", "learning_pairs", ["class_id", "assignment_id"])
    op.create_index("ix_learning_pairs_class_student_graded", "learning_pairs",
                    ["class_id", "student_id", "grade_at", "grade_event_pk"],
                    postgresql_where=sa.text("grade_event_pk IS NOT NULL"))

    op.create_table(
        "learning_class_students",
        sa.Column("class_id", sa.String(128), nullable=False),
        sa.Column("student_id", sa.String(128), nullable=False),
        sa.Column("assigned", sa.Integer(), nullable=False),
        sa.Column("graded_assigned", sa.Integer(), nullable=False),
        sa.Column("graded", sa.Integer(), nullable=False),
        sa.Column("score_sum", sa.Numeric(), nullable=False),
        sa.PrimaryKeyConstraint("class_id", "student_id", name="pk_learning_class_students"),
    )
    op.create_table(
        "learning_class_totals",
        sa.Column("class_id", sa.String(128), nullable=False),
        sa.Column("assignment_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("class_id", name="pk_learning_class_totals"),
    )
    op.execute("""
        INSERT INTO learning_class_students (class_id, student_id, assigned, graded_assigned, graded, score_sum)
        SELECT class_id, student_id,
               count(*) FILTER (WHERE assigned),
               count(*) FILTER (WHERE assigned AND grade_event_pk IS NOT NULL),
               count(*) FILTER (WHERE grade_event_pk IS NOT NULL),
               coalesce(sum(grade_value) FILTER (WHERE grade_event_pk IS NOT NULL), 0)
        FROM learning_pairs GROUP BY class_id, student_id
    """)
    op.execute("""
        INSERT INTO learning_class_totals (class_id, assignment_count)
        SELECT class_id, count(DISTINCT assignment_id) FROM learning_pairs GROUP BY class_id
    """)


def downgrade() -> None:
    op.drop_table("learning_class_totals")
    op.drop_table("learning_class_students")
    op.drop_index("ix_learning_pairs_class_student_graded", table_name="learning_pairs")
    op.drop_index("ix_learning_pairs_class_assignment", table_name="learning_pairs")
    op.drop_column("learning_pairs", "grade_value")
