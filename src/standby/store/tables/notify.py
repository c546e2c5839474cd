"""The outbox: every message Standby sends, claimed by workers, retried, never sent twice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from standby.store.tables.base import Base, json_column, one_of

CHANNELS = ("email", "sms", "webhook")
MESSAGE_STATES = ("pending", "sending", "sent", "parked", "cancelled")

_BigId = BigInteger().with_variant(Integer(), "sqlite")


class MessageRow(Base):
    """One message to one recipient on one channel.

    `idempotency_key` is unique: whoever asks for the same message twice (a retried
    request, a timer that fires again after a crash) gets the row that exists. A worker
    claims a due row by setting `claimed_by` and `claimed_until`; a message that was
    being sent when its worker died is retried with the same key, which receivers that
    honour it (webhooks: the `Idempotency-Key` header; SMTP: the Message-ID) use to drop
    the repeat.
    """

    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint(one_of("channel", CHANNELS), name="channel"),
        CheckConstraint(one_of("state", MESSAGE_STATES), name="state"),
        Index("ix_messages_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(12))
    recipient: Mapped[str] = mapped_column(String(500))
    recipient_name: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    # Webhooks: the JSON to post and its style (slack, teams, generic).
    payload: Mapped[dict[str, Any] | None] = mapped_column(json_column())
    purpose: Mapped[str] = mapped_column(String(30))
    incident_id: Mapped[int | None] = mapped_column(Integer, index=True)
    state: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    parked_at: Mapped[datetime | None]
