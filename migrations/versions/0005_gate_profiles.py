"""gate profiles: a calibrated gate per scorer model, versioned, one active per model

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 19:50:00

Issue 17.4: the gate's thresholds were constants tuned on the demo model. A profile holds the
GatePolicy keys a calibration derived from one model's verified attempts, its learned correctness
predictor (JSON parameters) and the held-out figures that justify them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "gate_profiles",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("weights_hash", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("policy", JSON, nullable=False),
        sa.Column("predictor", JSON, nullable=True),
        sa.Column("figures", JSON, nullable=False),
        sa.Column("meets_target", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("model_name", "weights_hash", "version", name="uq_gate_profiles_version"),
    )
    op.create_index(
        "uq_gate_profiles_active",
        "gate_profiles",
        ["model_name", "weights_hash"],
        unique=True,
        postgresql_where=sa.text("active"),
        sqlite_where=sa.text("active"),
    )


def downgrade() -> None:
    op.drop_index("uq_gate_profiles_active", table_name="gate_profiles")
    op.drop_table("gate_profiles")
