"""an action's obligation knows which of the action's leads it is, as the document writes it

Its identity within the action, kept when the directory changes which agency that lead is.
Filled in from the keys the obligations had: `action:A:lead:P` names the lead at position P,
`action:A:agency:G` the action's first lead resolved to agency G.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 19:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("obligations") as batch:
        batch.add_column(sa.Column("document_lead", sa.String(length=200), nullable=True))
    bind = op.get_bind()
    leads = bind.execute(sa.text("SELECT action_id, position, name, agency_id FROM action_leads"))
    by_position: dict[str, str] = {}
    by_agency: dict[str, str] = {}
    for action_id, position, name, agency_id in sorted(leads, key=lambda r: (r[0], r[1])):
        by_position[f"action:{action_id}:lead:{position}"] = name
        by_agency.setdefault(f"action:{action_id}:agency:{agency_id}", name)
    rows = bind.execute(sa.text("SELECT id, key FROM obligations WHERE action_id IS NOT NULL"))
    for row_id, key in list(rows):
        name = by_position.get(key) or by_agency.get(key)
        if name is not None:
            bind.execute(sa.text("UPDATE obligations SET document_lead = :name WHERE id = :id"),
                         {"name": name, "id": row_id})  # fmt: skip


def downgrade() -> None:
    with op.batch_alter_table("obligations") as batch:
        batch.drop_column("document_lead")
