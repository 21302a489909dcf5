"""establishments: the DfE's URN (a renamed school stays the same establishment) and closure

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("establishments") as batch:
        batch.add_column(sa.Column("urn", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("closed_on", sa.Date(), nullable=True))
        batch.create_unique_constraint(op.f("uq_establishments_urn"), ["urn"])


def downgrade() -> None:
    with op.batch_alter_table("establishments") as batch:
        batch.drop_constraint(op.f("uq_establishments_urn"), type_="unique")
        batch.drop_column("closed_on")
        batch.drop_column("urn")
