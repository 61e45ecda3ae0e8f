"""index turns by (trajectory_id, decision_action, model) for the admin list filters

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 11:00:00

The admin trajectory list filters by "a turn of this trajectory took decision X / used model Y" with
an EXISTS probe per trajectory, walking trajectories newest first. With only the (trajectory_id,
index) key each probe reads the turn rows from the heap; with this index it is answered from the
index. bench/admin_list.py, 100k trajectories: a rare decision's page 60 ms -> 18 ms (3.3x).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_turns_trajectory_decision_model",
        "turns",
        ["trajectory_id", "decision_action", "model"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_turns_trajectory_decision_model", table_name="turns")
