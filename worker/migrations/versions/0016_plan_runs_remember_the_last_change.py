"""each planned period remembers the last stage change it knew of: a change written after it
(an import, an event or a rules change assessed at once) is news to the next period

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("plan_runs") as batch:
        batch.add_column(sa.Column("changes_upto", sa.Integer(), nullable=True))
    # Until now every change of a day was written by that day's plan or before it.
    op.execute(
        "UPDATE plan_runs SET changes_upto = (SELECT max(s.id) FROM stage_changes s "
        'WHERE s."on" <= plan_runs.period)'
    )


def downgrade() -> None:
    with op.batch_alter_table("plan_runs") as batch:
        batch.drop_column("changes_upto")
