"""Agents' home readiness: each check, and the mass-login exercises that asked for them.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 05:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "readiness_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.String(length=100), nullable=False),
        sa.Column("team_id", sa.String(length=100), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("jitter_ms", sa.Float(), nullable=False),
        sa.Column("download_kbps", sa.Float(), nullable=False),
        sa.Column("upload_kbps", sa.Float(), nullable=False),
        sa.Column("browser", sa.String(length=40), nullable=False),
        sa.Column("user_agent", sa.String(length=500), nullable=False),
        sa.Column("microphone", sa.String(length=20), nullable=False),
        sa.Column("checks", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_readiness_checks")),
    )
    op.create_index("ix_readiness_checks_agent_checked", "readiness_checks", ["agent_id", "checked_at"])
    op.create_index(op.f("ix_readiness_checks_team_id"), "readiness_checks", ["team_id"])
    op.create_index(op.f("ix_readiness_checks_campaign_id"), "readiness_checks", ["campaign_id"])
    op.create_index(op.f("ix_readiness_checks_checked_at"), "readiness_checks", ["checked_at"])
    op.create_table(
        "readiness_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_by", sa.String(length=200), nullable=False),
        sa.Column("agents", sa.Integer(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("target", sa.Integer(), nullable=False),
        sa.Column("activation_minutes", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_readiness_campaigns")),
    )


def downgrade() -> None:
    op.drop_table("readiness_campaigns")
    op.drop_index(op.f("ix_readiness_checks_checked_at"), table_name="readiness_checks")
    op.drop_index(op.f("ix_readiness_checks_campaign_id"), table_name="readiness_checks")
    op.drop_index(op.f("ix_readiness_checks_team_id"), table_name="readiness_checks")
    op.drop_index("ix_readiness_checks_agent_checked", table_name="readiness_checks")
    op.drop_table("readiness_checks")
