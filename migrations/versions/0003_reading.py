"""Reading: catalog, checkouts, reading profiles and their stream outbox.

Revision ID: 0003_reading
Revises: 0002_learning
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003_reading"
down_revision = "0002_learning"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reading_books",
        sa.Column("book_id", sa.String(128), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("author", sa.Text()),
        sa.Column("reading_level", sa.Float()),
        sa.Column("difficulty_band", sa.String(32)),
        sa.Column("band", sa.String(32)),
        sa.Column("cataloged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_pk", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("book_id", name="pk_reading_books"),
    )
    op.create_table(
        "reading_checkouts",
        sa.Column("event_pk", sa.BigInteger(), nullable=False),
        sa.Column("student_id", sa.String(128), nullable=False),
        sa.Column("book_id", sa.String(128), nullable=False),
        sa.Column("checked_out_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_pk", name="pk_reading_checkouts"),
    )
    op.create_index("ix_reading_checkouts_student_id", "reading_checkouts", ["student_id"])
    op.create_index("ix_reading_checkouts_book_id_student_id", "reading_checkouts", ["book_id", "student_id"])
    op.create_table(
        "reading_profiles",
        sa.Column("student_id", sa.String(128), nullable=False),
        sa.Column("histogram", postgresql.JSONB(), nullable=False),
        sa.Column("total_checkouts", sa.Integer(), nullable=False),
        sa.Column("unbanded_checkouts", sa.Integer(), nullable=False),
        sa.Column("dominant_band", sa.String(32)),
        sa.Column("recent_band", sa.String(32)),
        sa.Column("trend", sa.String(32), nullable=False),
        sa.Column("stability", sa.Numeric(3, 2)),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("student_id", name="pk_reading_profiles"),
    )
    op.create_table(
        "reading_profile_publications",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("student_id", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("event_pk", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_reading_profile_publications"),
    )


def downgrade() -> None:
    op.drop_table("reading_profile_publications")
    op.drop_table("reading_profiles")
    op.drop_index("ix_reading_checkouts_book_id_student_id", table_name="reading_checkouts")
    op.drop_index("ix_reading_checkouts_student_id", table_name="reading_checkouts")
    op.drop_table("reading_checkouts")
    op.drop_table("reading_books")
