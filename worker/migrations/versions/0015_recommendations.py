"""recommendations of reviews, from their learning briefings, and their obligations

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-25 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recommendations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review", sa.String(length=200), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source_file", sa.String(length=500), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=True),
        sa.Column("linked_by", sa.String(length=320), nullable=True),
        sa.Column("linked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["action_id"], ["actions.id"], name=op.f("fk_recommendations_action_id_actions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendations")),
        sa.UniqueConstraint("review", "number", name=op.f("uq_recommendations_review")),
    )
    op.create_index(op.f("ix_recommendations_action_id"), "recommendations", ["action_id"])
    with op.batch_alter_table("obligations") as batch:
        batch.add_column(sa.Column("recommendation_id", sa.Integer(), nullable=True))
        batch.create_index(op.f("ix_obligations_recommendation_id"), ["recommendation_id"])
        batch.create_foreign_key(
            op.f("fk_obligations_recommendation_id_recommendations"),
            "recommendations",
            ["recommendation_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("obligations") as batch:
        batch.drop_constraint(
            op.f("fk_obligations_recommendation_id_recommendations"), type_="foreignkey"
        )
        batch.drop_index(op.f("ix_obligations_recommendation_id"))
        batch.drop_column("recommendation_id")
    op.drop_index(op.f("ix_recommendations_action_id"), table_name="recommendations")
    op.drop_table("recommendations")
