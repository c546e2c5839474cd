"""Initial schema: plan versions, users, API tokens, login sessions, component states.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# Copied, not imported: a migration is a snapshot and must not change when the code does.
_ROLES = "role IN ('admin', 'manager', 'responder', 'agent', 'viewer')"
_STATES = "state IN ('up', 'degraded', 'down', 'maintenance', 'unknown')"


def _when(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create the first tables."""
    op.create_table(
        "plan_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("component_count", sa.Integer(), nullable=False),
        sa.Column("site_count", sa.Integer(), nullable=False),
        sa.Column("queue_count", sa.Integer(), nullable=False),
        sa.Column("team_count", sa.Integer(), nullable=False),
        sa.Column("agent_count", sa.Integer(), nullable=False),
        _when("loaded_at"),
        sa.Column("loaded_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_versions")),
    )
    op.create_index(op.f("ix_plan_versions_sha256"), "plan_versions", ["sha256"])
    op.create_index(op.f("ix_plan_versions_loaded_at"), "plan_versions", ["loaded_at"])

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        _when("created_at"),
        sa.Column("disabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.CheckConstraint(_ROLES, name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        _when("created_at"),
        _when("last_used_at", nullable=True),
        _when("revoked_at", nullable=True),
        sa.CheckConstraint(_ROLES, name=op.f("ck_api_tokens_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("name", name=op.f("uq_api_tokens_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )

    op.create_table(
        "login_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        _when("created_at"),
        _when("expires_at"),
        _when("last_seen_at"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_login_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_login_sessions_token_hash")),
    )
    op.create_index(op.f("ix_login_sessions_user_id"), "login_sessions", ["user_id"])
    op.create_index(op.f("ix_login_sessions_expires_at"), "login_sessions", ["expires_at"])

    op.create_table(
        "component_states",
        sa.Column("component_id", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        _when("since"),
        _when("updated_at"),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.CheckConstraint(_STATES, name=op.f("ck_component_states_state")),
        sa.PrimaryKeyConstraint("component_id", name=op.f("pk_component_states")),
    )


def downgrade() -> None:
    """Drop every table this revision created."""
    op.drop_table("component_states")
    op.drop_index(op.f("ix_login_sessions_expires_at"), table_name="login_sessions")
    op.drop_index(op.f("ix_login_sessions_user_id"), table_name="login_sessions")
    op.drop_table("login_sessions")
    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_index(op.f("ix_plan_versions_loaded_at"), table_name="plan_versions")
    op.drop_index(op.f("ix_plan_versions_sha256"), table_name="plan_versions")
    op.drop_table("plan_versions")
