"""an overdue item's ladder may start on its import day: the stage its first step enters, on
the event that starts it and on the plan or sheet whose import chose it

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("plans", "mi_sheets")


def upgrade() -> None:
    # Nullable columns, added in place (SQLite too: no table is copied).
    op.add_column("obligation_events", sa.Column("stage", sa.Integer(), nullable=True))
    for table in TABLES:
        op.add_column(table, sa.Column("ladder_start_stage", sa.Integer(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        op.drop_column(table, "ladder_start_stage")
    op.drop_column("obligation_events", "stage")
