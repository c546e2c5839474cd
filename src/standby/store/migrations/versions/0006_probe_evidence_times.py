"""Probes remember when their current run of results began and since when they are watched.

An outage starts at the first failed check of the run that took its probe down, and a
heartbeat's grace period runs from when watching began, across takeovers and restarts.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("probes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("run_started_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("watched_since", sa.DateTime(timezone=True), nullable=True))
    # Probes on record before this had no such times: the next plan sync starts watching
    # them from then (a heartbeat that never came is noticed one grace period later).


def downgrade() -> None:
    with op.batch_alter_table("probes", schema=None) as batch_op:
        batch_op.drop_column("watched_since")
        batch_op.drop_column("run_started_at")
