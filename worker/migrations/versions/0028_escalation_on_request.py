"""an escalation on request takes effect at its moment: the local time of an event that acts
at once

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-08 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column, added in place (SQLite too: no table is copied).
    op.add_column("obligation_events", sa.Column("at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("obligation_events", "at")
