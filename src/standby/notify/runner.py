"""Running the sender for real: channels from the settings, the sender beside the worker.

`standby serve` and `standby worker` run `run_sender` beside the detection worker.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.orm import Session, sessionmaker

from standby.clock import Clock
from standby.config import Settings
from standby.notify.channels.email import EmailChannel
from standby.notify.channels.sms import SmsChannel, SmsStyle
from standby.notify.channels.webhook import WebhookChannel, derive_secret
from standby.notify.outbox_delivery import OnOutcome
from standby.notify.sender import Channels, NotifySender, SenderOptions

NOT_CONFIGURED = {
    "email": "email is not configured: set STANDBY_SMTP_URL",
    "email_from": "email is not configured: set STANDBY_SMTP_FROM",
    "sms": "SMS is not configured: set STANDBY_SMS_URL",
    "webhook": "webhooks are not configured: set STANDBY_WEBHOOK_SECRET or STANDBY_SECRET_KEY",
}


def webhook_secret(settings: Settings) -> bytes | None:
    """The key webhooks are signed with: STANDBY_WEBHOOK_SECRET, else derived from the secret key."""
    if settings.webhook_secret:
        return settings.webhook_secret.encode()
    if settings.secret_key:
        return derive_secret(settings.secret_key)
    return None


def channels_from_settings(settings: Settings, *, timeout_s: float = 10.0) -> Channels:
    """Email when STANDBY_SMTP_URL and STANDBY_SMTP_FROM are set, SMS when STANDBY_SMS_URL is,
    webhooks when there is a key to sign them with; the others are `missing`, with the reason."""
    channels = Channels()
    if not settings.smtp_url:
        channels.missing["email"] = NOT_CONFIGURED["email"]
    elif not settings.smtp_from:
        channels.missing["email"] = NOT_CONFIGURED["email_from"]
    else:
        channels.available["email"] = EmailChannel(
            url=settings.smtp_url, sender=settings.smtp_from, timeout_s=timeout_s
        )
    if not settings.sms_url:
        channels.missing["sms"] = NOT_CONFIGURED["sms"]
    else:
        style: SmsStyle = "json" if settings.sms_style == "json" else "twilio"
        channels.available["sms"] = SmsChannel(
            url=settings.sms_url, sender=settings.sms_from, style=style, timeout_s=timeout_s
        )
    secret = webhook_secret(settings)
    if secret is None:
        channels.missing["webhook"] = NOT_CONFIGURED["webhook"]
    else:
        channels.available["webhook"] = WebhookChannel(secret=secret, timeout_s=timeout_s)
    return channels


async def run_sender(
    stop: asyncio.Event,
    *,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: Clock,
    on_outcome: OnOutcome | None = None,
    options: SenderOptions | None = None,
) -> NotifySender:
    """Run a sender with the configured channels until `stop` is set; returns it (for its stats)."""
    channels = channels_from_settings(settings)
    sender = NotifySender(
        session_factory=session_factory,
        clock=clock,
        channels=channels,
        options=options or SenderOptions(),
        on_outcome=on_outcome,
    )
    try:
        await sender.run(stop)
    finally:
        await channels.aclose()
    return sender
