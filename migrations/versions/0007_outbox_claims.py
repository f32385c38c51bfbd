"""Outbox claims: the doorbell dispatch lets a chain claim the unclaimed outbox rows of its domain.

`outbox.claimed_at` is NULL while an event waits for a chain to pick it up and is set
when one does (in the same transaction as that chain's validate stage). The partial
index keeps the claim statement, `… WHERE domain = :d AND claimed_at IS NULL ORDER BY
event_pk LIMIT n FOR UPDATE SKIP LOCKED`, an index scan however long the outbox grows.
Rows that exist at upgrade time are left unclaimed: a chain started by the next ring,
or by the sweeper, picks them up.

Revision ID: 0007_outbox_claims
Revises: 0006_learning_indexes
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_outbox_claims"
down_revision = "0006_learning_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_outbox_unclaimed", "outbox", ["domain", "event_pk"],
                    postgresql_where=sa.text("claimed_at IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_outbox_unclaimed", table_name="outbox")
    op.drop_column("outbox", "claimed_at")
