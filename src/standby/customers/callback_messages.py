"""Telling customers the new time of their callback: one message per change of time.

A service: it puts messages in the outbox and never commits. Each message is keyed
`callback:ID:time:MOVES`, so a callback moved once is told once however often the
pass runs, and told again only when it moves again.

- **Channel.** The order of the channels (sms, email) of the plan's `customers`
  stakeholder groups, the first one the customer has an address for; else an SMS to
  their phone, which every callback has.
- **Text.** Templates `callback.moved.sms.j2` and `callback.moved.email.j2`, shipped in
  `standby/customers/templates/` and overridable in `STANDBY_DATA_DIR/templates/`, with
  the same rules as the response's templates (`respond.templates`: sandbox, strict
  names, an email's first line is its `Subject:`, an SMS at most 320 characters). The
  text names no customer: a text on a lock screen should not say whose it is; the
  customer's name goes only on the email's envelope. So one rendering serves every
  customer told the same window, and 100,000 messages render in a few hundred calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import jinja2
from sqlalchemy.orm import Session

from standby.errors import InvalidInput
from standby.notify import validate
from standby.notify.channels.protocol import ChannelName
from standby.notify.outbox import MessageRecord, NewMessage, enqueue_many
from standby.notify.outbox_shared import Addressed, CheckedShared, SharedText, check_shared
from standby.plan.schema import Plan
from standby.respond.templates import OVERRIDE_DIR, Rendered, Templates
from standby.store.tables import CallbackRow

PURPOSE = "callback"
VARIABLES: dict[str, str] = {
    "organisation.name": "the contact centre's name",
    "callback.start": "local time the new window starts, such as '14:00'",
    "callback.end": "local time it ends, such as '14:30' (none when the time is exact)",
    "callback.day": "local day, such as 'Tuesday 16 June'",
    "callback.queue": "the name of the queue the call is about",
    "outage": "true when an outage stopped the call at its old time",
}
"""Every variable a callback template may use."""


class CallbackContact(NamedTuple):
    """What telling a customer needs of a callback."""

    id: int
    moves: int
    customer: str
    phone: str
    email: str | None
    queue: str
    due_at: datetime
    window_end: datetime | None
    outage_id: int | None


class CallbackTemplates(Templates):
    """The response's template machinery over the callback templates shipped here."""

    def __init__(self, overrides: Path | None = None) -> None:
        """Overrides in `overrides` (STANDBY_DATA_DIR/templates) when given, over the shipped ones."""
        super().__init__(overrides)
        self.defaults = Path(str(resources.files("standby.customers").joinpath("templates")))
        searchpath = [str(p) for p in (overrides, self.defaults) if p is not None]
        self.environment.loader = jinja2.FileSystemLoader(searchpath)


@cache
def callback_templates(data_dir: Path | None) -> CallbackTemplates:
    """The callback templates of a data directory, cached."""
    return CallbackTemplates(data_dir / OVERRIDE_DIR if data_dir is not None else None)


def contact_of(callback: CallbackRow | CallbackContact) -> CallbackContact:
    """The fields of a callback that telling its customer needs."""
    return CallbackContact(
        callback.id,
        callback.moves,
        callback.customer,
        callback.phone,
        callback.email,
        callback.queue,
        callback.due_at,
        callback.window_end,
        callback.outage_id,
    )


class _Writer:
    """Messages for one plan, each distinct text rendered once."""

    def __init__(self, plan: Plan, data_dir: Path | None) -> None:
        self.plan = plan
        self.zone = ZoneInfo(plan.organisation.timezone)
        self.templates = callback_templates(data_dir)
        self.order = customer_channels(plan)
        self.numbers: dict[tuple[Any, ...], int] = {}
        self.texts: list[SharedText] = []

    def message(self, callback: CallbackContact) -> NewMessage | None:
        """The message telling `callback`'s customer, or None when they have no usable address."""
        addressed = self.addressed(callback)
        if addressed is None:
            return None
        text = self.texts[addressed.text]
        return NewMessage(
            key=addressed.key,
            channel=text.channel,
            recipient=addressed.recipient,
            body=text.body,
            subject=text.subject,
            recipient_name=addressed.recipient_name,
            purpose=text.purpose,
        )

    def addressed(self, callback: CallbackContact) -> Addressed | None:
        """The message as its key, text (rendered the first time it is needed) and recipient."""
        address = self._address(callback)
        if address is None:
            return None
        channel, recipient = address
        facts = (
            channel,
            callback.due_at,
            callback.window_end,
            callback.queue,
            callback.outage_id is not None,
        )
        number = self.numbers.get(facts)
        if number is None:
            rendered = self._render(*facts)
            number = self.numbers[facts] = len(self.texts)
            self.texts.append(SharedText(channel, rendered.body, PURPOSE, rendered.subject))
        return Addressed(
            f"callback:{callback.id}:time:{callback.moves}",
            number,
            recipient,
            callback.customer,  # made one line, and checked, by the outbox
        )

    def _address(self, callback: CallbackContact) -> tuple[ChannelName, str] | None:
        """The first channel the customer can be reached on, checked as the outbox will check it."""
        for channel in (*self.order, "sms"):
            value = callback.email if channel == "email" else callback.phone
            if not value:
                continue
            try:
                return channel, validate.recipient(channel, value)
            except InvalidInput:
                continue
        return None

    def _render(
        self, channel: ChannelName, due_at: datetime, window_end: datetime | None, queue_id: str, outage: bool
    ) -> Rendered:
        start = due_at.astimezone(self.zone)
        end = window_end.astimezone(self.zone) if window_end is not None else None
        queue = self.plan.queues_by_id.get(queue_id)
        window = {
            "start": f"{start:%H:%M}",
            "end": f"{end:%H:%M}" if end is not None else None,
            "day": f"{start:%A} {start.day} {start:%B}",
            "queue": queue.name if queue is not None else queue_id,
        }
        variables = {
            "organisation": {"name": self.plan.organisation.name},
            "callback": window,
            "outage": outage,
        }
        return self.templates.render("callback", "moved", channel, variables)


def customer_channels(plan: Plan) -> tuple[ChannelName, ...]:
    """The channels customers are told on, in the order of the plan's customers groups."""
    found: list[ChannelName] = []
    for group in plan.stakeholders:
        for channel in group.channels if group.kind == "customers" else ():
            if channel in ("sms", "email") and channel not in found:
                found.append("sms" if channel == "sms" else "email")
    return tuple(found)


def tell_new_time(
    session: Session,
    *,
    plan: Plan,
    callback: CallbackRow | CallbackContact,
    now: datetime,
    data_dir: Path | None = None,
) -> MessageRecord | None:
    """Tell the customer the callback's new time, once per move; None when they have no usable address.

    TemplateProblem when an override template cannot be used.
    """
    message = _Writer(plan, data_dir).message(contact_of(callback))
    if message is None:
        return None
    (record,) = enqueue_many(session, [message], now=now)
    return record


def new_time_messages(
    plan: Plan, callbacks: Iterable[CallbackContact], data_dir: Path | None = None
) -> CheckedShared:
    """The messages telling many customers their new times, checked and ready for the outbox (pure).

    Each distinct text is rendered once and goes to the database once (`outbox_shared`).
    TemplateProblem when an override template cannot be used.
    """
    writer = _Writer(plan, data_dir)
    messages = [m for m in map(writer.addressed, callbacks) if m is not None]
    return check_shared(writer.texts, messages)
