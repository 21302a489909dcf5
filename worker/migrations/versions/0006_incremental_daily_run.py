"""incremental daily run: each obligation's next change, pending work, the runs themselves

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("obligations") as batch:
        batch.add_column(sa.Column("next_change", sa.Date(), nullable=True))
        # Existing rows have never been through an incremental run: all are pending.
        batch.add_column(
            sa.Column("pending", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.create_index("ix_obligations_next_change", ["next_change"])
        batch.create_index("ix_obligations_pending", ["pending"])
    op.create_table(
        "daily_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rules", sa.String(length=64), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("assessed", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("ran_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_runs")),
        sa.UniqueConstraint("day", name=op.f("uq_daily_runs_day")),
    )


def downgrade() -> None:
    op.drop_table("daily_runs")
    with op.batch_alter_table("obligations") as batch:
        batch.drop_index("ix_obligations_pending")
        batch.drop_index("ix_obligations_next_change")
        batch.drop_column("pending")
        batch.drop_column("next_change")
