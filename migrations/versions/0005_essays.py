"""Essay results: batch facts and the batch status view.

Revision ID: 0005_essays
Revises: 0004_tutoring
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005_essays"
down_revision = "0004_tutoring"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "essay_facts",
        sa.Column("event_pk", sa.BigInteger(), nullable=False),
        sa.Column("batch_id", sa.String(128), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("event_pk", name="pk_essay_facts"),
        sa.ForeignKeyConstraint(
            ["event_pk"], ["events.id"], name="fk_essay_facts_event_pk_events", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_essay_facts_batch_id", "essay_facts", ["batch_id"])
    op.create_table(
        "essay_batches",
        sa.Column("batch_id", sa.String(128), nullable=False),
        sa.Column("user_id", sa.String(128)),
        sa.Column("registered", sa.Boolean(), nullable=False),
        sa.Column("registered_event_pk", sa.BigInteger()),
        sa.Column("internal_status", sa.String(40), nullable=False),
        sa.Column("overall_status", sa.String(40), nullable=False),
        sa.Column("current_phase", sa.String(32)),
        sa.Column("essay_count", sa.Integer(), nullable=False),
        sa.Column("completed_essay_count", sa.Integer(), nullable=False),
        sa.Column("failed_essay_count", sa.Integer(), nullable=False),
        sa.Column("error_detail", postgresql.JSONB()),
        sa.Column("created_at", sa.DateTime(timezone=True)),
        sa.Column("last_updated", sa.DateTime(timezone=True)),
        sa.Column("processing_started_at", sa.DateTime(timezone=True)),
        sa.Column("processing_completed_at", sa.DateTime(timezone=True)),
        sa.Column("response", postgresql.JSONB(), nullable=False),
        sa.Column("last_event_pk", sa.BigInteger(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("batch_id", name="pk_essay_batches"),
    )
    op.create_index("ix_essay_batches_user_created", "essay_batches", ["user_id", "created_at"])
    op.create_index(
        "ix_essay_batches_user_status_created", "essay_batches", ["user_id", "overall_status", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_essay_batches_user_status_created", table_name="essay_batches")
    op.drop_index("ix_essay_batches_user_created", table_name="essay_batches")
    op.drop_table("essay_batches")
    op.drop_index("ix_essay_facts_batch_id", table_name="essay_facts")
    op.drop_table("essay_facts")
