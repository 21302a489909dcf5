"""each periodic job's last start, success and failure; what the dead-man alarm did per period

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("succeeded_at", sa.DateTime(), nullable=True),
        sa.Column("failed_at", sa.DateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "digest_watch",
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("started_pinged_at", sa.DateTime(), nullable=True),
        sa.Column("sent_pinged_at", sa.DateTime(), nullable=True),
        sa.Column("alarm_at", sa.DateTime(), nullable=True),
        sa.Column("alarm", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("period"),
    )


def downgrade() -> None:
    op.drop_table("digest_watch")
    op.drop_table("job_runs")
