"""organisation sign-in (OpenID Connect): the flows under way, and how each session began

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_flows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("browser_hash", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("taken_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_flows")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_sign_in_flows_state_hash")),
    )
    op.create_index(op.f("ix_sign_in_flows_expires_at"), "sign_in_flows", ["expires_at"])
    with op.batch_alter_table("console_sessions") as batch:
        batch.add_column(sa.Column("signed_in_with", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("console_sessions") as batch:
        batch.drop_column("signed_in_with")
    op.drop_index(op.f("ix_sign_in_flows_expires_at"), table_name="sign_in_flows")
    op.drop_table("sign_in_flows")
