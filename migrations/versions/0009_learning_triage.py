"""Learning triage: severity, priority and explanations on the risk rows; an index to find the classes
whose triage a student's mastery on a standard feeds.

The new columns start at their defaults (severity 0, `low`, no explanations) and students flagged
only for the new `low_mastery` reason have no row yet, so every existing class is queued as pending
work `learning_triage`, due at once: the outbox sweeper (beat) recomputes them in chunks of 200 within
its first runs after the upgrade, and no rebuild is needed.

Revision ID: 0009_learning_triage
Revises: 0008_pending_work
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009_learning_triage"
down_revision = "0008_pending_work"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("learning_risk_flags",
                  sa.Column("severity", sa.Integer(), nullable=False, server_default=sa.text("0")))
    op.add_column("learning_risk_flags",
                  sa.Column("priority", sa.String(8), nullable=False, server_default=sa.text("'low'")))
    op.add_column("learning_risk_flags",
                  sa.Column("explanations", postgresql.ARRAY(sa.Text()), nullable=False,
                            server_default=sa.text("'{}'")))
    op.create_index("ix_learning_class_standards_student_standard", "learning_class_standards",
                    ["student_id", "standard_id"])
    op.execute("""
        INSERT INTO pending_work (kind, subject_id, due_at)
        SELECT 'learning_triage', class_id, now() FROM learning_class_totals
        ON CONFLICT (kind, subject_id) DO NOTHING
    """)


def downgrade() -> None:
    op.execute("DELETE FROM pending_work WHERE kind = 'learning_triage'")
    # The older release knows only the seed's three reasons.
    op.execute("UPDATE learning_risk_flags SET reasons = array_remove(reasons, 'low_mastery') "
               "WHERE 'low_mastery' = ANY(reasons)")
    op.execute("DELETE FROM learning_risk_flags WHERE cardinality(reasons) = 0")
    op.drop_index("ix_learning_class_standards_student_standard", table_name="learning_class_standards")
    op.drop_column("learning_risk_flags", "explanations")
    op.drop_column("learning_risk_flags", "priority")
    op.drop_column("learning_risk_flags", "severity")
