"""Delivery status on the timeline: each message of an incident sent, retried or parked.

The sender calls `record_delivery` in the transaction that records the outcome, so the
timeline and the outbox never disagree.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from standby.notify.outbox import MessageRecord
from standby.respond.timeline import add_entry


def _who(message: MessageRecord) -> str:
    if message.recipient_name:
        return message.recipient_name
    if message.channel == "webhook":
        # A webhook's address may carry its secret: the host says enough.
        return message.recipient.split("/")[2] if "//" in message.recipient else "a webhook"
    return message.recipient


def record_delivery(session: Session, message: MessageRecord) -> None:
    """Put a message's outcome on its incident's timeline (messages of no incident are skipped)."""
    if message.incident_id is None:
        return
    at = message.sent_at or message.parked_at or message.next_attempt_at
    what = f"{message.channel} ({message.purpose}) to {_who(message)}"
    if message.state == "sent":
        text = f"Delivered: {what}"
    elif message.state == "parked":
        text = f"Not delivered, parked: {what}: {message.last_error or 'no reason given'}"
    else:
        text = f"Will retry: {what} (attempt {message.attempts}): {message.last_error or ''}".rstrip(": ")
    add_entry(
        session,
        incident_id=message.incident_id,
        at=at,
        kind="message",
        text=text,
        data={
            "message_id": message.id,
            "state": message.state,
            "channel": message.channel,
            "key": message.key,
        },
    )
