"""Delivering the outbox's messages: claiming those due, and recording what happened to each.

A service: functions take a session and the time, and never commit (the unit of work
does). The life of a message is in `outbox`'s docstring.

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

The first statement of each writing function is a write, so that on SQLite (WAL) its
transaction takes the write lock at once instead of failing to upgrade a read.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from standby.notify.outbox import MessageRecord, message_record
from standby.store.tables import MessageRow

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
OnOutcome = Callable[[Session, MessageRecord], None]


@dataclass(frozen=True)
class Outcome:
    """What happened to one claimed message: sent (with the provider's id) or failed (why)."""

    message_id: int
    sent: bool
    provider_id: str | None = None
    error: str = ""
    permanent: bool = False


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


def _clean(text: str) -> str:
    """One line of at most MAX_ERROR printable characters."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in str(text)).split())
    return flat[:MAX_ERROR]
