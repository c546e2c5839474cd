"""What the public status page keeps: its subscribers, the notices already told, and the
public doors' request tallies (sign-ups and callback requests, for their rate limits)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from standby.store.tables.base import Base, json_column, one_of

SUBSCRIBER_CHANNELS = ("email", "sms", "webhook")
SUBSCRIBER_STATES = ("pending", "confirmed", "unsubscribed")
"""pending: asked, the confirmation link not followed yet (nothing else is sent). confirmed:
told every notice. unsubscribed: told nothing, until a new sign-up is confirmed."""


class StatusSubscriberRow(Base):
    """Someone told of public notices by email, SMS or a signed webhook.

    One row per channel and address, whoever signs it up how often. `token` is the
    random key of its unsubscribe link; `confirm_nonce` the single-use part of the
    confirmation link sent last (null once followed). `requested_*` are what the last
    sign-up asked for, put in force only when its confirmation link is followed.
    """

    __tablename__ = "status_subscribers"
    __table_args__ = (
        CheckConstraint(one_of("channel", SUBSCRIBER_CHANNELS), name="channel"),
        CheckConstraint(one_of("state", SUBSCRIBER_STATES), name="state"),
        UniqueConstraint("channel", "address", name="uq_status_subscribers_channel_address"),
        Index("ix_status_subscribers_state", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(12))
    services: Mapped[list[str]] = mapped_column(json_column())
    """The public services told about; empty: all of them."""
    secret: Mapped[str | None] = mapped_column(String(200))
    """A webhook's signing secret (HMAC needs the secret itself, so it cannot be hashed)."""
    token: Mapped[str] = mapped_column(String(64), unique=True)
    confirm_nonce: Mapped[str | None] = mapped_column(String(64))
    confirm_sent_at: Mapped[datetime | None]
    requested_services: Mapped[list[str]] = mapped_column(json_column())
    requested_secret: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class StatusAnnouncementRow(Base):
    """A public notice (an incident update, a maintenance announcement) told to subscribers.

    Written in the same transaction as the messages: a notice found here was put in the
    outbox for every subscriber confirmed then, and is never fanned out again.
    """

    __tablename__ = "status_announcements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    recipients: Mapped[int] = mapped_column(Integer)
    told_at: Mapped[datetime]
    data: Mapped[dict[str, Any]] = mapped_column(json_column())


class PublicRequestRow(Base):
    """One request at a public door (a sign-up, a callback request), for its rate limit.

    `key` is a hash of the client's address or of the address or number asked for: the
    tally needs to recognise them, not to read them.
    """

    __tablename__ = "public_requests"
    __table_args__ = (Index("ix_public_requests_door_key_at", "door", "key", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    door: Mapped[str] = mapped_column(String(30))
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
