"""Pending work: what a later step still owes an event, kept in PostgreSQL.

A debounced tutor-metrics recompute and an essay-cache invalidation used to live only
in Redis (a lock, a dirty mark, a countdown message, the after-commit call). A row
here is written in the same transaction that marks the event processed and removed
by the step that does the work; the outbox sweeper repairs rows past `due_at`, so a
Redis wipe delays that work instead of losing it. `token` names the latest request
of a row that its own requester settles (only while no later request replaced it).

Revision ID: 0008_pending_work
Revises: 0007_outbox_claims
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_pending_work"
down_revision = "0007_outbox_claims"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_work",
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("subject_id", sa.Text(), primary_key=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("token", sa.String(32), nullable=True),
    )
    op.create_index("ix_pending_work_due_at", "pending_work", ["due_at"])
    op.create_index("ix_pending_work_token", "pending_work", ["token"], postgresql_where=sa.text("token IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_pending_work_token", table_name="pending_work")
    op.drop_index("ix_pending_work_due_at", table_name="pending_work")
    op.drop_table("pending_work")
