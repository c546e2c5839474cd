"""The communication plan: who is told what about an outage, and when. Pure: time passed in.

Given the plan, the facts of an outage, where each stakeholder group stands
(`GroupState`, what `CommunicationRow` holds) and the time, `evaluate` decides what
to send now and how each group's state moves on. It sends nothing itself: the
service (`communication_service.communicate`) renders the notices, queues them in
the outbox and writes the timeline. Calling it again with the state it returned
decides nothing new, and every notice carries stable idempotency keys, so a repeated
evaluation (a crash between two steps, two workers) never sends twice.

The rules, in the order they apply to each group:

- **Concerned.** A group is concerned by an outage when one of its `notify_on`
  classifications is one the outage has had (now or at its worst), and, when it
  lists `queues`, one of them is lost, slowed, or was lost while the outage lasted.
  `interruption` in `notify_on` does not name a class of open outage (an outage is
  an interruption only once it has ended within `interruption_max_minutes`): it
  means "without the hold", and on its own it means every outage, without the hold.
  The vendors group is concerned only while a vendor is to be told: the vendor of
  a probable cause of the outage (its `causes`), when the plan names one.
- **The interruption hold** (DESIGN.md, "Classification"). A group whose
  `notify_on` lacks `interruption` is held until the outage has lasted
  `interruption_max_minutes`; when the outage ends within that time it is an
  interruption and those groups are told nothing at all, not even that it ended.
- **Deadline beats hold.** A group with `within_minutes` (the regulator's promise)
  is released from the hold `DEADLINE_MARGIN` before its deadline if the hold would
  run past it: a regulatory promise outranks sparing people a blip. Its deadline
  (`due_by`) is the incident's detection plus `within_minutes`; for a group the
  outage concerns only later (it widened to a total outage, or to the group's
  queues), the time Standby saw it widen plus `within_minutes`. Whether it is met is
  not decided here, as queueing a message tells nobody: `respond.deadlines` decides it
  from the outbox's deliveries (met only by a delivery the channel confirmed in time).
- **Detected** notice to a concerned, released group that was not told yet;
  **updates** every `update_every_minutes` while the outage lasts; a **resolved**
  notice, once it ends, to every group that was told. A group first concerned
  after the outage ended (Standby was not running, or the outage lasted past the
  hold between two evaluations) gets only the resolved notice.
- **Reminders** to the communications lead (else the commander, else the plan's
  people whose role mentions communications) when a group's update is due within
  `REMIND_BEFORE` or overdue, once per update.

Who each notice and reminder goes to, at which address and under which idempotency key,
is `notice_addresses`'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from standby.exercise.audience import ExerciseAudience
from standby.plan.people import Stakeholder
from standby.plan.schema import Plan
from standby.plan.section import StakeholderKind
from standby.respond.notice_addresses import (
    AgentContact,
    Notice,
    Phase,
    Recipient,
    addressed_notices,
    lead_candidates,
    reminder_recipients,
)

REMIND_BEFORE = timedelta(minutes=5)
"""A reminder goes out when an update is due within this, or overdue."""
DEADLINE_MARGIN = timedelta(minutes=1)
"""A held group with a deadline is released this long before it, so it is met, not missed by seconds."""


@dataclass(frozen=True)
class OutageFacts:
    """What the communication plan needs to know of an outage and its incident."""

    incident_id: int
    outage_id: int
    summary: str
    classification: str
    peak_classification: str
    causes: tuple[str, ...]
    components: tuple[str, ...]
    sites: tuple[str, ...]
    queues: tuple[str, ...]
    degraded_queues: tuple[str, ...]
    started_at: datetime
    detected_at: datetime
    """When the incident was opened: deadlines run from it."""
    ended_at: datetime | None = None
    queues_ever: tuple[str, ...] = ()
    """Queues lost at any time while it lasted."""
    components_ever: tuple[str, ...] = ()
    in_maintenance: bool = False
    hold_until: datetime | None = None
    """The end of the interruption hold; None: `started_at` plus `interruption_max_minutes`."""
    recovered_at: datetime | None = None
    """When the centre answered again (the outage's end), when `ended_at` is the all-clear's
    release instead (the incident resolved); the messages' "until" and duration are from it."""
    exercise: ExerciseAudience | None = None
    """The exercise the incident belongs to: outside and public groups hear nothing of it."""


@dataclass(frozen=True)
class GroupState:
    """Where the plan stands with one stakeholder group for one incident (a CommunicationRow)."""

    stakeholder_id: str
    due_by: datetime | None = None
    first_told_at: datetime | None = None
    updates_sent: int = 0
    next_update_at: datetime | None = None
    reminded_at: datetime | None = None
    resolved_told_at: datetime | None = None
    told_vendors: frozenset[str] = frozenset()
    """Vendors group: the vendors already told (kept on the timeline, not in the row)."""


@dataclass(frozen=True)
class Reminder:
    """A reminder to the communications lead that a group's update is due."""

    incident_id: int
    group: str
    kind: StakeholderKind
    update_number: int
    due_at: datetime
    overdue: bool
    recipients: tuple[Recipient, ...]
    lead: str | None
    """Who is reminded (a person's name), or None when nobody can be."""


@dataclass(frozen=True)
class Evaluation:
    """What to do now, and the state of every group afterwards."""

    notices: tuple[Notice, ...]
    reminders: tuple[Reminder, ...]
    states: Mapping[str, GroupState]
    held: tuple[str, ...] = ()
    """Groups concerned but held by the interruption hold right now."""
    hold_until: datetime | None = None
    held_out: tuple[str, ...] = ()
    """Groups never told because the outage ended as an interruption."""
    changed: tuple[str, ...] = field(default=())
    """Groups whose state differs from the one given."""
    spared: tuple[str, ...] = ()
    """Groups an exercise does not tell (`exercise.audience`)."""


def hold_end(plan: Plan, facts: OutageFacts) -> datetime:
    """When the interruption hold ends for this outage."""
    if facts.hold_until is not None:
        return facts.hold_until
    return facts.started_at + timedelta(minutes=plan.organisation.interruption_max_minutes)


def ended_as_interruption(plan: Plan, facts: OutageFacts) -> bool:
    """Whether the outage ended within the hold: an interruption."""
    if facts.ended_at is None:
        return False
    return facts.classification == "interruption" or facts.ended_at <= hold_end(plan, facts)


def failing_vendors(plan: Plan, facts: OutageFacts) -> tuple[str, ...]:
    """Vendor ids of the outage's probable causes, in the order of the causes."""
    found: list[str] = []
    for cause in facts.causes:
        component = plan.components_by_id.get(cause)
        vendor = component.vendor if component is not None else None
        if vendor and vendor in plan.vendors_by_id and vendor not in found:
            found.append(vendor)
    return tuple(found)


def vendor_components(plan: Plan, facts: OutageFacts, vendor_id: str) -> tuple[str, ...]:
    """The vendor's components this outage made unavailable, causes first."""
    seen: list[str] = []
    for component_id in (*facts.causes, *facts.components, *facts.components_ever):
        component = plan.components_by_id.get(component_id)
        if component is not None and component.vendor == vendor_id and component_id not in seen:
            seen.append(component_id)
    return tuple(seen)


def concerned(plan: Plan, group: Stakeholder, facts: OutageFacts) -> bool:
    """Whether the outage is one this group is told about (the hold aside)."""
    wanted = set(group.notify_on)
    classes = {facts.classification, facts.peak_classification} - {"interruption"}
    if wanted != {"interruption"} and not wanted & classes:
        return False
    if group.queues is not None:
        touched = {*facts.queues, *facts.degraded_queues, *facts.queues_ever}
        if not touched.intersection(group.queues):
            return False
    return not (group.kind == "vendors" and not failing_vendors(plan, facts))


def held_by_default(group: Stakeholder) -> bool:
    """Whether the interruption hold applies to the group: its notify_on lacks `interruption`."""
    return "interruption" not in group.notify_on


def evaluate(
    plan: Plan,
    facts: OutageFacts,
    states: Mapping[str, GroupState],
    now: datetime,
    *,
    agents: Sequence[AgentContact] = (),
    communications_lead: str | None = None,
    commander: str | None = None,
) -> Evaluation:
    """What to send now for this outage, and each group's new state (its deadline set when due).

    `states` holds the groups evaluated before; a group missing from it is evaluated
    for the first time (its deadline then runs from the incident's detection).
    """
    if facts.in_maintenance:
        # Covered by maintenance: recorded, raises nothing (DESIGN.md, "Detection").
        return Evaluation((), (), dict(states))
    hold = hold_end(plan, facts)
    interruption = ended_as_interruption(plan, facts)
    notices: list[Notice] = []
    reminders: list[Reminder] = []
    new_states: dict[str, GroupState] = dict(states)
    held: list[str] = []
    held_out: list[str] = []
    changed: list[str] = []
    spared = facts.exercise.spared(plan.stakeholders) if facts.exercise is not None else ()
    for group in plan.stakeholders:
        if group.id in spared:
            continue  # the one place an exercise keeps outside audiences out: no state, no deadline
        before = states.get(group.id)
        state = before or GroupState(stakeholder_id=group.id)
        outcome = _evaluate_group(
            plan,
            group,
            facts,
            state,
            now,
            first_time=before is None,
            hold=hold,
            interruption=interruption,
            agents=agents,
        )
        state = outcome.state
        notices.extend(outcome.notices)
        if outcome.held:
            held.append(group.id)
        if outcome.held_out:
            held_out.append(group.id)
        reminder = _reminder(
            plan, group, facts, state, now, communications_lead=communications_lead, commander=commander
        )
        if reminder is not None:
            reminders.append(reminder)
            state = replace(state, reminded_at=now)
        new_states[group.id] = state
        if state != before:
            changed.append(group.id)
    return Evaluation(
        notices=tuple(notices),
        reminders=tuple(reminders),
        states=new_states,
        held=tuple(held),
        hold_until=hold,
        held_out=tuple(held_out),
        changed=tuple(changed),
        spared=spared,
    )


def what_to_send(
    plan: Plan,
    facts: OutageFacts,
    groups_state: Mapping[str, GroupState],
    now: datetime,
    *,
    agents: Sequence[AgentContact] = (),
) -> list[Notice]:
    """The notices to send now (`evaluate` gives the reminders and new states too)."""
    return list(evaluate(plan, facts, groups_state, now, agents=agents).notices)


@dataclass(frozen=True)
class _GroupOutcome:
    state: GroupState
    notices: tuple[Notice, ...] = ()
    held: bool = False
    held_out: bool = False


def _evaluate_group(
    plan: Plan,
    group: Stakeholder,
    facts: OutageFacts,
    state: GroupState,
    now: datetime,
    *,
    first_time: bool,
    hold: datetime,
    interruption: bool,
    agents: Sequence[AgentContact],
) -> _GroupOutcome:
    told = state.first_told_at is not None
    if not told and not concerned(plan, group, facts):
        return _GroupOutcome(state)
    if group.within_minutes is not None and state.due_by is None and not told:
        start = facts.detected_at if first_time else max(facts.detected_at, now)
        state = replace(state, due_by=start + timedelta(minutes=group.within_minutes))
    if not told:
        release = hold if held_by_default(group) else facts.started_at
        if state.due_by is not None:
            release = min(release, state.due_by - DEADLINE_MARGIN)
        if facts.ended_at is not None and held_by_default(group) and interruption:
            # An interruption: the groups it was held from are told nothing at all, and
            # no deadline of theirs runs (the plan does not promise to tell them of it).
            return _GroupOutcome(replace(state, due_by=None), held_out=True)
        if facts.ended_at is None and now < release:
            return _GroupOutcome(state, held=True)
        phase: Phase = "resolved" if facts.ended_at is not None else "detected"
        notices = _notices(plan, group, facts, state, phase, 0, now, agents=agents)
        vendors = frozenset(n.vendor for n in notices if n.vendor)
        every = group.update_every_minutes
        next_update = now + timedelta(minutes=every) if every and phase == "detected" else None
        notices = tuple(replace(n, next_update_at=next_update) for n in notices)
        state = replace(
            state,
            first_told_at=now,
            next_update_at=next_update,
            resolved_told_at=now if phase == "resolved" else None,
            told_vendors=state.told_vendors | vendors,
        )
        return _GroupOutcome(state, notices=notices)
    if facts.ended_at is not None:
        if state.resolved_told_at is not None:
            return _GroupOutcome(state)
        notices = _notices(plan, group, facts, state, "resolved", 0, now, agents=agents)
        return _GroupOutcome(
            replace(state, resolved_told_at=now, next_update_at=None, reminded_at=None), notices=notices
        )
    produced: list[Notice] = []
    if group.kind == "vendors":
        # The outage widened to a vendor not told yet: tell that vendor now.
        new = tuple(v for v in failing_vendors(plan, facts) if v not in state.told_vendors)
        if new:
            produced.extend(_notices(plan, group, facts, state, "detected", 0, now, agents=agents, only=new))
            state = replace(state, told_vendors=state.told_vendors | frozenset(new))
    if state.next_update_at is not None and now >= state.next_update_at and group.update_every_minutes:
        number = state.updates_sent + 1
        next_update = now + timedelta(minutes=group.update_every_minutes)
        updates = _notices(plan, group, facts, state, "update", number, now, agents=agents)
        produced.extend(replace(n, next_update_at=next_update) for n in updates)
        state = replace(state, updates_sent=number, next_update_at=next_update, reminded_at=None)
    return _GroupOutcome(state, notices=tuple(produced))


def _notices(
    plan: Plan,
    group: Stakeholder,
    facts: OutageFacts,
    state: GroupState,
    phase: Phase,
    number: int,
    now: datetime,
    *,
    agents: Sequence[AgentContact],
    only: Iterable[str] | None = None,
) -> tuple[Notice, ...]:
    vendors: Iterable[str] = ()
    if group.kind == "vendors":
        if only is not None:
            vendors = only
        elif phase == "detected":
            vendors = failing_vendors(plan, facts)
        else:
            vendors = sorted(state.told_vendors) or failing_vendors(plan, facts)
    return addressed_notices(plan, group, facts.incident_id, phase, number, agents=agents, vendors=vendors)


def _reminder(
    plan: Plan,
    group: Stakeholder,
    facts: OutageFacts,
    state: GroupState,
    now: datetime,
    *,
    communications_lead: str | None,
    commander: str | None,
) -> Reminder | None:
    due = state.next_update_at
    if facts.ended_at is not None or due is None or state.reminded_at is not None:
        return None
    if now < due - REMIND_BEFORE:
        return None
    number = state.updates_sent + 1
    leads = lead_candidates(plan, communications_lead=communications_lead, commander=commander)
    ref = f"comm:{facts.incident_id}:{group.id}:reminder:{number}"
    return Reminder(
        incident_id=facts.incident_id,
        group=group.id,
        kind=group.kind,
        update_number=number,
        due_at=due,
        overdue=now >= due,
        recipients=reminder_recipients(leads, ref),
        lead=", ".join(p.name for p in leads) or None,
    )


def update_notices(
    plan: Plan,
    group: Stakeholder,
    facts: OutageFacts,
    state: GroupState,
    number: int,
    now: datetime,
    *,
    agents: Sequence[AgentContact],
) -> tuple[Notice, ...]:
    """Update `number` to `group` on each of its channels, with its recipients, as the plan sends it."""
    return _notices(plan, group, facts, state, "update", number, now, agents=agents)
