"""What Protect customers records: callbacks and their history, calls cut off, call
outcomes logged while the CRM is down, and compensation offers.

Customers are known by their phone number in international form (`customer_key`), so
one customer's callback, cut-off call and offers are counted as one customer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from standby.store.tables.base import Base, json_column, one_of

CALLBACK_STATES = (
    "scheduled", "flagged", "rescheduled", "confirmed", "completed", "unplaced", "cancelled", "requested"
)
"""scheduled: as booked. flagged: an outage stops its queue at its due time. rescheduled:
given a new time after recovery (the customer told). confirmed: the customer agreed the
time. completed: the call was made. unplaced: no capacity within the horizon, so a person
must move it. cancelled: withdrawn by hand, with the reason in its history. requested:
asked for on the status page while its line was down, given a time once it is back
(customers/status_callbacks.py)."""
CALL_STATES = ("open", "worked")
OFFER_STATES = ("offered", "accepted", "declined", "paid")
OFFER_KINDS = ("credit", "refund", "voucher", "gesture")
SOURCES = ("api", "csv")
CALLBACK_SOURCES = (*SOURCES, "status_page")
"""Callbacks also come from the status page's "call me back" form."""

_BigId = BigInteger().with_variant(Integer(), "sqlite")


class CallbackRow(Base):
    """A scheduled callback: who, when, which queue, and what outages did to it."""

    __tablename__ = "callbacks"
    __table_args__ = (
        CheckConstraint(one_of("state", CALLBACK_STATES), name="state"),
        CheckConstraint(one_of("source", CALLBACK_SOURCES), name="source"),
        # A duplicate is the same customer, queue and requested time (or the same external id).
        UniqueConstraint("customer_key", "queue", "requested_due_at", name="uq_callbacks_customer_queue_due"),
        Index("ix_callbacks_state_due_at", "state", "due_at"),
        Index("ix_callbacks_queue_due_at", "queue", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    customer: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(40))
    # Looked up through the unique constraint below, whose first column it is.
    customer_key: Mapped[str] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(320))
    queue: Mapped[str] = mapped_column(String(100))
    vulnerable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    notes: Mapped[str | None] = mapped_column(Text)
    # The time first booked; `due_at` is the current one, `window_end` the end of the
    # window the customer was told (null: exactly `due_at`).
    requested_due_at: Mapped[datetime]
    due_at: Mapped[datetime]
    window_end: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(String(12))
    # The outage that stopped its queue at its due time (the latest one), and whether
    # the due time passed while it did: a missed callback, for compensation.
    outage_id: Mapped[int | None] = mapped_column(Integer, index=True)
    missed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Each change of time is told to the customer once: the outbox key carries `moves`.
    moves: Mapped[int] = mapped_column(Integer, default=0)
    flagged_at: Mapped[datetime | None]
    rescheduled_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(String(12))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CallbackEventRow(Base):
    """One entry of a callback's history: booked, flagged, rescheduled, moved, told, confirmed..."""

    __tablename__ = "callback_events"
    __table_args__ = (
        Index("ix_callback_events_callback_at", "callback_id", "at"),
        Index("ix_callback_events_outage_kind", "outage_id", "kind"),
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True)
    callback_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(json_column())
    # The outage the entry is about (flagged, released, rescheduled, unplaced, outage_merged):
    # a callback two outages hit keeps one outage_id, but its history remembers both, and
    # each outage's figures and compensation are read from here.
    outage_id: Mapped[int | None] = mapped_column(Integer)


class InterruptedCallRow(Base):
    """A call in progress when an outage started: a follow-up to be worked to an outcome."""

    __tablename__ = "interrupted_calls"
    __table_args__ = (
        CheckConstraint(one_of("state", CALL_STATES), name="state"),
        CheckConstraint(one_of("source", SOURCES), name="source"),
        Index("ix_interrupted_calls_state_started_at", "state", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(100), unique=True)
    customer: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(40))
    customer_key: Mapped[str] = mapped_column(String(40), index=True)
    queue: Mapped[str] = mapped_column(String(100), index=True)
    agent: Mapped[str | None] = mapped_column(String(100))
    vulnerable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    started_at: Mapped[datetime]
    # When it was cut off: the outage's start once linked, else when it was reported.
    cut_at: Mapped[datetime]
    outage_id: Mapped[int | None] = mapped_column(Integer, index=True)
    state: Mapped[str] = mapped_column(String(6))
    outcome: Mapped[str | None] = mapped_column(String(40))
    notes: Mapped[str | None] = mapped_column(Text)
    worked_by: Mapped[str | None] = mapped_column(String(100))
    worked_at: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(String(4))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class OutcomeRow(Base):
    """The outcome of a call, logged by an agent while the CRM is down."""

    __tablename__ = "outcomes"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True)
    # The id the agent's page (or script) gave it: a resend after a dropped connection
    # finds the outcome already stored instead of storing it twice.
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    customer: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    customer_key: Mapped[str | None] = mapped_column(String(40), index=True)
    queue: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(Text)
    follow_up: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    agent: Mapped[str] = mapped_column(String(100))
    logged_at: Mapped[datetime] = mapped_column(index=True)
    # The cut-off call it closes, if any.
    call_id: Mapped[str | None] = mapped_column(String(100), index=True)
    outage_id: Mapped[int | None] = mapped_column(Integer, index=True)
    received_at: Mapped[datetime] = mapped_column(index=True)
    received_by: Mapped[str] = mapped_column(String(100))
    exported_at: Mapped[datetime | None]


class CompensationOfferRow(Base):
    """An offer made to a customer under one of the plan's compensation rules, and its fate."""

    __tablename__ = "compensation_offers"
    __table_args__ = (
        CheckConstraint(one_of("state", OFFER_STATES), name="state"),
        CheckConstraint(one_of("kind", OFFER_KINDS), name="kind"),
        # One offer per outage, rule and customer, however often the rules are applied.
        UniqueConstraint(
            "outage_id", "rule", "customer_key", name="uq_compensation_offers_outage_rule_customer"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outage_id: Mapped[int] = mapped_column(Integer, index=True)
    rule: Mapped[str] = mapped_column(String(100))
    customer_key: Mapped[str] = mapped_column(String(40), index=True)
    customer: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(320))
    queue: Mapped[str | None] = mapped_column(String(100))
    vulnerable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    reason: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(10))
    # Money in minor units (pence): exact, and the same on SQLite and PostgreSQL.
    amount_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(String(100))
