"""A stakeholder group's deadline (the regulator's "told within 60 minutes"), from its deliveries.

Pure: the group's messages as the outbox holds them, and the time, come in.

A group counts as told when a channel confirmed the delivery of one of its messages
(the outbox's `sent`, with its `sent_at`). A message queued, retrying or parked is not
a telling, however early it was queued. So a deadline is:

- **met**: a message was delivered at or before the deadline; the delivery's time is
  the evidence;
- **at risk**: nothing delivered yet and the deadline not passed, with the reason:
  not told yet (held, or not concerned before), queued, retrying after a failure,
  parked (and why), or nothing could be queued at all;
- **missed**: the deadline passed without a delivery, with the reason; and once a
  message is delivered after it, still missed, told late, with the delivery's time.

Each (state, cause) is a step of its own, put on the timeline once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

DeadlineState = Literal["met", "at_risk", "missed"]
Cause = Literal[
    "delivered",  # met: delivered in time
    "late",  # missed: delivered after the deadline
    "not_told",  # nothing queued yet: held by the interruption hold, or not concerned yet
    "queued",  # queued, not yet tried
    "retrying",  # an attempt failed; the outbox tries again
    "parked",  # the outbox gave up, or could not send it at all
    "cancelled",  # cancelled by hand
    "nothing_sent",  # the group was due a notice but nothing could be queued for it
]
FAILURES: frozenset[str] = frozenset({"retrying", "parked", "cancelled", "nothing_sent"})
"""Causes that mean something went wrong: the communications lead is told at once."""

NOTHING_QUEUED = "nothing could be queued for the group: see the messages on the timeline"


@dataclass(frozen=True)
class Delivery:
    """One message to the group, as the outbox holds it."""

    message_id: int
    channel: str
    recipient: str
    state: str
    """pending, sending, sent, parked or cancelled."""
    attempts: int
    sent_at: datetime | None = None
    parked_at: datetime | None = None
    last_error: str | None = None
    recipient_name: str | None = None

    @property
    def who(self) -> str:
        """The recipient as people name them."""
        return self.recipient_name or self.recipient


@dataclass(frozen=True)
class DeadlineStatus:
    """Where one group's deadline stands, why, and the evidence."""

    group: str
    due_by: datetime
    state: DeadlineState
    cause: Cause
    reason: str
    at: datetime | None = None
    """met or told late: when the delivery was confirmed; missed untold: the deadline."""
    message_id: int | None = None
    """The message whose delivery (or failure) is the evidence."""

    @property
    def step(self) -> str:
        """The state and cause, as stored: a change of either is a new timeline entry."""
        return f"{self.state}:{self.cause}"


def deadline_status(
    group: str,
    due_by: datetime,
    deliveries: Iterable[Delivery],
    now: datetime,
    *,
    told: bool,
    channel_word: dict[str, str] | None = None,
) -> DeadlineStatus:
    """The group's deadline at `now`, from its messages.

    `told`: whether the communication plan has told the group (queued its notice, or
    found nothing it could queue); before that, nothing is expected of the outbox.
    """
    words = channel_word or {}
    messages = list(deliveries)
    delivered = sorted((d for d in messages if d.state == "sent" and d.sent_at is not None), key=_sent)
    if delivered:
        first = delivered[0]
        assert first.sent_at is not None
        what = f"{words.get(first.channel, first.channel)} to {first.who} delivered"
        if first.sent_at <= due_by:
            return DeadlineStatus(group, due_by, "met", "delivered", what, first.sent_at, first.message_id)
        return DeadlineStatus(group, due_by, "missed", "late", what, first.sent_at, first.message_id)
    cause, reason, evidence = _undelivered(messages, told=told, words=words)
    if now > due_by:
        return DeadlineStatus(group, due_by, "missed", cause, reason, due_by, evidence)
    return DeadlineStatus(group, due_by, "at_risk", cause, reason, None, evidence)


def _sent(delivery: Delivery) -> tuple[datetime, int]:
    assert delivery.sent_at is not None
    return delivery.sent_at, delivery.message_id


def _undelivered(
    messages: list[Delivery], *, told: bool, words: dict[str, str]
) -> tuple[Cause, str, int | None]:
    """Why nothing is delivered: the most hopeful message first (queued, then retrying, then parked)."""

    def name(d: Delivery) -> str:
        return f"{words.get(d.channel, d.channel)} to {d.who}"

    waiting = [d for d in messages if d.state in ("pending", "sending")]
    fresh = [d for d in waiting if not d.last_error]
    if fresh:
        d = fresh[0]
        return "queued", f"{name(d)} queued, not delivered yet", d.message_id
    if waiting:
        d = waiting[0]
        error = d.last_error or "no reason given"
        return "retrying", f"{name(d)} failed (attempt {d.attempts}): {error}; will retry", d.message_id
    parked = [d for d in messages if d.state == "parked"]
    if parked:
        d = parked[0]
        return "parked", f"{name(d)} parked: {d.last_error or 'no reason given'}", d.message_id
    cancelled = [d for d in messages if d.state == "cancelled"]
    if cancelled:
        d = cancelled[0]
        return "cancelled", f"{name(d)} cancelled", d.message_id
    if told:
        return "nothing_sent", NOTHING_QUEUED, None
    return "not_told", "no message queued for the group yet", None
