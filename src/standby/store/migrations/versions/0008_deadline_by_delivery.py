"""A stakeholder group's deadline is followed by the outbox's deliveries: its step, why, and when.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("communications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deadline_step", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("deadline_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("communications", schema=None) as batch_op:
        batch_op.drop_column("deadline_at")
        batch_op.drop_column("deadline_reason")
        batch_op.drop_column("deadline_step")
