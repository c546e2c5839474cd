"""The channels: email (SMTP), SMS (an HTTP gateway) and webhooks, behind one protocol."""

from __future__ import annotations

from standby.notify.channels.protocol import (
    Channel,
    ChannelName,
    Delivery,
    DeliveryFailure,
    OutgoingMessage,
    PermanentFailure,
    TemporaryFailure,
)

__all__ = [
    "Channel",
    "ChannelName",
    "Delivery",
    "DeliveryFailure",
    "OutgoingMessage",
    "PermanentFailure",
    "TemporaryFailure",
]
