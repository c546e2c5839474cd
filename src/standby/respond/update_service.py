"""A stakeholder group's next update, drafted from the plan's templates, edited by a person and sent.

`draft_updates` renders, for each group already told about the incident, the update that is
due next (its number, each message channel's text from the same templates and variables
the communication plan uses, and how many it reaches). `send_update` sends the text a person
edited through the outbox to the group's recipients on each channel, records it on the
timeline as sent by that person, and counts it as the group's update: its number goes up
and the next one is due `update_every_minutes` from now, as when Standby sends one itself.

Sending twice is harmless: every message's idempotency key carries the form's own key
(`request_key`), so a double click or a resubmitted form finds its messages already in the
outbox and neither sends nor counts again. The keys start as the plan's do
(`comm:INCIDENT:GROUP:...`), so the deliveries count for the group's deadline.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from standby.config import Settings
from standby.detect.history import get_outage
from standby.errors import Conflict, InvalidInput, NotFound
from standby.notify.outbox import enqueue
from standby.notify.outbox_desk import get_by_key
from standby.plan.people import Stakeholder
from standby.plan.schema import Plan
from standby.respond.agents import team_contacts
from standby.respond.communication import GroupState, OutageFacts, update_notices
from standby.respond.communication_service import current_states, facts_of
from standby.respond.incident_service import lock_incident
from standby.respond.incidents import OPEN_STATES
from standby.respond.notice_addresses import Notice, message_key
from standby.respond.templates import TemplateProblem, message_variables, templates_for
from standby.respond.timeline import add_entry
from standby.store.tables import CommunicationRow, IncidentRow

MessageChannel = Literal["email", "sms"]
TEXT_AT_MOST = {"email": 20_000, "sms": 1_600}
REQUEST_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


@dataclass(frozen=True)
class ChannelDraft:
    """One channel of a drafted update: its text (subject for email) and who it reaches."""

    channel: MessageChannel
    subject: str | None
    body: str
    recipients: int
    problem: str | None = None
    """Why the template did not render (the text is then empty, for a person to write)."""


@dataclass(frozen=True)
class UpdateDraft:
    """The next update to one group: its number, when it is due, and each channel's text."""

    group: str
    number: int
    due_at: datetime | None
    channels: tuple[ChannelDraft, ...]


@dataclass(frozen=True)
class SentUpdate:
    """What `send_update` did: the messages queued, or that the same form had sent them already."""

    group: str
    number: int
    messages: tuple[int, ...]
    again: bool


def _incident(session: Session, incident_id: int) -> IncidentRow:
    row = session.get(IncidentRow, incident_id)
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    return row


def _facts(session: Session, row: IncidentRow) -> OutageFacts | None:
    return facts_of(get_outage(session, row.outage_id), row) if row.outage_id is not None else None


def _messages(notices: tuple[Notice, ...]) -> dict[MessageChannel, Notice]:
    """The group's message channels with recipients (publications and skipped ones left out)."""
    found: dict[MessageChannel, Notice] = {}
    for notice in notices:
        if notice.channel in ("email", "sms") and notice.recipients and notice.channel not in found:
            found["email" if notice.channel == "email" else "sms"] = notice
    return found


def _updatable(state: GroupState | None) -> bool:
    return state is not None and state.first_told_at is not None and state.resolved_told_at is None


def _notices(
    session: Session, plan: Plan, group: Stakeholder, facts: OutageFacts, state: GroupState, now: datetime
) -> dict[MessageChannel, Notice]:
    agents = team_contacts(session, group.teams) if group.teams else []
    number = state.updates_sent + 1
    return _messages(update_notices(plan, group, facts, state, number, now, agents=agents))


def draft_updates(
    session: Session, *, plan: Plan, incident_id: int, now: datetime, settings: Settings
) -> list[UpdateDraft]:
    """The next update of every group told and not yet given the all-clear, in plan order."""
    row = _incident(session, incident_id)
    facts = _facts(session, row)
    if facts is None or row.state not in OPEN_STATES:
        return []
    # Which vendors were told is read from the whole timeline: only when a vendors group needs it.
    states = current_states(session, incident_id, vendors=False)
    if any(g.kind == "vendors" and _updatable(states.get(g.id)) for g in plan.stakeholders):
        states = current_states(session, incident_id)
    templates = templates_for(settings.data_dir)
    drafts = []
    for group in plan.stakeholders:
        state = states.get(group.id)
        if state is None or not _updatable(state):
            continue
        number = state.updates_sent + 1
        every = group.update_every_minutes
        channels = []
        for channel, notice in _notices(session, plan, group, facts, state, now).items():
            variables = message_variables(
                plan,
                facts,
                group_id=group.id,
                group_kind=group.kind,
                phase="update",
                now=now,
                base_url=settings.base_url,
                update_number=number,
                next_update_at=now + timedelta(minutes=every) if every else None,
                vendor_id=notice.vendor,
            )
            try:
                rendered = templates.render(group.kind, "update", channel, variables)
            except TemplateProblem as problem:
                channels.append(
                    ChannelDraft(
                        channel, "" if channel == "email" else None, "", len(notice.recipients), str(problem)
                    )
                )
                continue
            channels.append(ChannelDraft(channel, rendered.subject, rendered.body, len(notice.recipients)))
        if channels:
            drafts.append(UpdateDraft(group.id, number, state.next_update_at, tuple(channels)))
    return drafts


def send_update(
    session: Session,
    *,
    plan: Plan,
    incident_id: int,
    group_id: str,
    texts: Mapping[str, tuple[str | None, str]],
    request_key: str,
    by: str,
    now: datetime,
) -> SentUpdate:
    """Send the edited update (`texts`: channel -> (subject, body)) to the group and count it.

    InvalidInput for an empty text, an email without a subject, a text too long or a bad key;
    Conflict when the incident is closed, has no outage, or the group cannot be updated now.
    """
    if not REQUEST_KEY.fullmatch(request_key):
        raise InvalidInput("key: the form's key is missing or malformed; reload the room and send again")
    # Locked first: a resubmitted form waits for the first and then finds its messages sent.
    row = lock_incident(session, incident_id)
    if row.state not in OPEN_STATES:
        raise Conflict(f"the incident is {row.state}: updates are sent while it is open")
    group = next((g for g in plan.stakeholders if g.id == group_id), None)
    if group is None:
        raise InvalidInput(f"group: no stakeholder group {group_id!r} in the plan")
    facts = _facts(session, row)
    if facts is None:
        raise Conflict("the incident has no outage: updates go from the communication plan of an outage")
    states = current_states(session, incident_id)
    state = states.get(group_id)
    if state is None or not _updatable(state):
        raise Conflict(
            f"{group_id} cannot be sent an update now: it has not been told yet, or was given the all-clear"
        )
    notices = _notices(session, plan, group, facts, state, now)
    if not notices:
        raise Conflict(f"{group_id} has nobody to send an update to by email or SMS")
    checked: dict[MessageChannel, tuple[str | None, str]] = {}
    for channel in notices:
        subject, body = texts.get(channel, (None, ""))
        body = body.strip()
        if not body:
            raise InvalidInput(f"{channel}: the update is empty; write what to tell {group_id}")
        if len(body) > TEXT_AT_MOST[channel]:
            raise InvalidInput(f"{channel}: at most {TEXT_AT_MOST[channel]:,} characters")
        if channel == "email":
            subject = (subject or "").strip()
            if not subject:
                raise InvalidInput("subject: an email update needs a subject")
        checked[channel] = (subject if channel == "email" else None, body)
    number = state.updates_sent + 1
    keys = {
        (channel, r.address): message_key(
            f"comm:{incident_id}:{group_id}:update:by-hand:{request_key}:{channel}", r.address
        )
        for channel, notice in notices.items()
        for r in notice.recipients
    }
    if any(get_by_key(session, key) is not None for key in keys.values()):
        return SentUpdate(group_id, number - 1, (), again=True)  # this form was sent already
    sent: list[int] = []
    for channel, notice in notices.items():
        subject, body = checked[channel]
        ids = []
        for r in notice.recipients:
            record = enqueue(
                session,
                key=keys[(channel, r.address)],
                channel=r.channel,
                recipient=r.address,
                recipient_name=r.name,
                subject=subject,
                body=body,
                purpose="comm-update",
                incident_id=incident_id,
                now=now,
            )
            ids.append(record.id)
        sent.extend(ids)
        add_entry(
            session,
            incident_id=incident_id,
            at=now,
            kind="message",
            actor=by,
            text=f"Update {number} to {group_id} by {'SMS' if channel == 'sms' else 'email'}, written and"
            f" sent by hand: queued for {len(ids)} recipient{'s' if len(ids) != 1 else ''}",
            data={
                "group": group_id,
                "kind": group.kind,
                "phase": "update",
                "number": number,
                "channel": channel,
                "by_hand": True,
                "messages": ids,
                "text": body[:1000],
            },
        )
    _count(session, incident_id, group, now)
    return SentUpdate(group_id, number, tuple(sent), again=False)


def _count(session: Session, incident_id: int, group: Stakeholder, now: datetime) -> None:
    """The group's update counted: the next one is due a full interval from now."""
    row = session.scalars(
        select(CommunicationRow).where(
            CommunicationRow.incident_id == incident_id, CommunicationRow.stakeholder_id == group.id
        )
    ).one()
    row.updates_sent += 1
    row.reminded_at = None
    if group.update_every_minutes:
        row.next_update_at = now + timedelta(minutes=group.update_every_minutes)
    incident = session.get(IncidentRow, incident_id)
    if incident is not None:
        incident.updated_at = now
