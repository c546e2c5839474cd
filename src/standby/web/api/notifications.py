"""/api/v1/notifications: the outbox, what went out, what is waiting, what was parked and why."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Query
from pydantic import BaseModel

from standby.notify.outbox import MessageRecord
from standby.notify.outbox_desk import cancel, count_by_state, get_message, list_messages, retry_parked
from standby.store.engine import unit_of_work
from standby.web.auth import ManageNotifications, ReadNotifications
from standby.web.context import Context
from standby.web.contract import BigRowId, RowId

router = APIRouter(tags=["notifications"])

State = Literal["pending", "sending", "sent", "parked", "cancelled"]


class NotificationOut(BaseModel):
    """One message: to whom, on which channel, its state, attempts and the last error."""

    id: int
    key: str
    channel: str
    recipient: str
    recipient_name: str | None
    subject: str | None
    body: str
    style: str | None
    purpose: str
    incident_id: int | None
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    provider_id: str | None
    claimed_by: str | None
    claimed_until: datetime | None
    created_at: datetime
    sent_at: datetime | None
    parked_at: datetime | None


class NotificationList(BaseModel):
    """Messages, newest first, and how many there are in each state (for the same incident filter)."""

    notifications: list[NotificationOut]
    counts: dict[str, int]


def shown_recipient(record: MessageRecord) -> str:
    """The recipient as the API shows it: a webhook URL is a credential, so only its host."""
    if record.channel != "webhook":
        return record.recipient
    parts = urlsplit(record.recipient)
    host = parts.hostname or "?"
    try:
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}/…"


def notification_out(record: MessageRecord) -> NotificationOut:
    """The API shape of a message."""
    waiting = record.state in ("pending", "sending")
    payload: dict[str, Any] = record.payload or {}
    style = payload.get("style") if record.channel == "webhook" else None
    return NotificationOut(
        id=record.id,
        key=record.key,
        channel=record.channel,
        recipient=shown_recipient(record),
        recipient_name=record.recipient_name,
        subject=record.subject,
        body=record.body,
        style=style if isinstance(style, str) else None,
        purpose=record.purpose,
        incident_id=record.incident_id,
        state=record.state,
        attempts=record.attempts,
        next_attempt_at=record.next_attempt_at if waiting else None,
        last_error=record.last_error,
        provider_id=record.provider_id,
        claimed_by=record.claimed_by,
        claimed_until=record.claimed_until,
        created_at=record.created_at,
        sent_at=record.sent_at,
        parked_at=record.parked_at,
    )


@router.get("/api/v1/notifications", summary="Notifications")
def notifications(
    principal: ReadNotifications,
    context: Context,
    incident: Annotated[RowId | None, Query(description="Only this incident's messages.")] = None,
    state: Annotated[State | None, Query(description="Only messages in this state.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many.")] = 100,
    before: Annotated[BigRowId | None, Query(description="Only messages with a lower id (paging).")] = None,
) -> NotificationList:
    """Messages in the outbox, newest first, with their delivery state."""
    with unit_of_work(context.session_factory) as session:
        records = list_messages(session, incident_id=incident, state=state, limit=limit, before_id=before)
        counts = count_by_state(session, incident_id=incident)
    return NotificationList(notifications=[notification_out(r) for r in records], counts=counts)


@router.get(
    "/api/v1/notifications/{message_id}",
    summary="One notification",
    responses={404: {"description": "No message with this id."}},
)
def notification(message_id: BigRowId, principal: ReadNotifications, context: Context) -> NotificationOut:
    """One message: attempts, the last error, its state and times."""
    with unit_of_work(context.session_factory) as session:
        record = get_message(session, message_id)
    return notification_out(record)


@router.post(
    "/api/v1/notifications/{message_id}/retry",
    summary="Send a parked notification again",
    responses={404: {"description": "No message with this id."}, 409: {"description": "It is not parked."}},
)
def retry(message_id: BigRowId, principal: ManageNotifications, context: Context) -> NotificationOut:
    """A parked message goes back to pending, due now, attempts from zero, the same idempotency key."""
    with unit_of_work(context.session_factory) as session:
        record = retry_parked(session, message_id=message_id, now=context.clock.now(), by=principal.name)
    return notification_out(record)


@router.post(
    "/api/v1/notifications/{message_id}/cancel",
    summary="Cancel a waiting notification",
    responses={
        404: {"description": "No message with this id."},
        409: {"description": "It is being sent, was sent, or is cancelled already."},
    },
)
def cancel_notification(
    message_id: BigRowId, principal: ManageNotifications, context: Context
) -> NotificationOut:
    """A pending or parked message is not sent; one being sent or sent already cannot be stopped (409)."""
    with unit_of_work(context.session_factory) as session:
        record = cancel(session, message_id=message_id, now=context.clock.now())
    return notification_out(record)
