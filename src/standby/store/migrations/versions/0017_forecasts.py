"""The live forecast: each incident's latest forecast and the commander's estimate.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "forecasts",
        sa.Column("incident_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("estimate_minutes", sa.Integer(), nullable=True),
        sa.Column("estimate_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("estimate_by", sa.String(length=100), nullable=True),
        sa.Column("mark", sa.String(length=64), nullable=True),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recommended", sa.String(length=400), nullable=True),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_forecasts")),
    )


def downgrade() -> None:
    op.drop_table("forecasts")
