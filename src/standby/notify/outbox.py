"""The outbox: every message Standby sends, stored before it is sent, sent once.

A service: functions take a session and the time, and never commit (the unit of work
does). The life of a message:

    pending --claim--> sending --sent------------------------> sent
       ^                  |----temporary failure (backoff)--> pending
       |                  |----permanent, or 8th failure----> parked --retry--> pending
       |                  '----claim lease ran out (a crash)--> claimed again, same key
       '--cancel (pending or parked) --> cancelled

- `enqueue` is idempotent: the same key gives back the row that exists (INSERT ... ON
  CONFLICT DO NOTHING, then a SELECT), however often and however concurrently it is asked.
- `claim_due` marks due messages `sending` with a claim (worker, lease) in one UPDATE
  whose subquery takes the rows with `FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite has one
  writer), so two workers never claim the same message. The attempt is counted when it is
  claimed: a message whose sending kills its worker every time is parked, not retried
  forever. A message whose claim ran out while `sending` (its worker died mid-send) is
  claimed again with the same idempotency key.
- `mark_sent` records a delivery whoever holds the claim: it is a fact. `mark_failed`
  applies only for the worker that still holds the claim, so a worker that was cut off
  cannot undo what its successor did.
- Backoff: 30 s x 2^(attempts-1), at most 30 min, less up to 20% of jitter; parked after
  8 attempts or at the first permanent failure, with the reason in `last_error`.

Reading messages and changing one by hand (retry, cancel) is `outbox_desk`'s.

The first statement of each writing function is a write, so that on SQLite (WAL) its
transaction takes the write lock at once instead of failing to upgrade a read.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Table, bindparam, select, update
from sqlalchemy.orm import Session

from standby.errors import InvalidInput
from standby.exercise.audience import marked
from standby.notify import validate
from standby.notify.channels.protocol import ChannelName, OutgoingMessage
from standby.notify.outbox_insert import insert_ignoring_duplicates
from standby.store.tables import IncidentRow, MessageRow

log = logging.getLogger("standby.notify")

_T: Table = MessageRow.__table__  # type: ignore[assignment]
MAX_ERROR = 2000


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again after a failure, and when to give up."""

    base_s: float = 30.0
    cap_s: float = 1800.0
    max_attempts: int = 8
    jitter: float = 0.2

    def delay_s(self, attempts: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after the `attempts`-th failed attempt (1-based).

        base x 2^(attempts-1), at most cap, then less up to `jitter` of it at random, so that
        messages that failed together do not all come back at the same instant.
        """
        exponent = min(max(attempts, 1) - 1, 60)
        delay = min(self.cap_s, self.base_s * 2.0**exponent)
        draw = (rng or random).random()
        return delay * (1.0 - self.jitter * draw)

    def gives_up_after(self, attempts: int) -> bool:
        """Whether a temporary failure at this attempt parks the message."""
        return attempts >= self.max_attempts


DEFAULT_POLICY = RetryPolicy()


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


OnOutcome = Callable[[Session, MessageRecord], None]


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


@dataclass(frozen=True)
class Outcome:
    """What happened to one claimed message: sent (with the provider's id) or failed (why)."""

    message_id: int
    sent: bool
    provider_id: str | None = None
    error: str = ""
    permanent: bool = False


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


# ---- claiming and recording what happened ---------------------------------------------------


def claim_due(
    session: Session,
    *,
    worker_id: str,
    now: datetime,
    limit: int,
    lease: timedelta,
    policy: RetryPolicy = DEFAULT_POLICY,
    on_outcome: OnOutcome | None = None,
) -> list[MessageRecord]:
    """Claim up to `limit` due messages for `worker_id` until `now + lease`; oldest due first.

    First those whose claim ran out while `sending` (their worker died mid-send: they go
    out again with the same idempotency key), then pending ones that are due. A message
    claimed again after `policy.max_attempts` attempts is parked instead (its last
    attempt may have reached the recipient: nobody knows), and `on_outcome` is told.
    """
    if limit <= 0:
        return []
    until = now + lease
    claimed: list[MessageRecord] = []
    stale = (
        select(_T.c.id)
        .where(_T.c.state == "sending", _T.c.claimed_until < now)
        .order_by(_T.c.claimed_until, _T.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    for record in _claim(session, stale, worker_id, until):
        if record.attempts > policy.max_attempts:
            reason = (
                f"its sender stopped while sending it (attempt {record.attempts - 1} of"
                f" {policy.max_attempts}); that attempt may have reached the recipient"
            )
            parked = _park(session, record.id, now, reason)
            log.warning("message %s parked: %s", record.id, reason)
            if parked is not None and on_outcome is not None:
                on_outcome(session, parked)
        else:
            claimed.append(record)
    room = limit - len(claimed)
    if room > 0:
        due = (
            select(_T.c.id)
            .where(_T.c.state == "pending", _T.c.next_attempt_at <= now)
            .order_by(_T.c.next_attempt_at, _T.c.id)
            .limit(room)
            .with_for_update(skip_locked=True)
        )
        claimed.extend(_claim(session, due, worker_id, until))
    claimed.sort(key=lambda r: (r.next_attempt_at, r.id))
    return claimed


def _claim(session: Session, ids: Any, worker_id: str, until: datetime) -> list[MessageRecord]:
    statement = (
        update(_T)
        .where(_T.c.id.in_(ids))
        .values(state="sending", claimed_by=worker_id, claimed_until=until, attempts=_T.c.attempts + 1)
        .returning(*_T.c)
    )
    return [message_record(row) for row in session.execute(statement)]


def _park(session: Session, message_id: int, now: datetime, reason: str) -> MessageRecord | None:
    row = session.execute(
        update(_T)
        .where(_T.c.id == message_id)
        .values(
            state="parked", parked_at=now, last_error=reason[:MAX_ERROR], claimed_by=None, claimed_until=None
        )
        .returning(*_T.c)
    ).first()
    return message_record(row) if row is not None else None


def mark_sent(
    session: Session, *, message_id: int, worker_id: str, now: datetime, provider_id: str | None
) -> MessageRecord | None:
    """Record that the message was delivered; None when it was already recorded as sent.

    A delivery is a fact: it is recorded even when the claim ran out and another worker
    holds the message now (that one's own delivery then changes nothing).
    """
    row = session.execute(
        update(_T)
        .where(_T.c.id == message_id, _T.c.state != "sent")
        .values(
            state="sent",
            sent_at=now,
            provider_id=(provider_id or None) and provider_id[:200],
            claimed_by=None,
            claimed_until=None,
            parked_at=None,
        )
        .returning(*_T.c)
    ).first()
    if row is None:
        log.debug("message %s: delivery by %s was already recorded", message_id, worker_id)
        return None
    return message_record(row)


def mark_failed(
    session: Session,
    *,
    message_id: int,
    worker_id: str,
    now: datetime,
    error: str,
    permanent: bool,
    policy: RetryPolicy = DEFAULT_POLICY,
    rng: random.Random | None = None,
) -> MessageRecord | None:
    """Record a failed attempt: back to pending after the backoff, or parked with the reason.

    Parked at once when `permanent`, else after `policy.max_attempts` attempts. Applies
    only while `worker_id` holds the claim; None otherwise (another worker took it over,
    or it was delivered meanwhile).
    """
    # A write first (see the module's note), which also reads the attempts under the lock.
    held = session.execute(
        update(_T)
        .where(_T.c.id == message_id, _T.c.state == "sending", _T.c.claimed_by == worker_id)
        .values(claimed_until=now)
        .returning(_T.c.attempts)
    ).first()
    if held is None:
        return None
    attempts = int(held.attempts)
    reason = _clean(error) or "failed (no reason given)"
    if permanent or policy.gives_up_after(attempts):
        if not permanent:
            reason = f"{reason} (gave up after {attempts} attempts)"
        return _park(session, message_id, now, reason)
    due = now + timedelta(seconds=policy.delay_s(attempts, rng))
    row = session.execute(
        update(_T)
        .where(_T.c.id == message_id)
        .values(
            state="pending",
            next_attempt_at=due,
            last_error=reason[:MAX_ERROR],
            claimed_by=None,
            claimed_until=None,
        )
        .returning(*_T.c)
    ).one()
    return message_record(row)


@dataclass(frozen=True)
class Recorded:
    """What `record_outcomes` changed: how many were recorded sent, and the failures recorded."""

    sent_ids: tuple[int, ...]
    failed: tuple[MessageRecord, ...]


def record_outcomes(
    session: Session,
    *,
    worker_id: str,
    now: datetime,
    outcomes: Iterable[Outcome],
    policy: RetryPolicy = DEFAULT_POLICY,
    rng: random.Random | None = None,
    on_outcome: OnOutcome | None = None,
) -> Recorded:
    """Record many outcomes in one transaction (the sender's batch).

    Deliveries are written with one statement for the whole batch (thousands a second);
    failures one by one. `on_outcome` is called for each changed message inside this
    transaction, so that what it writes (the incident timeline) is committed with the
    outcome or not at all.
    """
    sent = [o for o in outcomes if o.sent]
    failed = [o for o in outcomes if not o.sent]
    sent_ids: tuple[int, ...] = ()
    if sent:
        session.execute(
            update(_T)
            .where(_T.c.id == bindparam("b_id"), _T.c.state != "sent")
            .values(
                state="sent",
                sent_at=now,
                provider_id=bindparam("b_provider"),
                claimed_by=None,
                claimed_until=None,
                parked_at=None,
            ),
            [{"b_id": o.message_id, "b_provider": (o.provider_id or "")[:200] or None} for o in sent],
        )
        # Which of them this batch recorded (not one already sent): sent now, by this statement.
        ids = [o.message_id for o in sent]
        query = select(_T) if on_outcome is not None else select(_T.c.id)
        found = session.execute(query.where(_T.c.id.in_(ids), _T.c.state == "sent", _T.c.sent_at == now))
        if on_outcome is not None:
            records = [message_record(row) for row in found]
            sent_ids = tuple(r.id for r in records)
            for done in records:
                on_outcome(session, done)
        else:
            sent_ids = tuple(row.id for row in found)
    recorded: list[MessageRecord] = []
    for outcome in failed:
        record = mark_failed(
            session,
            message_id=outcome.message_id,
            worker_id=worker_id,
            now=now,
            error=outcome.error,
            permanent=outcome.permanent,
            policy=policy,
            rng=rng,
        )
        if record is not None:
            recorded.append(record)
            if on_outcome is not None:
                on_outcome(session, record)
    return Recorded(sent_ids, tuple(recorded))


def release(session: Session, *, worker_id: str, message_ids: Iterable[int], now: datetime) -> int:
    """Give back claimed messages whose sending was cut short (a clean stop); returns how many.

    They are due again at once; the attempt still counts, and the same key goes with them.
    """
    ids = list(message_ids)
    if not ids:
        return 0
    result = session.execute(
        update(_T)
        .where(_T.c.id.in_(ids), _T.c.state == "sending", _T.c.claimed_by == worker_id)
        .values(state="pending", next_attempt_at=now, claimed_by=None, claimed_until=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# ---- helpers -------------------------------------------------------------------------------------


def aware_time(value: datetime, name: str) -> datetime:
    """`value` when it has a time zone; InvalidInput naming it (`name`) when it has none."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{name} has no time zone: times given to the outbox must be timezone-aware")
    return value


def _clean(text: str) -> str:
    """One line of at most MAX_ERROR printable characters."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in str(text)).split())
    return flat[:MAX_ERROR]
