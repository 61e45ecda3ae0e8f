"""agent_threads and agent_thread_runs: LangGraph Agent Protocol threads holding jobs as runs

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 19:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "agent_threads",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("metadata", _JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_agent_threads_created", "agent_threads", ["created_at", "id"], unique=False)
    op.create_table(
        "agent_thread_runs",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("thread_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["thread_id"], ["agent_threads.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id"),
    )
    op.create_index(
        "ix_agent_thread_runs_thread", "agent_thread_runs", ["thread_id", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_agent_thread_runs_thread", table_name="agent_thread_runs")
    op.drop_table("agent_thread_runs")
    op.drop_index("ix_agent_threads_created", table_name="agent_threads")
    op.drop_table("agent_threads")
