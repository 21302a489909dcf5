"""import history, the tracker's RAG, and target dates still to be set

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-25 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("by", sa.String(length=320), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("refused", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imports")),
    )
    op.create_index(op.f("ix_imports_at"), "imports", ["at"])
    op.create_index(op.f("ix_imports_sha256"), "imports", ["sha256"])
    with op.batch_alter_table("actions") as batch:
        batch.add_column(sa.Column("rag", sa.String(length=40), server_default="", nullable=False))
        batch.add_column(
            sa.Column("date_to_set", sa.String(length=3), server_default="", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("actions") as batch:
        batch.drop_column("date_to_set")
        batch.drop_column("rag")
    op.drop_index(op.f("ix_imports_sha256"), table_name="imports")
    op.drop_index(op.f("ix_imports_at"), table_name="imports")
    op.drop_table("imports")
