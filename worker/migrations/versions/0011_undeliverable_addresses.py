"""undeliverable addresses: refused for good by the relay, their digests held until corrected

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "undeliverable_addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("corrected_at", sa.DateTime(), nullable=True),
        sa.Column("corrected_to", sa.String(length=320), nullable=True),
        sa.Column("corrected_by", sa.String(length=320), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_undeliverable_addresses_delivery_id_deliveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_undeliverable_addresses")),
    )
    op.create_index(op.f("ix_undeliverable_addresses_address"), "undeliverable_addresses",
                    ["address"])  # fmt: skip


def downgrade() -> None:
    op.drop_index(op.f("ix_undeliverable_addresses_address"), "undeliverable_addresses")
    op.drop_table("undeliverable_addresses")
