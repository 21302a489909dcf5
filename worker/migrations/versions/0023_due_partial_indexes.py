"""the daily run asks whether anything is due of two partial indexes, over open items only

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 20:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("pending")  # as each dialect writes a boolean term
PENDING_SQLITE = sa.text("pending = 1")
OPEN = sa.text("resolved_on IS NULL")


def upgrade() -> None:
    op.drop_index("ix_obligations_pending", table_name="obligations")
    op.drop_index("ix_obligations_next_change", table_name="obligations")
    op.create_index("ix_obligations_due_pending", "obligations", ["id"],
                    sqlite_where=PENDING_SQLITE, postgresql_where=PENDING)  # fmt: skip
    op.create_index("ix_obligations_due_next_change", "obligations", ["next_change"],
                    sqlite_where=OPEN, postgresql_where=OPEN)  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_obligations_due_next_change", table_name="obligations")
    op.drop_index("ix_obligations_due_pending", table_name="obligations")
    op.create_index("ix_obligations_next_change", "obligations", ["next_change"])
    op.create_index("ix_obligations_pending", "obligations", ["pending"])
