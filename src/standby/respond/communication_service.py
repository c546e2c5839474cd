"""Running the communication plan for one incident: decide, render, queue, record.

`communicate` is called by the orchestration loop every few seconds for every open
(and just-ended) incident. It takes the incident's row lock first, so two workers
never evaluate the same incident at once; reads where each stakeholder group stands
(`CommunicationRow`); asks the pure core (`communication.evaluate`) what to do now;
renders each notice with its template; queues the messages in the outbox (idempotent
by key); writes the timeline; and saves each group's new state, all in the caller's
unit of work. Run again, it finds nothing new to do, and were it to queue the same
message again, the outbox's key would keep it from going twice.

A template that does not render stops that one message: nothing is queued for it
(the outbox has no way to hold a message that was never written), and the timeline
records it as a parked message with the template, the line and what is wrong, so the
communications lead sees it and can fix the override. The result lists it too.

A group's deadline is not met by queueing: `deadline_service.follow_deadlines` follows
it, in the same pass, through the outbox's deliveries (met, at risk, missed, with why).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from standby.config import Settings
from standby.detect.history import OutageRecord
from standby.errors import InvalidInput
from standby.exercise.records import exercise_audience
from standby.notify.outbox import MessageRecord, enqueue
from standby.plan.schema import Plan
from standby.respond.agents import team_contacts
from standby.respond.communication import Evaluation, GroupState, OutageFacts, Reminder, evaluate
from standby.respond.deadline_service import follow_deadlines
from standby.respond.deadlines import DeadlineStatus
from standby.respond.incident_service import lock_incident
from standby.respond.notice_addresses import Notice, Recipient
from standby.respond.templates import TemplateProblem, Templates, local_time, message_variables, templates_for
from standby.respond.timeline import Entry, add_entry, entries
from standby.store.tables import CommunicationRow, IncidentRow

PublicationChannel = Literal["status_page", "ivr_message"]
PHASE_WORDS = {"detected": "First notice", "resolved": "Resolved notice"}


@dataclass(frozen=True)
class Publication:
    """A text for the status page or the IVR, written for a stakeholder group (customers)."""

    group: str
    channel: PublicationChannel
    phase: str
    number: int
    text: str
    at: datetime


@dataclass(frozen=True)
class Problem:
    """A message that could not be queued: its group, channel, and why."""

    group: str
    channel: str
    phase: str
    reason: str
    template: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class CommunicationResult:
    """What one evaluation did for an incident."""

    messages: tuple[MessageRecord, ...]
    """Messages queued (or found queued already, by their key)."""
    publications: tuple[Publication, ...]
    deadlines: tuple[DeadlineStatus, ...]
    """Deadlines whose state changed in this evaluation."""
    reminders: tuple[MessageRecord, ...]
    problems: tuple[Problem, ...]
    held: tuple[str, ...]
    """Groups held back by the interruption hold right now."""
    hold_until: datetime | None


def facts_of(outage: OutageRecord, incident: IncidentRow) -> OutageFacts:
    """The facts the communication plan works from, from the outage and its incident."""
    return OutageFacts(
        incident_id=incident.id,
        outage_id=outage.id,
        summary=outage.summary,
        classification=outage.classification,
        peak_classification=outage.peak_classification,
        causes=outage.causes,
        components=outage.components,
        sites=outage.sites,
        queues=outage.queues,
        degraded_queues=outage.degraded_queues,
        started_at=outage.started_at,
        detected_at=incident.detected_at,
        ended_at=outage.ended_at,
        queues_ever=tuple(outage.ever.get("queues", ())),
        components_ever=tuple(outage.ever.get("components", ())),
        in_maintenance=outage.in_maintenance,
        hold_until=incident.hold_until,
    )


def communicate(
    session: Session,
    *,
    plan: Plan,
    incident_id: int,
    outage: OutageRecord,
    now: datetime,
    settings: Settings,
    recovered_at: datetime | None = None,
) -> CommunicationResult:
    """Carry the communication plan forward for one incident, now; idempotent.

    `recovered_at`: when the centre answered again, when `outage.ended_at` is instead
    when the all-clear may go (the incident resolved): the messages' times are from it.
    NotFound when there is no incident with that id.
    """
    # Concurrent evaluations of one incident run one after the other (and after a person's update).
    incident = lock_incident(session, incident_id)
    rows = {
        r.stakeholder_id: r
        for r in session.scalars(select(CommunicationRow).where(CommunicationRow.incident_id == incident_id))
    }
    recorded = entries(session, incident_id, kind="message")
    states = {group_id: _state(row, recorded) for group_id, row in rows.items()}
    teams = {t for g in plan.stakeholders if g.kind == "employees" for t in g.teams}
    facts = replace(
        facts_of(outage, incident), recovered_at=recovered_at, exercise=exercise_audience(session, incident)
    )
    evaluation = evaluate(
        plan,
        facts,
        states,
        now,
        agents=team_contacts(session, teams),
        communications_lead=incident.communications_lead,
        commander=incident.commander,
    )
    run = _Run(session, plan, facts, now, settings, templates_for(settings.data_dir))
    run.note_hold(evaluation, recorded)
    run.note_spared(evaluation, recorded)
    for notice in evaluation.notices:
        run.send(notice)
    for reminder in evaluation.reminders:
        run.remind(reminder)
    for group_id, state in evaluation.states.items():
        if state != states.get(group_id):
            _save(session, rows.get(group_id), incident_id, state)
    session.flush()
    deadlines = follow_deadlines(session, plan=plan, incident=incident, now=now, base_url=settings.base_url)
    return CommunicationResult(
        messages=tuple(run.messages),
        publications=tuple(run.publications),
        deadlines=tuple(deadlines),
        reminders=tuple(run.reminders),
        problems=tuple(run.problems),
        held=evaluation.held,
        hold_until=evaluation.hold_until if evaluation.held else None,
    )


def check_templates(plan: Plan, settings: Settings, *, now: datetime) -> list[TemplateProblem]:
    """Every template in use (the overrides in STANDBY_DATA_DIR/templates and the defaults),
    rendered with a made-up outage of the plan; the problems found."""
    templates = templates_for(settings.data_dir)
    queues = tuple(q.id for q in plan.queues[:2])
    causes = tuple(c.id for c in plan.components if c.vendor)[:1] or tuple(c.id for c in plan.components[:1])
    facts = OutageFacts(
        incident_id=1,
        outage_id=1,
        summary="Partial: a sample outage",
        classification="partial",
        peak_classification="partial",
        causes=causes,
        components=causes,
        sites=(),
        queues=queues,
        degraded_queues=(),
        started_at=now,
        detected_at=now,
    )
    vendor = next((plan.components_by_id[c].vendor for c in causes if plan.components_by_id[c].vendor), None)
    variables = message_variables(
        plan,
        facts,
        group_id="sample",
        group_kind="leadership",
        phase="update",
        now=now,
        base_url=settings.base_url,
        update_number=1,
        next_update_at=now,
        vendor_id=vendor,
        due={"group": "sample", "kind": "leadership", "update_number": 1, "at": "00:00", "overdue": False},
    )
    if vendor is None:
        variables["vendor"] = {
            "id": "sample",
            "name": "Sample vendor",
            "components": ["Sample component"],
            "support_phone": None,
            "support_email": None,
        }
    return templates.check(variables)


def _state(row: CommunicationRow, recorded: Iterable[Entry]) -> GroupState:
    vendors = frozenset(
        str(e.data["vendor"])
        for e in recorded
        if e.data.get("group") == row.stakeholder_id and e.data.get("vendor")
    )
    return GroupState(
        stakeholder_id=row.stakeholder_id,
        due_by=row.due_by,
        first_told_at=row.first_told_at,
        updates_sent=row.updates_sent,
        next_update_at=row.next_update_at,
        reminded_at=row.reminded_at,
        resolved_told_at=row.resolved_told_at,
        told_vendors=vendors,
    )


def _save(session: Session, row: CommunicationRow | None, incident_id: int, state: GroupState) -> None:
    if row is None:
        row = CommunicationRow(incident_id=incident_id, stakeholder_id=state.stakeholder_id)
        session.add(row)
    row.due_by = state.due_by
    row.first_told_at = state.first_told_at
    row.updates_sent = state.updates_sent
    row.next_update_at = state.next_update_at
    row.reminded_at = state.reminded_at
    row.resolved_told_at = state.resolved_told_at


class _Run:
    """One evaluation's sending and recording."""

    def __init__(
        self,
        session: Session,
        plan: Plan,
        facts: OutageFacts,
        now: datetime,
        settings: Settings,
        templates: Templates,
    ) -> None:
        self.session = session
        self.plan = plan
        self.facts = facts
        self.now = now
        self.settings = settings
        self.templates = templates
        self.zone = ZoneInfo(plan.organisation.timezone)
        self.messages: list[MessageRecord] = []
        self.publications: list[Publication] = []
        self.reminders: list[MessageRecord] = []
        self.problems: list[Problem] = []
        self.reached: set[str] = set()  # groups that got something this run

    def at(self, when: datetime) -> str:
        return local_time(when, self.zone)

    def entry(
        self, kind: Literal["message", "deadline", "reminder"], text: str, data: dict[str, Any]
    ) -> None:
        add_entry(
            self.session, incident_id=self.facts.incident_id, at=self.now, kind=kind, text=text, data=data
        )

    def note_hold(self, evaluation: Evaluation, recorded: Iterable[Entry]) -> None:
        """Say once that groups are held, and once that an interruption spared them."""
        noted = {e.data.get("hold") for e in recorded}
        minutes = f"{self.plan.organisation.interruption_max_minutes:g}"
        if evaluation.held and "started" not in noted and evaluation.hold_until is not None:
            self.entry(
                "message",
                f"Held until {self.at(evaluation.hold_until)}: {', '.join(evaluation.held)} are told only"
                f" if the outage lasts more than {minutes} minutes (the interruption hold)",
                {
                    "hold": "started",
                    "groups": list(evaluation.held),
                    "until": evaluation.hold_until.isoformat(),
                },
            )
        if evaluation.held_out and "interruption" not in noted:
            self.entry(
                "message",
                f"Over within {minutes} minutes, an interruption: {', '.join(evaluation.held_out)}"
                " were not told",
                {"hold": "interruption", "groups": list(evaluation.held_out)},
            )

    def note_spared(self, evaluation: Evaluation, recorded: Iterable[Entry]) -> None:
        """Say once which groups an exercise leaves untold."""
        if evaluation.spared and not any(e.data.get("exercise_spared") for e in recorded):
            self.entry(
                "message",
                f"An exercise: {', '.join(evaluation.spared)} are not told (outside or public audiences"
                " hear of an exercise only when it names them)",
                {"exercise_spared": list(evaluation.spared)},
            )

    def variables(self, notice: Notice) -> dict[str, Any]:
        return message_variables(
            self.plan,
            self.facts,
            group_id=notice.group,
            group_kind=notice.kind,
            phase=notice.phase,
            now=self.now,
            base_url=self.settings.base_url,
            update_number=notice.number,
            next_update_at=notice.next_update_at,
            vendor_id=notice.vendor,
        )

    def send(self, notice: Notice) -> None:
        what = PHASE_WORDS.get(notice.phase, f"Update {notice.number}")
        to = notice.group
        if notice.vendor:
            to = f"{notice.group} ({self.plan.vendors_by_id[notice.vendor].name})"
        data: dict[str, Any] = {
            "group": notice.group,
            "kind": notice.kind,
            "phase": notice.phase,
            "number": notice.number,
            "channel": notice.channel,
            "ref": notice.ref,
        }
        if notice.vendor:
            data["vendor"] = notice.vendor
        if notice.skipped is not None:
            if notice.phase != "update" or notice.vendor:  # a standing reason is said once, not every update
                self.entry(
                    "message",
                    f"{what} to {to} by {_word(notice.channel)}: {notice.skipped}",
                    {**data, "skipped": notice.skipped},
                )
            return
        try:
            variables = self.variables(notice)
            rendered = self.templates.render(notice.kind, notice.phase, notice.channel, variables)
        except TemplateProblem as problem:
            self.park(notice, f"{what} to {to} by {_word(notice.channel)}", problem, data)
            return
        data["template"] = rendered.template
        if notice.publication:
            channel: PublicationChannel = "status_page" if notice.channel == "status_page" else "ivr_message"
            self.publications.append(
                Publication(notice.group, channel, notice.phase, notice.number, rendered.body, self.now)
            )
            self.reached.add(notice.group)
            self.entry(
                "message",
                f"{what} for {to}, {_word(notice.channel)}: {rendered.body}",
                {**data, "text": rendered.body},
            )
            return
        queued, refused = self.enqueue(notice.recipients, rendered.body, rendered.subject, notice.phase)
        text = f"{what} to {to} by {_word(notice.channel)}: queued for {_count(len(queued), 'recipient')}"
        if notice.unreachable:
            without = _address_word(notice.channel)
            text += f"; {_count(notice.unreachable, 'person', 'people')} without {without}"
        if refused:
            text += f"; {len(refused)} refused: " + "; ".join(refused[:3])
        self.entry(
            "message",
            text,
            {
                **data,
                "recipients": len(queued),
                "unreachable": notice.unreachable,
                "refused": refused[:20],
                "messages": [m.id for m in queued],
            },
        )
        if queued:
            self.reached.add(notice.group)

    def enqueue(
        self, recipients: Iterable[Recipient], body: str, subject: str | None, phase: str
    ) -> tuple[list[MessageRecord], list[str]]:
        queued: list[MessageRecord] = []
        refused: list[str] = []
        for recipient in recipients:
            try:
                record = enqueue(
                    self.session,
                    key=recipient.key,
                    channel=recipient.channel,
                    recipient=recipient.address,
                    recipient_name=recipient.name,
                    subject=subject if recipient.channel == "email" else None,
                    body=body,
                    purpose=f"comm-{phase}",
                    incident_id=self.facts.incident_id,
                    now=self.now,
                )
            except InvalidInput as exc:  # an address the outbox cannot use (a national number)
                refused.append(f"{recipient.name or recipient.address}: {exc}")
                continue
            queued.append(record)
            self.messages.append(record)
        return queued, refused

    def park(self, notice: Notice, what: str, problem: TemplateProblem, data: dict[str, Any]) -> None:
        # Each message is still stored, parked with the reason: the outbox then shows what
        # was not sent and why, and it can be sent by hand (retry) once the template is fixed.
        for recipient in notice.recipients:
            with contextlib.suppress(InvalidInput):
                enqueue(
                    self.session,
                    key=recipient.key,
                    channel=recipient.channel,
                    recipient=recipient.address,
                    recipient_name=recipient.name,
                    subject=f"(not rendered: {problem.template})" if recipient.channel == "email" else None,
                    body=f"The template {problem.template} does not render: {problem}",
                    purpose=f"comm-{notice.phase}",
                    incident_id=self.facts.incident_id,
                    now=self.now,
                    parked_reason=f"the template does not render: {problem}",
                )
        self.problems.append(
            Problem(
                notice.group, notice.channel, notice.phase, problem.problem, problem.template, problem.line
            )
        )
        self.entry(
            "message",
            f"{what}: not sent, parked: the template does not render: {problem}",
            {
                **data,
                "state": "parked",
                "reason": str(problem),
                "template": problem.template,
                "line": problem.line,
                "recipients": len(notice.recipients),
            },
        )

    def remind(self, reminder: Reminder) -> None:
        due = self.at(reminder.due_at)
        when = "overdue since" if reminder.overdue else "due at"
        what = f"update {reminder.update_number} to {reminder.group} {when} {due}"
        data: dict[str, Any] = {
            "group": reminder.group,
            "update_number": reminder.update_number,
            "due_at": reminder.due_at.isoformat(),
            "overdue": reminder.overdue,
        }
        if not reminder.recipients:
            self.entry(
                "reminder",
                f"Reminder not sent ({what}): no communications lead, commander or communications person"
                " with a phone or email in the plan",
                data,
            )
            return
        variables = message_variables(
            self.plan,
            self.facts,
            group_id=reminder.group,
            group_kind=reminder.kind,
            phase="update",
            now=self.now,
            base_url=self.settings.base_url,
            update_number=reminder.update_number,
            next_update_at=reminder.due_at,
            due={
                "group": reminder.group,
                "kind": reminder.kind,
                "update_number": reminder.update_number,
                "at": due,
                "overdue": reminder.overdue,
            },
        )
        sent: list[MessageRecord] = []
        notes: list[str] = []
        for channel in ("sms", "email"):
            recipients = [r for r in reminder.recipients if r.channel == channel]
            if not recipients:
                continue
            try:
                rendered = self.templates.render("reminder", "update", channel, variables)
            except TemplateProblem as problem:
                self.problems.append(
                    Problem(
                        reminder.group, channel, "reminder", problem.problem, problem.template, problem.line
                    )
                )
                notes.append(f"not sent by {channel}, parked: the template does not render: {problem}")
                continue
            queued, refused = self.enqueue(recipients, rendered.body, rendered.subject, "reminder")
            sent.extend(queued)
            notes.extend(refused)
        self.reminders.extend(sent)
        names = ", ".join(r.name or r.address for r in reminder.recipients)
        text = f"Reminder to {names}: {what}" + (f"; {'; '.join(notes)}" if notes else "")
        self.entry("reminder", text, {**data, "to": names, "messages": [m.id for m in sent]})


def _word(channel: str) -> str:
    return {
        "email": "email",
        "sms": "SMS",
        "status_page": "status page text",
        "ivr_message": "IVR message",
        "webhook": "webhook",
    }.get(channel, channel)


def _address_word(channel: str) -> str:
    return "a phone number" if channel == "sms" else "an email address"


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def current_states(session: Session, incident_id: int, *, vendors: bool = True) -> Mapping[str, GroupState]:
    """Where the plan stands with each group of an incident (for pages and the API).

    `vendors=False` leaves out which vendors were told (read from every message entry of
    the timeline, thousands in a long outage), for a page that does not show them.
    """
    recorded = entries(session, incident_id, kind="message") if vendors else []
    rows = session.scalars(select(CommunicationRow).where(CommunicationRow.incident_id == incident_id))
    return {r.stakeholder_id: _state(r, recorded) for r in rows}
