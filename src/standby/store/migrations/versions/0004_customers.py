"""Protect customers: callbacks and their history, calls cut off, outcomes, compensation offers.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 19:01:46.175218
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "callback_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("callback_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_events")),
    )
    with op.batch_alter_table("callback_events", schema=None) as batch_op:
        batch_op.create_index("ix_callback_events_callback_at", ["callback_id", "at"], unique=False)

    op.create_table(
        "callbacks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("customer", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("customer_key", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("queue", sa.String(length=100), nullable=False),
        sa.Column("vulnerable", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("requested_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("outage_id", sa.Integer(), nullable=True),
        sa.Column("missed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("moves", sa.Integer(), nullable=False),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rescheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=4), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("source IN ('api', 'csv')", name=op.f("ck_callbacks_source")),
        sa.CheckConstraint(
            "state IN ('scheduled', 'flagged', 'rescheduled', 'confirmed', 'completed', 'unplaced',"
            " 'cancelled')",
            name=op.f("ck_callbacks_state"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callbacks")),
        sa.UniqueConstraint(
            "customer_key", "queue", "requested_due_at", name="uq_callbacks_customer_queue_due"
        ),
        sa.UniqueConstraint("external_id", name=op.f("uq_callbacks_external_id")),
    )
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_callbacks_outage_id"), ["outage_id"], unique=False)
        batch_op.create_index("ix_callbacks_queue_due_at", ["queue", "due_at"], unique=False)
        batch_op.create_index("ix_callbacks_state_due_at", ["state", "due_at"], unique=False)

    op.create_table(
        "compensation_offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outage_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("customer_key", sa.String(length=40), nullable=False),
        sa.Column("customer", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("queue", sa.String(length=100), nullable=True),
        sa.Column("vulnerable", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=True),
        sa.CheckConstraint(
            "kind IN ('credit', 'refund', 'voucher', 'gesture')", name=op.f("ck_compensation_offers_kind")
        ),
        sa.CheckConstraint(
            "state IN ('offered', 'accepted', 'declined', 'paid')", name=op.f("ck_compensation_offers_state")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compensation_offers")),
        sa.UniqueConstraint(
            "outage_id", "rule", "customer_key", name="uq_compensation_offers_outage_rule_customer"
        ),
    )
    with op.batch_alter_table("compensation_offers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_compensation_offers_customer_key"), ["customer_key"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_compensation_offers_outage_id"), ["outage_id"], unique=False)

    op.create_table(
        "interrupted_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=100), nullable=False),
        sa.Column("customer", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("customer_key", sa.String(length=40), nullable=False),
        sa.Column("queue", sa.String(length=100), nullable=False),
        sa.Column("agent", sa.String(length=100), nullable=True),
        sa.Column("vulnerable", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cut_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outage_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=6), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("worked_by", sa.String(length=100), nullable=True),
        sa.Column("worked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=4), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("source IN ('api', 'csv')", name=op.f("ck_interrupted_calls_source")),
        sa.CheckConstraint("state IN ('open', 'worked')", name=op.f("ck_interrupted_calls_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interrupted_calls")),
        sa.UniqueConstraint("call_id", name=op.f("uq_interrupted_calls_call_id")),
    )
    with op.batch_alter_table("interrupted_calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_interrupted_calls_customer_key"), ["customer_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_interrupted_calls_outage_id"), ["outage_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_interrupted_calls_queue"), ["queue"], unique=False)
        batch_op.create_index("ix_interrupted_calls_state_started_at", ["state", "started_at"], unique=False)

    op.create_table(
        "outcomes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("customer", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("customer_key", sa.String(length=40), nullable=True),
        sa.Column("queue", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("follow_up", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("agent", sa.String(length=100), nullable=False),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("call_id", sa.String(length=100), nullable=True),
        sa.Column("outage_id", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_by", sa.String(length=100), nullable=False),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcomes")),
        sa.UniqueConstraint("client_id", name=op.f("uq_outcomes_client_id")),
    )
    with op.batch_alter_table("outcomes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outcomes_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outcomes_customer_key"), ["customer_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_outcomes_logged_at"), ["logged_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outcomes_outage_id"), ["outage_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outcomes_received_at"), ["received_at"], unique=False)


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("outcomes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outcomes_received_at"))
        batch_op.drop_index(batch_op.f("ix_outcomes_outage_id"))
        batch_op.drop_index(batch_op.f("ix_outcomes_logged_at"))
        batch_op.drop_index(batch_op.f("ix_outcomes_customer_key"))
        batch_op.drop_index(batch_op.f("ix_outcomes_call_id"))

    op.drop_table("outcomes")
    with op.batch_alter_table("interrupted_calls", schema=None) as batch_op:
        batch_op.drop_index("ix_interrupted_calls_state_started_at")
        batch_op.drop_index(batch_op.f("ix_interrupted_calls_queue"))
        batch_op.drop_index(batch_op.f("ix_interrupted_calls_outage_id"))
        batch_op.drop_index(batch_op.f("ix_interrupted_calls_customer_key"))

    op.drop_table("interrupted_calls")
    with op.batch_alter_table("compensation_offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_compensation_offers_outage_id"))
        batch_op.drop_index(batch_op.f("ix_compensation_offers_customer_key"))

    op.drop_table("compensation_offers")
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.drop_index("ix_callbacks_state_due_at")
        batch_op.drop_index("ix_callbacks_queue_due_at")
        batch_op.drop_index(batch_op.f("ix_callbacks_outage_id"))

    op.drop_table("callbacks")
    with op.batch_alter_table("callback_events", schema=None) as batch_op:
        batch_op.drop_index("ix_callback_events_callback_at")

    op.drop_table("callback_events")
