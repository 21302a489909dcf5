"""console indexes: open items by stage, items by lead and document, events by item

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("obligations", ("resolved_on", "stage"), "ix_obligations_resolved_on_stage"),
    ("obligations", ("kind",), "ix_obligations_kind"),
    ("obligations", ("problem_since",), "ix_obligations_problem_since"),
    ("obligations", ("action_id",), "ix_obligations_action_id"),
    ("obligations", ("mi_sheet_id",), "ix_obligations_mi_sheet_id"),
    ("obligations", ("agency_id",), "ix_obligations_agency_id"),
    ("obligations", ("establishment_id",), "ix_obligations_establishment_id"),
    ("obligation_events", ("obligation_id",), "ix_obligation_events_obligation_id"),
    ("stage_changes", ("obligation_id",), "ix_stage_changes_obligation_id"),
    ("action_leads", ("agency_id",), "ix_action_leads_agency_id"),
    ("contacts", ("agency_id",), "ix_contacts_agency_id"),
)


def upgrade() -> None:
    for table, columns, name in INDEXES:
        op.create_index(name, table, list(columns))


def downgrade() -> None:
    for table, _, name in reversed(INDEXES):
        op.drop_index(name, table_name=table)
