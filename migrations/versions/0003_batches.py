"""batches: a dataset run as one job per row, rows idempotent by (batch, row id)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 19:45:00

``introspect run --dataset`` and ``POST /v1/batches`` (issue 18) create a batch and one job per row.
``jobs.batch_id``/``jobs.batch_row_id`` are unique together, so running the same dataset again finds
each row's job instead of adding one; trajectories are tagged through their job (export, eval and
the admin view filter by batch).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("graph", sa.String(length=100), nullable=False),
        sa.Column("config", JSON, nullable=False),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=True),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("api_key_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_keys.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_index("ix_batches_created", "batches", ["created_at", "id"], unique=False)
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("batch_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("batch_row_id", sa.String(length=200), nullable=True))
        batch.create_foreign_key("fk_jobs_batch_id", "batches", ["batch_id"], ["id"], ondelete="SET NULL")
        batch.create_unique_constraint("uq_jobs_batch_row", ["batch_id", "batch_row_id"])


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint("uq_jobs_batch_row", type_="unique")
        batch.drop_constraint("fk_jobs_batch_id", type_="foreignkey")
        batch.drop_column("batch_row_id")
        batch.drop_column("batch_id")
    op.drop_index("ix_batches_created", table_name="batches")
    op.drop_table("batches")
