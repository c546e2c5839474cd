"""What a channel is: something that sends one message and says how it went.

A channel either returns a `Delivery` (the receiver accepted the message) or raises:

- `TemporaryFailure`: worth trying again later (a timeout, a reset, a 5xx, 408, 429);
- `PermanentFailure`: trying again will not help (a 4xx that names a bad request, a
  recipient the server refuses, a channel that is not configured).

Anything else a channel raises is a bug in it; the sender treats it as temporary.
Every message carries its idempotency key, which a channel passes on in the form its
receiver understands (an `Idempotency-Key` header, a Message-ID), so that a message
sent again after a crash is recognisable as the same one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

ChannelName = Literal["email", "sms", "webhook"]


@dataclass(frozen=True)
class OutgoingMessage:
    """One message as a channel sees it: who to, what, and the key that makes it one message."""

    id: int
    key: str
    channel: ChannelName
    recipient: str
    body: str
    subject: str | None = None
    recipient_name: str | None = None
    payload: dict[str, Any] | None = None
    purpose: str = "notice"
    incident_id: int | None = None
    attempt: int = 1


@dataclass(frozen=True)
class Delivery:
    """The receiver accepted the message: its own id for it (if it gave one) and what it said."""

    provider_id: str | None = None
    detail: str = "accepted"


class DeliveryFailure(Exception):
    """The message was not delivered; the text says why, for people (it ends up in last_error)."""

    def __init__(self, reason: str) -> None:
        """Say what went wrong, without secrets (no passwords, no tokens in URLs)."""
        super().__init__(reason)
        self.reason = reason


class TemporaryFailure(DeliveryFailure):
    """Not delivered this time; trying again later may work."""


class PermanentFailure(DeliveryFailure):
    """Not delivered, and trying again will not help: the message is parked at once."""


class Channel(Protocol):
    """Sends messages of one kind (email, SMS or webhook)."""

    async def send(self, message: OutgoingMessage) -> Delivery:
        """Send one message; raise TemporaryFailure or PermanentFailure when it was not delivered."""
        ...

    async def aclose(self) -> None:
        """Close connections kept between messages."""
        ...
