"""digests reported as spam are found by their receipt: an index on deliveries.receipt, which
the overview counts on every visit

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-08 02:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_deliveries_receipt", "deliveries", ["receipt"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_receipt", table_name="deliveries")
