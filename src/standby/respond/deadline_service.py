"""Following the stakeholder groups' deadlines through the outbox's deliveries.

`follow_deadlines` runs inside `communication_service.communicate`, under the incident's
row lock: for each group with a deadline it reads the group's messages in the outbox,
asks `respond.deadlines` where the deadline stands, and when that changed (met, at risk
and why, missed and why, told late) it writes the timeline once, stores the step on the
group's `CommunicationRow`, and, when the deadline became at risk through a failure
(a message retrying, parked, cancelled, or nothing could be queued) or was missed, tells
the communications lead at once through the outbox. The lead is the incident's
communications lead, else its commander, else the plan's people whose role mentions
communications (the rule reminders follow). Each alert's idempotency key names the
incident, the group and the step kind (at risk, missed), so it goes once per deadline
whatever the number of passes or workers.

`deadlines_of` gives the API and the pages each deadline as it stands now, from the
same deliveries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from standby.errors import InvalidInput
from standby.notify.outbox import enqueue
from standby.plan.people import Person
from standby.plan.schema import Plan
from standby.respond.deadlines import FAILURES, DeadlineStatus, Delivery, deadline_status
from standby.respond.notice_addresses import lead_candidates, message_key, normalise_email, normalise_phone
from standby.respond.templates import local_time
from standby.respond.timeline import add_entry
from standby.store.tables import CommunicationRow, IncidentRow, MessageRow

COMM_PURPOSES = ("comm-detected", "comm-update", "comm-resolved")
"""The outbox purposes of messages to a group (a reminder to the lead is not one)."""
CHANNEL_WORDS = {"email": "email", "sms": "SMS", "webhook": "webhook"}
STATE_WORDS = {"met": "met", "at_risk": "at risk", "missed": "missed"}


@dataclass(frozen=True)
class DeadlineView:
    """A group's deadline as the API shows it: state, reason and evidence."""

    group: str
    due_by: datetime
    state: str
    cause: str
    reason: str
    at: datetime | None
    message_id: int | None


def deliveries_by_group(
    session: Session, incident_ids: Iterable[int]
) -> dict[tuple[int, str], list[Delivery]]:
    """The messages to stakeholder groups of these incidents, by (incident, group), oldest first."""
    ids = list(incident_ids)
    found: dict[tuple[int, str], list[Delivery]] = defaultdict(list)
    if not ids:
        return found
    rows = session.execute(
        select(
            MessageRow.id,
            MessageRow.incident_id,
            MessageRow.idempotency_key,
            MessageRow.channel,
            MessageRow.recipient,
            MessageRow.recipient_name,
            MessageRow.state,
            MessageRow.attempts,
            MessageRow.sent_at,
            MessageRow.parked_at,
            MessageRow.last_error,
        )
        .where(MessageRow.incident_id.in_(ids), MessageRow.purpose.in_(COMM_PURPOSES))
        .order_by(MessageRow.id)
    )
    for row in rows:
        # Keys are comm:INCIDENT:GROUP:... (notice_addresses.Notice.ref): the group is the third part.
        parts = str(row.idempotency_key).split(":", 3)
        if len(parts) < 4 or parts[0] != "comm" or row.incident_id is None:
            continue
        found[(int(row.incident_id), parts[2])].append(
            Delivery(
                message_id=int(row.id),
                channel=str(row.channel),
                recipient=str(row.recipient),
                recipient_name=row.recipient_name,
                state=str(row.state),
                attempts=int(row.attempts),
                sent_at=row.sent_at,
                parked_at=row.parked_at,
                last_error=row.last_error,
            )
        )
    return found


def deadlines_of(
    session: Session, incident_ids: Sequence[int], now: datetime
) -> dict[int, list[DeadlineView]]:
    """Each incident's deadlines as they stand at `now`, by incident id (incidents without any: absent)."""
    rows = list(
        session.scalars(
            select(CommunicationRow)
            .where(CommunicationRow.incident_id.in_(list(incident_ids)), CommunicationRow.due_by.is_not(None))
            .order_by(CommunicationRow.incident_id, CommunicationRow.id)
        )
    )
    if not rows:
        return {}
    deliveries = deliveries_by_group(session, {r.incident_id for r in rows})
    views: dict[int, list[DeadlineView]] = defaultdict(list)
    for row in rows:
        assert row.due_by is not None
        status = deadline_status(
            row.stakeholder_id,
            row.due_by,
            deliveries.get((row.incident_id, row.stakeholder_id), ()),
            now,
            told=row.first_told_at is not None,
            channel_word=CHANNEL_WORDS,
        )
        views[row.incident_id].append(
            DeadlineView(
                status.group,
                status.due_by,
                status.state,
                status.cause,
                status.reason,
                status.at,
                status.message_id,
            )
        )
    return dict(views)


def follow_deadlines(
    session: Session, *, plan: Plan, incident: IncidentRow, now: datetime, base_url: str
) -> list[DeadlineStatus]:
    """Bring each group's deadline up to date with the deliveries; the deadlines that changed."""
    rows = list(
        session.scalars(
            select(CommunicationRow).where(
                CommunicationRow.incident_id == incident.id, CommunicationRow.due_by.is_not(None)
            )
        )
    )
    if not rows:
        return []
    deliveries = deliveries_by_group(session, [incident.id])
    follow = _Follow(session, plan, incident, now, base_url)
    changed: list[DeadlineStatus] = []
    for row in rows:
        assert row.due_by is not None
        status = deadline_status(
            row.stakeholder_id,
            row.due_by,
            deliveries.get((incident.id, row.stakeholder_id), ()),
            now,
            told=row.first_told_at is not None,
            channel_word=CHANNEL_WORDS,
        )
        before = row.deadline_step
        if status.step == before:
            continue
        row.deadline_step, row.deadline_reason, row.deadline_at = status.step, status.reason[:2000], status.at
        row.deadline_missed = status.state == "missed"
        if status.step == "at_risk:not_told":
            continue  # every deadline starts so: nothing has happened yet
        follow.record(status, before)
        changed.append(status)
    return changed


class _Follow:
    """One pass's timeline entries and alerts for an incident's deadlines."""

    def __init__(
        self, session: Session, plan: Plan, incident: IncidentRow, now: datetime, base_url: str
    ) -> None:
        self.session = session
        self.plan = plan
        self.incident = incident
        self.now = now
        self.base_url = base_url
        self.zone = ZoneInfo(plan.organisation.timezone)

    def at(self, when: datetime) -> str:
        return local_time(when, self.zone)

    def promise(self, group_id: str) -> str:
        group = next((g for g in self.plan.stakeholders if g.id == group_id), None)
        if group is not None and group.within_minutes:
            return f"within {group.within_minutes:g} minutes"
        return "on time"

    def text(self, status: DeadlineStatus) -> str:
        group, due, promise = status.group, self.at(status.due_by), self.promise(status.group)
        if status.state == "met" and status.at is not None:
            told = self.at(status.at)
            return f"Deadline met: {group} told at {told}, {promise} (due by {due}): {status.reason}"
        if status.cause == "late" and status.at is not None:
            late = (status.at - status.due_by).total_seconds() / 60
            return (
                f"Deadline missed: {group} told at {self.at(status.at)}, {late:.0f} minutes after the"
                f" deadline of {due} (promised {promise}): {status.reason}"
            )
        if status.state == "missed":
            return f"Deadline missed: {group} not told by {due} (promised {promise}): {status.reason}"
        return f"Deadline at risk: {group} not told yet, due by {due} ({promise}): {status.reason}"

    def record(self, status: DeadlineStatus, before: str | None) -> None:
        """The timeline entry, once per step; the lead told when it failed or was missed."""
        alert = self.alert_kind(status, before)
        text = self.text(status)
        data: dict[str, Any] = {
            "group": status.group,
            "state": status.state,
            "cause": status.cause,
            "due_by": status.due_by.isoformat(),
            "at": status.at.isoformat() if status.at else None,
            "reason": status.reason,
            "message_id": status.message_id,
            "from": before,
        }
        if alert is not None:
            names, sent, earlier = self.tell_lead(status, alert)
            data["lead_told"] = sent
            if sent:
                text += f"; {names} told at once"
            elif earlier:
                text += f"; {names} already told"
            else:
                text += (
                    "; nobody could be told at once: no communications lead, commander or communications"
                    " person with a phone or email in the plan"
                )
        # When it happened: the delivery's time, the deadline passing, or now (at risk).
        add_entry(
            self.session,
            incident_id=self.incident.id,
            at=status.at or self.now,
            kind="deadline",
            text=text,
            data=data,
        )

    @staticmethod
    def alert_kind(status: DeadlineStatus, before: str | None) -> Literal["at_risk", "missed"] | None:
        """Whether this step is one the lead is told of: the first failure, and the miss."""
        state, _, cause = (before or "").partition(":")
        if status.state == "missed":
            return None if state == "missed" else "missed"
        if status.state == "at_risk" and status.cause in FAILURES:
            return None if state == "at_risk" and cause in FAILURES else "at_risk"
        return None

    def tell_lead(
        self, status: DeadlineStatus, alert: Literal["at_risk", "missed"]
    ) -> tuple[str, list[int], bool]:
        """Queue the alert to the lead by SMS and email; (names, messages queued now, queued before)."""
        incident = self.incident
        leads = lead_candidates(
            self.plan, communications_lead=incident.communications_lead, commander=incident.commander
        )
        word = STATE_WORDS[status.state]
        due = self.at(status.due_by)
        link = f"{self.base_url.rstrip('/')}/incidents/{self.incident.id}"
        sms = (
            f"[Standby] Incident {self.incident.id}: deadline {word} for {status.group}"
            f" (due by {due}): {status.reason}"
        )[:280] + f" {link}"
        subject = f"Deadline {word}: {status.group}, incident {self.incident.id} (due by {due})"
        body = (
            f"The promise to tell {status.group} {self.promise(status.group)} (by {due}) is {word}.\n\n"
            f"Why: {status.reason}\n\nIncident {self.incident.id}: {self.incident.title}\n{link}\n\n"
            f"{_what_now(status)}\n"
        )
        ref = f"deadline:{self.incident.id}:{status.group}:{alert}"
        sent: list[int] = []
        earlier = False
        for person in leads:
            for channel, address in person_addresses(person):
                try:
                    record = enqueue(
                        self.session,
                        key=message_key(f"{ref}:{channel}", address),
                        channel=channel,
                        recipient=address,
                        recipient_name=person.name,
                        subject=subject[:200] if channel == "email" else None,
                        body=body if channel == "email" else sms,
                        purpose="deadline",
                        incident_id=self.incident.id,
                        now=self.now,
                    )
                except InvalidInput:
                    continue  # an address the outbox cannot use: the other channel may do
                if record.created_at == self.now:
                    sent.append(record.id)
                else:
                    earlier = True  # the same alert, queued by an earlier pass (its key)
        return ", ".join(p.name for p in leads), sent, earlier


def person_addresses(person: Person) -> list[tuple[Literal["email", "sms"], str]]:
    """A person's phone (SMS) and email, normalised, as far as the plan has them."""
    # Both channels: the one that failed the group may fail the lead too.
    found: list[tuple[Literal["email", "sms"], str]] = []
    if person.phone:
        found.append(("sms", normalise_phone(person.phone)))
    if person.email:
        found.append(("email", normalise_email(person.email)))
    return found


def _what_now(status: DeadlineStatus) -> str:
    """What the lead can do about it."""
    how = "tell the group another way and note it on the incident"
    if status.message_id is not None and status.cause in ("parked", "cancelled"):
        retry = f"POST /api/v1/notifications/{status.message_id}/retry"
        return f"Send the message again once its channel works ({retry}), or {how}."
    return f"If it cannot be delivered in time, {how}."
