"""The outbox: every message Standby sends, stored before it is sent, sent once; putting them in.

A service: functions take a session and the time, and never commit (the unit of work
does). The life of a message:

    pending --claim--> sending --sent------------------------> sent
       ^                  |----temporary failure (backoff)--> pending
       |                  |----permanent, or 8th failure----> parked --retry--> pending
       |                  '----claim lease ran out (a crash)--> claimed again, same key
       '--cancel (pending or parked) --> cancelled

- `enqueue` is idempotent: the same key gives back the row that exists (INSERT ... ON
  CONFLICT DO NOTHING, then a SELECT), however often and however concurrently it is asked.
- Every message is checked before any is stored, and one about an exercise's incident is
  marked EXERCISE here, whoever queued it.

Claiming due messages and recording what happened to them (backoff, parking) is
`outbox_delivery`'s; reading messages and changing one by hand (retry, cancel) is
`outbox_desk`'s; many messages that share a few texts, `outbox_shared`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Table, select
from sqlalchemy.orm import Session

from standby.errors import InvalidInput
from standby.exercise.audience import marked
from standby.notify import validate
from standby.notify.channels.protocol import ChannelName, OutgoingMessage
from standby.notify.outbox_insert import insert_ignoring_duplicates
from standby.store.tables import IncidentRow, MessageRow

_T: Table = MessageRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class MessageRecord:
    """One message in the outbox, as stored."""

    id: int
    key: str
    channel: ChannelName
    recipient: str
    recipient_name: str | None
    subject: str | None
    body: str
    payload: dict[str, Any] | None
    purpose: str
    incident_id: int | None
    state: str
    attempts: int
    next_attempt_at: datetime
    claimed_by: str | None
    claimed_until: datetime | None
    last_error: str | None
    provider_id: str | None
    created_at: datetime
    sent_at: datetime | None
    parked_at: datetime | None

    def outgoing(self) -> OutgoingMessage:
        """What a channel needs to send it."""
        return OutgoingMessage(
            id=self.id,
            key=self.key,
            channel=self.channel,
            recipient=self.recipient,
            body=self.body,
            subject=self.subject,
            recipient_name=self.recipient_name,
            payload=self.payload,
            purpose=self.purpose,
            incident_id=self.incident_id,
            attempt=self.attempts,
        )


@dataclass(frozen=True)
class NewMessage:
    """A message to put in the outbox (see `enqueue` for the fields)."""

    key: str
    channel: ChannelName
    recipient: str
    body: str
    purpose: str
    subject: str | None = None
    recipient_name: str | None = None
    payload: dict[str, Any] | None = None
    incident_id: int | None = None
    not_before: datetime | None = None
    parked_reason: str | None = None
    """Stored already parked with this reason: a message that could not even be written."""


def message_record(row: Row[Any]) -> MessageRecord:
    """A message as stored, from its row."""
    get = row._mapping.__getitem__
    return MessageRecord(
        id=get("id"),
        key=get("idempotency_key"),
        channel=get("channel"),
        recipient=get("recipient"),
        recipient_name=get("recipient_name"),
        subject=get("subject"),
        body=get("body"),
        payload=get("payload"),
        purpose=get("purpose"),
        incident_id=get("incident_id"),
        state=get("state"),
        attempts=get("attempts"),
        next_attempt_at=get("next_attempt_at"),
        claimed_by=get("claimed_by"),
        claimed_until=get("claimed_until"),
        last_error=get("last_error"),
        provider_id=get("provider_id"),
        created_at=get("created_at"),
        sent_at=get("sent_at"),
        parked_at=get("parked_at"),
    )


# ---- putting messages in ---------------------------------------------------------------


def _values(
    message: NewMessage, now: datetime, shared: dict[tuple[Any, ...], CheckedText] | None = None
) -> dict[str, Any]:
    """The row for a new message, every value checked; InvalidInput names the bad one.

    `shared` remembers the checks of what many messages of a batch have in common
    (channel, subject, body, purpose, no payload): checking a text a hundred thousand
    times gives the same answer as checking it once.
    """
    aware_time(now, "now")
    if shared is not None and message.payload is None:
        facts = (message.channel, message.subject, message.body, message.purpose)
        common = shared.get(facts)
        if common is None:
            common = shared[facts] = checked_text(message)
    else:
        common = checked_text(message)
    channel, subject, body, payload, purpose = common
    if message.incident_id is not None and (
        not isinstance(message.incident_id, int) or message.incident_id < 1
    ):
        raise InvalidInput(f"the incident id must be a positive whole number, not {message.incident_id!r}")
    not_before = aware_time(message.not_before, "not_before") if message.not_before is not None else None
    return {
        "idempotency_key": validate.check_key(message.key),
        "channel": channel,
        "recipient": validate.recipient(channel, message.recipient),
        "recipient_name": validate.one_line(
            message.recipient_name, what="recipient name", limit=validate.MAX_NAME
        ),
        "subject": subject,
        "body": body,
        "payload": payload,
        "purpose": purpose,
        "incident_id": message.incident_id,
        "state": "pending" if message.parked_reason is None else "parked",
        "attempts": 0,
        "next_attempt_at": max(now, not_before) if not_before is not None else now,
        "created_at": now,
        "parked_at": None if message.parked_reason is None else now,
        "last_error": None if message.parked_reason is None else message.parked_reason[:2000],
    }


CheckedText = tuple[str, str | None, str, dict[str, Any] | None, str]
"""A message's checked channel, subject, body, payload and purpose."""


def checked_text(message: NewMessage) -> CheckedText:
    """The checked channel, subject, body, payload and purpose of a message."""
    channel = validate.check_channel(message.channel)
    subject = validate.one_line(message.subject, what="subject", limit=validate.MAX_SUBJECT)
    if channel == "email" and subject is None:
        raise InvalidInput("an email needs a subject")
    payload = (
        validate.webhook_payload(message.payload)
        if channel == "webhook"
        else validate.other_payload(message.payload)
    )
    body = validate.body_text(channel, message.body)
    return channel, subject, body, payload, validate.purpose_text(message.purpose)


def enqueue(
    session: Session,
    *,
    key: str,
    channel: ChannelName,
    recipient: str,
    body: str,
    subject: str | None = None,
    recipient_name: str | None = None,
    payload: dict[str, Any] | None = None,
    purpose: str,
    incident_id: int | None = None,
    now: datetime,
    not_before: datetime | None = None,
    parked_reason: str | None = None,
) -> MessageRecord:
    """Put one message in the outbox; the same `key` again gives back the message that exists.

    The recipient is checked for its channel (an email address; a phone number in
    international form, normalised to +DIGITS; an http(s) URL) and an email needs a
    subject: InvalidInput says what is wrong. A webhook's `payload` holds its `style`
    (slack, teams or generic: the default), `data` for the generic JSON and `url`, a link.
    The message is due at `now`, or at `not_before` when that is later.
    """
    message = NewMessage(
        key=key,
        channel=channel,
        recipient=recipient,
        body=body,
        purpose=purpose,
        subject=subject,
        recipient_name=recipient_name,
        payload=payload,
        incident_id=incident_id,
        not_before=not_before,
        parked_reason=parked_reason,
    )
    (record,) = enqueue_many(session, [message], now=now)
    return record


def enqueue_many(session: Session, messages: Sequence[NewMessage], *, now: datetime) -> list[MessageRecord]:
    """Put many messages in the outbox at once (one INSERT); records in the order given.

    Every message is checked before any is stored. Keys already in the outbox give back
    their existing messages; a key given twice in `messages` is stored once.
    """
    keys = put_many(session, messages, now=now)
    found: dict[str, MessageRecord] = {}
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), 1000):
        chunk = unique[start : start + 1000]
        for row in session.execute(select(_T).where(_T.c.idempotency_key.in_(chunk))):
            record = message_record(row)
            found[record.key] = record
    return [found[k] for k in keys]


def put_many(session: Session, messages: Sequence[NewMessage], *, now: datetime) -> list[str]:
    """Put many messages in the outbox, reading nothing back: their keys, in the order given.

    For bulk senders (a hundred thousand customers told their new callback times) that
    need only know the messages are stored; checks and idempotency as `enqueue_many`.
    """
    shared: dict[tuple[Any, ...], CheckedText] = {}
    rows = [_values(m, now, shared) for m in _exercise_marked(session, messages)]
    insert_ignoring_duplicates(session, rows)
    return [r["idempotency_key"] for r in rows]


def _exercise_marked(session: Session, messages: Sequence[NewMessage]) -> Sequence[NewMessage]:
    """Every message about an exercise's incident marked EXERCISE, whoever queued it.

    The one place this is done: pages, the communication plan, relocation texts, updates
    and webhooks all reach the outbox here (who may be told is `exercise.audience`'s rule).
    """
    incidents = {m.incident_id for m in messages if m.incident_id is not None}
    if not incidents:
        return messages
    exercises = dict(
        session.execute(
            select(IncidentRow.id, IncidentRow.exercise_id).where(
                IncidentRow.id.in_(sorted(incidents)), IncidentRow.exercise_id.is_not(None)
            )
        ).all()
    )
    if not exercises:
        return messages
    out: list[NewMessage] = []
    for m in messages:
        exercise_id = exercises.get(m.incident_id) if m.incident_id is not None else None
        if exercise_id is None:
            out.append(m)
            continue
        payload = m.payload
        if payload is not None and isinstance(data := payload.get("data"), dict):
            payload = {**payload, "data": {**data, "exercise_id": exercise_id}}
        out.append(
            replace(
                m,
                subject=marked(m.subject) if m.subject is not None else None,
                body=marked(m.body),
                payload=payload,
            )
        )
    return out


def aware_time(value: datetime, name: str) -> datetime:
    """`value` when it has a time zone; InvalidInput naming it (`name`) when it has none."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{name} has no time zone: times given to the outbox must be timezone-aware")
    return value
