"""xAPI statements (SPEC §3.5): the standards of each class's assignment, for grades that name none.

`learning_assignment_standards` is filled from the assignments already stored, so a
standardless grade that arrives after the upgrade finds its assignment's standards; the
partial index finds such grades when their assignment's standards arrive later.

Revision ID: 0011_xapi
Revises: 0010_privacy
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_xapi"
down_revision = "0010_privacy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "learning_assignment_standards",
        sa.Column("class_id", sa.String(128), nullable=False),
        sa.Column("assignment_id", sa.String(128), nullable=False),
        sa.Column("standard_id", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("class_id", "assignment_id", "standard_id", name="pk_learning_assignment_standards"),
    )
    op.create_index("ix_learning_activity_standardless_grades", "learning_activity", ["class_id", "assignment_id"],
                    postgresql_where=sa.text("event_type = 'SUBMISSION_GRADED' AND standard_ids = '{}'"))
    op.execute("""
        INSERT INTO learning_assignment_standards (class_id, assignment_id, standard_id)
        SELECT DISTINCT class_id, assignment_id, unnest(standard_ids) FROM learning_activity
        WHERE event_type = 'ASSIGNMENT_ASSIGNED'
        ON CONFLICT DO NOTHING
    """)


def downgrade() -> None:
    op.drop_index("ix_learning_activity_standardless_grades", table_name="learning_activity")
    op.drop_table("learning_assignment_standards")
