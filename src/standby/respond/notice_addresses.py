"""Addressing the communication plan's notices: who each one goes to, where, under which key.

Pure. `respond.communication` decides which group is told what and when; this turns each
decision into notices with their recipients, one message per address and each with a
stable idempotency key (`message_key`), so that deciding again never sends twice.

Recipients per channel: email to members', contacts' and (employees) agents'
addresses, a vendor's support email; sms to their phone numbers. `status_page` and
`ivr_message` are publications, texts for the status page and the IVR with no
recipient. Customers' own SMS and email are not notices to a group: each customer whose
callback an outage moves is told their new time, once (`customers.callback_messages`),
so such a notice is returned with `skipped` saying so, as is a `webhook` channel (the
plan gives stakeholder groups no webhook address). Reminders go to the communications
lead, else the commander, else the plan's communications people (`lead_candidates`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from standby.plan.people import Person, Stakeholder
from standby.plan.schema import Plan
from standby.plan.section import Channel, StakeholderKind

Phase = Literal["detected", "update", "resolved"]
PUBLICATIONS: frozenset[str] = frozenset({"status_page", "ivr_message"})
MAX_KEY = 200
"""The outbox's idempotency keys are at most this long."""
_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")

CUSTOMERS_ONE_BY_ONE = (
    "not sent as a notice: customers are told one by one, each when their callback is given"
    " a new time (the status page and the IVR message tell everyone else)"
)
NO_WEBHOOK = "not sent: the plan gives stakeholder groups no webhook address"


@dataclass(frozen=True)
class AgentContact:
    """An agent of the directory, as the communication plan needs them."""

    team_id: str
    name: str
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Recipient:
    """One address a notice goes to, with the idempotency key of that one message."""

    address: str
    name: str | None
    key: str
    channel: Literal["email", "sms"] = "email"


@dataclass(frozen=True)
class Notice:
    """One message to a stakeholder group on one channel, for one phase (or a publication)."""

    incident_id: int
    group: str
    kind: StakeholderKind
    phase: Phase
    number: int
    """0 for detected and resolved; 1, 2, ... for updates."""
    channel: Channel
    recipients: tuple[Recipient, ...] = ()
    vendor: str | None = None
    next_update_at: datetime | None = None
    skipped: str | None = None
    """Why nothing can be sent on this channel, when nothing can."""
    unreachable: int = 0
    """People of the group with no address for this channel."""

    @property
    def publication(self) -> bool:
        """A text for the status page or the IVR, not a message to anyone."""
        return self.channel in PUBLICATIONS

    @property
    def deliverable(self) -> bool:
        """Whether the notice reaches anyone: a publication, or a message with recipients."""
        return self.skipped is None and (self.publication or bool(self.recipients))

    @property
    def ref(self) -> str:
        """What names this notice on the timeline and in keys, without the recipient."""
        vendor = f":{self.vendor}" if self.vendor else ""
        return f"comm:{self.incident_id}:{self.group}{vendor}:{self.phase}:{self.number}:{self.channel}"


def message_key(ref: str, address: str) -> str:
    """The idempotency key of one message: the notice's ref and the address, at most MAX_KEY long."""
    key = f"{ref}:{address}"
    if len(key) <= MAX_KEY and _VISIBLE_ASCII.fullmatch(key):
        return key
    # Keys go into headers: visible ASCII only. A long or non-ASCII address is hashed.
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]
    return f"{ref[: MAX_KEY - 42]}:#{digest}"


def normalise_phone(phone: str) -> str:
    """A phone number as gateways want it: digits with an optional leading +."""
    digits = re.sub(r"[^0-9]", "", phone)
    return f"+{digits}" if phone.strip().startswith("+") else digits


def normalise_email(email: str) -> str:
    """An email address trimmed; the domain lower-cased."""
    local, _, domain = email.strip().rpartition("@")
    return f"{local}@{domain.lower()}" if local else email.strip()


def addressed_notices(
    plan: Plan,
    group: Stakeholder,
    incident_id: int,
    phase: Phase,
    number: int,
    *,
    agents: Sequence[AgentContact],
    vendors: Iterable[str] = (),
) -> tuple[Notice, ...]:
    """The group's notices for one phase, one a channel (for vendors: one a channel per vendor told)."""
    notices: list[Notice] = []
    base = Notice(
        incident_id=incident_id,
        group=group.id,
        kind=group.kind,
        phase=phase,
        number=number,
        channel="email",
    )
    if group.kind == "vendors":
        for vendor_id in vendors:
            for channel in group.channels:
                notices.append(_vendor_notice(plan, replace(base, channel=channel, vendor=vendor_id)))
        return tuple(notices)
    for channel in group.channels:
        notice = replace(base, channel=channel)
        if notice.publication:
            notices.append(notice)
        elif channel == "webhook":
            notices.append(replace(notice, skipped=NO_WEBHOOK))
        elif group.kind == "customers":
            notices.append(replace(notice, skipped=CUSTOMERS_ONE_BY_ONE))
        else:
            notices.append(_addressed(plan, group, notice, agents))
    return tuple(notices)


def _vendor_notice(plan: Plan, notice: Notice) -> Notice:
    vendor = plan.vendors_by_id[notice.vendor or ""]
    support = vendor.support
    if notice.channel == "email" and support.email:
        address = normalise_email(support.email)
    elif notice.channel == "sms" and support.phone:
        address = normalise_phone(support.phone)
    elif notice.channel in PUBLICATIONS:
        return replace(notice, skipped="not published: vendors are told by email or SMS")
    else:
        reach = []
        if support.phone:
            reach.append(f"call {support.phone}")
        if support.email:
            reach.append(f"email {support.email}")
        how = f"; {' or '.join(reach)}" if reach else ""
        return replace(
            notice,
            skipped=f"not sent: the plan gives {vendor.name} no support {_channel_word(notice.channel)}{how}",
            unreachable=1,
        )
    recipient = Recipient(
        address=address, name=vendor.name, key=message_key(notice.ref, address), channel=_kind(notice.channel)
    )
    return replace(notice, recipients=(recipient,))


def _kind(channel: Channel) -> Literal["email", "sms"]:
    return "sms" if channel == "sms" else "email"


def _channel_word(channel: str) -> str:
    return {"email": "email address", "sms": "phone number for SMS"}.get(channel, f"{channel} address")


def _addressed(plan: Plan, group: Stakeholder, notice: Notice, agents: Sequence[AgentContact]) -> Notice:
    people: list[tuple[str | None, str | None]] = []  # (name, address or None)
    for person_id in group.members:
        person = plan.people_by_id.get(person_id)
        if person is not None:
            people.append((person.name, _address_of(person.email, person.phone, notice.channel)))
    for contact in group.contacts:
        people.append((contact.name, _address_of(contact.email, contact.phone, notice.channel)))
    teams = set(group.teams)
    for agent in agents:
        if agent.team_id in teams:
            people.append((agent.name, _address_of(agent.email, agent.phone, notice.channel)))
    recipients: list[Recipient] = []
    seen: set[str] = set()
    unreachable = 0
    for name, address in people:
        if address is None:
            unreachable += 1
            continue
        if address in seen:
            continue
        seen.add(address)
        recipients.append(
            Recipient(
                address=address,
                name=name,
                key=message_key(notice.ref, address),
                channel=_kind(notice.channel),
            )
        )
    skipped = None
    if not recipients:
        skipped = f"not sent: nobody in the group has {_channel_word(notice.channel)}"
        if teams and not any(a.team_id in teams for a in agents):
            skipped += " (the agents directory lists nobody in its teams: POST /api/v1/agents)"
    return replace(notice, recipients=tuple(recipients), unreachable=unreachable, skipped=skipped)


def _address_of(email: str | None, phone: str | None, channel: str) -> str | None:
    if channel == "email":
        return normalise_email(email) if email else None
    if channel == "sms":
        return normalise_phone(phone) if phone else None
    return None


def lead_candidates(
    plan: Plan, *, communications_lead: str | None, commander: str | None
) -> tuple[Person, ...]:
    """Who gets reminders: the communications lead, else the commander, else the plan's
    communications people. A role holder is found by person id, else by name."""
    for holder in (communications_lead, commander):
        person = _find_person(plan, holder)
        if person is not None:
            return (person,)
    return tuple(p for p in plan.people if p.role and "communications" in p.role.lower())


def _find_person(plan: Plan, holder: str | None) -> Person | None:
    if not holder:
        return None
    found = plan.people_by_id.get(holder.strip())
    if found is not None:
        return found
    wanted = holder.strip().casefold()
    for person in plan.people:
        if person.name.casefold() == wanted:
            return person
    return None


def reminder_recipients(leads: Sequence[Person], ref: str) -> tuple[Recipient, ...]:
    """Where each lead is reminded under `ref`: by SMS, or by email when they have no phone."""
    recipients: list[Recipient] = []
    for person in leads:
        # SMS first: a reminder matters within minutes; email when there is no phone.
        channel: Literal["email", "sms"]
        if person.phone:
            channel, address = "sms", normalise_phone(person.phone)
        elif person.email:
            channel, address = "email", normalise_email(person.email)
        else:
            continue
        recipients.append(
            Recipient(
                address=address,
                name=person.name,
                key=message_key(f"{ref}:{channel}", address),
                channel=channel,
            )
        )
    return tuple(recipients)
