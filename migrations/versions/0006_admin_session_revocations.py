"""admin_session_revocations: admin sessions ended at logout, kept until they would have expired

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 20:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "admin_session_revocations",
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_id"),
    )
    op.create_index("ix_admin_session_revocations_expires", "admin_session_revocations", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_admin_session_revocations_expires", table_name="admin_session_revocations")
    op.drop_table("admin_session_revocations")
