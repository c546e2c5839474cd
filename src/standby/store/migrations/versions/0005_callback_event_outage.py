"""Callback history names the outage each entry is about, so a callback two outages hit counts in both.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 21:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("callback_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outage_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_callback_events_outage_kind", ["outage_id", "kind"], unique=False)
    # Entries written before named their outage only in their data (releases did not).
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE callback_events SET outage_id = (data->>'outage_id')::integer"
            " WHERE data->>'outage_id' IS NOT NULL"
        )
    else:
        op.execute(
            "UPDATE callback_events SET outage_id = json_extract(data, '$.outage_id')"
            " WHERE json_extract(data, '$.outage_id') IS NOT NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("callback_events", schema=None) as batch_op:
        batch_op.drop_index("ix_callback_events_outage_kind")
        batch_op.drop_column("outage_id")
