"""planning reads what changed: document syncs only when the documents moved; plan reach

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "document_syncs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.Column("ran_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_syncs")),
    )
    with op.batch_alter_table("plan_runs") as batch:
        batch.add_column(sa.Column("reach", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plan_runs") as batch:
        batch.drop_column("reach")
    op.drop_table("document_syncs")
