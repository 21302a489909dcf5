"""column maps made on the imports page, saved under the heading row they read

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "column_maps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("row_hash", sa.String(length=64), nullable=False),
        sa.Column("headings", sa.Text(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("saved_by", sa.String(length=320), nullable=False),
        sa.Column("saved_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_column_maps")),
        sa.UniqueConstraint("row_hash", name=op.f("uq_column_maps_row_hash")),
    )


def downgrade() -> None:
    op.drop_table("column_maps")
