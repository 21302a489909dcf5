"""each MI sheet keeps the lines announcing a session that could not be read, for the
business manager

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mi_sheets") as batch:
        batch.add_column(
            sa.Column("unread_sessions", sa.JSON(), server_default="[]", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("mi_sheets") as batch:
        batch.drop_column("unread_sessions")
