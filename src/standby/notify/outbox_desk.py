"""The outbox desk: messages read and changed by hand, apart from the delivery loop.

A service beside `outbox`: what the pages, the API and the response read (lists,
counts, one message), and what a person does to one message (send a parked one
again, cancel one that waits). Functions take a session and never commit.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from standby.errors import Conflict, InvalidInput, NotFound
from standby.notify import validate
from standby.notify.outbox import MessageRecord, message_record
from standby.store.tables import MESSAGE_STATES, MessageRow

log = logging.getLogger("standby.notify")

_T: Table = MessageRow.__table__  # type: ignore[assignment]


def list_messages(
    session: Session,
    *,
    incident_id: int | None = None,
    state: str | None = None,
    channel: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[MessageRecord]:
    """Messages, newest first; only an incident's, or those in one state or of one channel, when asked."""
    if state is not None and state not in MESSAGE_STATES:
        raise InvalidInput(f"unknown state {state!r}: use one of {', '.join(MESSAGE_STATES)}")
    query = select(_T).order_by(_T.c.id.desc()).limit(max(1, limit))
    if incident_id is not None:
        query = query.where(_T.c.incident_id == incident_id)
    if state is not None:
        query = query.where(_T.c.state == state)
    if channel is not None:
        query = query.where(_T.c.channel == validate.check_channel(channel))
    if before_id is not None:
        query = query.where(_T.c.id < before_id)
    return [message_record(row) for row in session.execute(query)]


def get_message(session: Session, message_id: int) -> MessageRecord:
    """One message; NotFound when there is none with that id."""
    row = session.execute(select(_T).where(_T.c.id == message_id)).first()
    if row is None:
        raise NotFound(f"no message with id {message_id}")
    return message_record(row)


def get_by_key(session: Session, key: str) -> MessageRecord | None:
    """The message with this idempotency key, if there is one."""
    row = session.execute(select(_T).where(_T.c.idempotency_key == key)).first()
    return message_record(row) if row is not None else None


def count_by_state(
    session: Session, *, incident_id: int | None = None, channel: str | None = None
) -> dict[str, int]:
    """How many messages are in each state (every state is present, zero or not)."""
    query = select(_T.c.state, func.count()).group_by(_T.c.state)
    if incident_id is not None:
        query = query.where(_T.c.incident_id == incident_id)
    if channel is not None:
        query = query.where(_T.c.channel == validate.check_channel(channel))
    counts = dict.fromkeys(MESSAGE_STATES, 0)
    for state, count in session.execute(query):
        counts[state] = int(count)
    return counts


def count_failing(session: Session) -> int:
    """Messages waiting to be tried again after a failed attempt (pending, with an error)."""
    query = select(func.count()).where(_T.c.state == "pending", _T.c.last_error.is_not(None))
    return int(session.scalar(query) or 0)


def retry_parked(session: Session, *, message_id: int, now: datetime, by: str) -> MessageRecord:
    """Send a parked message again (due now, attempts from zero); Conflict when it is not parked.

    The reason it was parked stays in `last_error` until the next attempt replaces it.
    """
    row = session.execute(
        update(_T)
        .where(_T.c.id == message_id, _T.c.state == "parked")
        .values(state="pending", attempts=0, next_attempt_at=now, parked_at=None)
        .returning(*_T.c)
    ).first()
    if row is None:
        current = get_message(session, message_id)
        raise Conflict(
            f"message {message_id} is {current.state}, not parked: only a parked message is retried"
        )
    log.info("message %s: retried by %s", message_id, by)
    return message_record(row)


def cancel(session: Session, *, message_id: int, now: datetime) -> MessageRecord:
    """Stop a message that is waiting (pending or parked); Conflict once it is sending or sent."""
    row = session.execute(
        update(_T)
        .where(_T.c.id == message_id, _T.c.state.in_(("pending", "parked")))
        .values(state="cancelled", parked_at=None, claimed_by=None, claimed_until=None)
        .returning(*_T.c)
    ).first()
    if row is None:
        current = get_message(session, message_id)
        why = {
            "sending": "it is being sent right now",
            "sent": "it was sent",
            "cancelled": "it is cancelled already",
        }.get(current.state, current.state)
        raise Conflict(f"message {message_id} cannot be cancelled: {why}")
    log.info("message %s cancelled at %s", message_id, now.isoformat())
    return message_record(row)
