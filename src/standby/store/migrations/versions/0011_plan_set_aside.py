"""Plan file texts set aside: read at start, not put in force because a newer upload was.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "plan_set_aside",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("in_force_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_set_aside")),
    )
    op.create_index(op.f("ix_plan_set_aside_sha256"), "plan_set_aside", ["sha256"])


def downgrade() -> None:
    op.drop_index(op.f("ix_plan_set_aside_sha256"), table_name="plan_set_aside")
    op.drop_table("plan_set_aside")
