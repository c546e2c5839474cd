"""The status page's subscribers, the notices told to them, the public doors' tallies, and
callbacks asked for on the status page (state `requested`, source `status_page`).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 06:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | None = None
depends_on: str | None = None


CALLBACK_SOURCES = ("api", "csv", "status_page")
STATES = (
    "scheduled", "flagged", "rescheduled", "confirmed", "completed", "unplaced", "cancelled", "requested"
)


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "status_subscribers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("services", _json(), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=True),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("confirm_nonce", sa.String(length=64), nullable=True),
        sa.Column("confirm_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("requested_services", _json(), nullable=False),
        sa.Column("requested_secret", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unsubscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "channel IN ('email', 'sms', 'webhook')", name=op.f("ck_status_subscribers_channel")
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'confirmed', 'unsubscribed')", name=op.f("ck_status_subscribers_state")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_subscribers")),
        sa.UniqueConstraint("channel", "address", name="uq_status_subscribers_channel_address"),
        sa.UniqueConstraint("token", name=op.f("uq_status_subscribers_token")),
    )
    op.create_index("ix_status_subscribers_state", "status_subscribers", ["state"])
    op.create_table(
        "status_announcements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("told_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_announcements")),
        sa.UniqueConstraint("key", name=op.f("uq_status_announcements_key")),
    )
    op.create_table(
        "public_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("door", sa.String(length=30), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_requests")),
    )
    op.create_index("ix_public_requests_door_key_at", "public_requests", ["door", "key", "at"])


    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.alter_column("source", type_=sa.String(length=12), existing_type=sa.String(length=4))
        batch_op.drop_constraint(op.f("ck_callbacks_source"), type_="check")
        batch_op.create_check_constraint("source", f"source IN ({_quoted(CALLBACK_SOURCES)})")
        batch_op.drop_constraint(op.f("ck_callbacks_state"), type_="check")
        batch_op.create_check_constraint("state", f"state IN ({_quoted(STATES)})")


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def downgrade() -> None:
    op.execute(
        "DELETE FROM callback_events"
        " WHERE callback_id IN (SELECT id FROM callbacks WHERE source = 'status_page')"
    )
    op.execute("DELETE FROM callbacks WHERE source = 'status_page'")
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_callbacks_state"), type_="check")
        batch_op.create_check_constraint("state", f"state IN ({_quoted(STATES[:-1])})")
        batch_op.drop_constraint(op.f("ck_callbacks_source"), type_="check")
        batch_op.create_check_constraint("source", "source IN ('api', 'csv')")
        batch_op.alter_column("source", type_=sa.String(length=4), existing_type=sa.String(length=12))
    op.drop_index("ix_public_requests_door_key_at", table_name="public_requests")
    op.drop_table("public_requests")
    op.drop_table("status_announcements")
    op.drop_index("ix_status_subscribers_state", table_name="status_subscribers")
    op.drop_table("status_subscribers")
