"""Privacy: tombstones of erased people and the erasure audit (SPEC §4 "Privacy").

Revision ID: 0010_privacy
Revises: 0009_learning_triage
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010_privacy"
down_revision = "0009_learning_triage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "privacy_tombstones",
        sa.Column("subject_hash", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("subject_hash", name="pk_privacy_tombstones"),
    )
    op.create_table(
        "privacy_erasures",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject_hash", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(128), nullable=True),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(16), server_default="pending", nullable=False),
        sa.Column("counts", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_privacy_erasures"),
    )
    op.create_index("ix_privacy_erasures_subject_hash", "privacy_erasures", ["subject_hash"])


def downgrade() -> None:
    op.drop_index("ix_privacy_erasures_subject_hash", table_name="privacy_erasures")
    op.drop_table("privacy_erasures")
    op.drop_table("privacy_tombstones")
