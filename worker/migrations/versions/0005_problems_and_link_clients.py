"""obligation problems and link clients

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("obligations") as batch:
        batch.add_column(sa.Column("problem", sa.Text(), nullable=True))
        batch.add_column(sa.Column("problem_since", sa.Date(), nullable=True))
    with op.batch_alter_table("link_uses") as batch:
        batch.add_column(sa.Column("client", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("user_agent", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("link_uses") as batch:
        batch.drop_column("user_agent")
        batch.drop_column("client")
    with op.batch_alter_table("obligations") as batch:
        batch.drop_column("problem_since")
        batch.drop_column("problem")
