"""What the incident room shows: one incident read from the services, shaped for its template.

Read-only: each value comes from the same services the API uses (incidents, strategies,
deadlines, the communication plan, the outbox, the timeline), in one unit of work.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from standby.access.roles import Permission
from standby.access.service import Principal
from standby.detect.history import OutageRecord, get_outage
from standby.detect.states import read_states
from standby.notify.outbox_desk import count_by_state, list_messages
from standby.plan.diagram import layout_plan
from standby.plan.schema import AnyOf, Dependency, Plan
from standby.plan.versions import current_plan
from standby.respond.communication_service import current_states
from standby.respond.deadline_service import deadlines_of
from standby.respond.incident_service import IncidentRecord, get_incident
from standby.respond.incidents import ROLES, SEVERITY_WORDS, STATES
from standby.respond.strategy_runs import StrategyRunRecord, list_runs
from standby.respond.timeline import SYSTEM, Entry, latest_entry_id, newest_entries
from standby.respond.update_service import UpdateDraft, draft_updates
from standby.store.tables import PageRow
from standby.web.context import WebContext
from standby.web.live import down_components, state_names
from standby.web.pages.centre_clock import clock_for
from standby.web.pages.room_centre import centre_section
from standby.web.pages.room_forecast import forecast_section

TIMELINE_PAGE = 50
PARKED_SHOWN = 50
ROLE_WORDS = {
    "commander": "Commander",
    "communications_lead": "Communications lead",
    "technical_lead": "Technical lead",
}
NEEDS_REASON = frozenset({"resolved"})
"""Steps that need a reason: resolving, and (see `needs_reason`) reopening."""
_TONES = {"total": "down", "partial": "down", "degraded": "degraded", "interruption": "degraded"}


@dataclass(frozen=True)
class Mark:
    """What changes when anything in the room changes: the newest timeline entry and the outbox counts."""

    timeline: int
    updated_at: datetime
    messages: Mapping[str, int]

    def text(self) -> str:
        """The mark as one string, for the room's script to compare."""
        counts = ",".join(f"{k}={v}" for k, v in sorted(self.messages.items()))
        return f"{self.timeline}|{self.updated_at.isoformat()}|{counts}"


def room_mark(session: Session, incident_id: int) -> Mark:
    """The room's change mark (NotFound for an unknown incident)."""
    record = get_incident(session, incident_id)
    return Mark(
        latest_entry_id(session, incident_id),
        record.updated_at,
        count_by_state(session, incident_id=incident_id),
    )


def needs_reason(current: str, to: str) -> bool:
    """Whether moving from `current` to `to` needs a reason: resolving, and reopening."""
    return to in NEEDS_REASON or (current == "resolved" and to in STATES[:5])


def room_model(
    session: Session,
    context: WebContext,
    principal: Principal,
    incident_id: int,
    *,
    show: str = "all",
    before: int | None = None,
) -> dict[str, Any]:
    """Everything the room's template shows, as of now."""
    now = context.clock.now()
    record = get_incident(session, incident_id)
    found = current_plan(session)
    plan = found[1] if found is not None else None
    topology = context.topologies.get(found[0].sha256, found[1]) if found is not None else None
    clock = clock_for(plan, now)
    outage = get_outage(session, record.outage_id) if record.outage_id is not None else None
    runs = list_runs(session, incident_id=incident_id, plan=plan, now=now, topology=topology)
    deadlines = {d.group: d for d in deadlines_of(session, [incident_id], now).get(incident_id, [])}
    groups = current_states(session, incident_id, vendors=False)
    parked = list_messages(session, incident_id=incident_id, state="parked", limit=PARKED_SHOWN)
    counts = count_by_state(session, incident_id=incident_id)
    timeline, older = newest_entries(session, incident_id, show=show, before=before, limit=TIMELINE_PAGE)
    waiting_pages = session.scalar(
        select(PageRow.id)
        .where(PageRow.incident_id == incident_id, PageRow.acknowledged_at.is_(None))
        .order_by(PageRow.id.desc())
        .limit(1)
    )
    mark = Mark(latest_entry_id(session, incident_id), record.updated_at, counts)
    people = plan.people_by_id if plan is not None else {}
    when, name = clock.when, clock.person
    started = outage.started_at if outage is not None else record.detected_at
    can_manage = principal.can(Permission.MANAGE_INCIDENTS)
    return {
        **clock.header(principal),
        "now": clock.when(now, seconds=True),
        "mark": mark.text(),
        "incident": {
            "id": record.id,
            "title": record.title,
            "severity": record.severity_text,
            "severity_short": record.severity_text.split()[0],
            "severity_level": record.severity,
            "tone": "down" if record.severity <= 2 else "degraded",
            "exercise_id": record.exercise_id,
            "classification": record.classification,
            "state": record.state,
            "open": record.open,
            "started": when(started),
            "since": _duration((record.resolved_at or now) - started),
            "acknowledged": when(record.acknowledged_at),
            "resolved": when(record.resolved_at),
            "roles": [{"role": r, "word": ROLE_WORDS[r], "who": name(getattr(record, r))} for r in ROLES],
        },
        "can": {
            "acknowledge": principal.can(Permission.ACKNOWLEDGE_PAGES)
            and record.acknowledged_at is None
            and record.state == "detected",
            "manage": can_manage,
            "retry": principal.can(Permission.MANAGE_NOTIFICATIONS),
            "read_messages": principal.can(Permission.READ_NOTIFICATIONS),
        },
        "paging": waiting_pages is not None and record.acknowledged_at is None,
        "moves": _moves(record) if can_manage else [],
        "people": sorted(({"id": p.id, "name": p.name} for p in people.values()), key=lambda p: p["name"]),
        "roles": [{"id": r, "word": ROLE_WORDS[r]} for r in ROLES],
        "severities": list(SEVERITY_WORDS.items()),
        "down": _down(plan, outage, session, topology),
        "outage": _outage(outage, when, now),
        "centre": centre_section(
            session, plan=plan, topology=topology, outage=outage, runs=runs, principal=principal, now=now
        ),
        "forecast": forecast_section(session, incident_id=incident_id, plan=plan),
        "strategies": _strategies(runs, when, name),
        "groups": _groups(plan, groups, deadlines, when),
        "updates": _updates(
            draft_updates(session, plan=plan, incident_id=incident_id, now=now, settings=context.settings),
            when,
        )
        if can_manage and plan is not None
        else [],
        "parked": [
            {
                "id": m.id,
                "channel": m.channel,
                "to": m.recipient_name or m.recipient,
                "subject": m.subject or m.body[:80],
                "reason": m.last_error or "no reason recorded",
                "parked": when(m.parked_at),
            }
            for m in parked
        ]
        if principal.can(Permission.READ_NOTIFICATIONS)
        else [],
        "message_counts": counts,
        "timeline": [_entry(e, when, name) for e in timeline],
        "older": timeline[-1].id if older and timeline else None,
        "show": show,
        "filters": [
            ("all", "Everything"),
            ("people", "People"),
            ("system", "System"),
            ("messages", "Messages"),
        ],
    }


def _duration(span: timedelta) -> str:
    minutes = max(int(span.total_seconds() // 60), 0)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    return f"{hours // 24} days {hours % 24} h"


def _moves(record: IncidentRecord) -> list[dict[str, Any]]:
    """The next step first, then resolving (or back to recovering), reopening and review."""
    state = record.state
    if state == "reviewed":
        return []
    if state == "resolved":
        targets = ["diagnosing", "reviewed"]
    else:
        # From detected the next step is diagnosing: moving on acknowledges (the button beside it).
        following = {
            "detected": "diagnosing",
            "acknowledged": "diagnosing",
            "diagnosing": "recovering",
            "recovering": "verifying",
            "verifying": "resolved",
        }
        targets = [following[state]]
        if state == "verifying":
            targets.append("recovering")
        if "resolved" not in targets:
            targets.append("resolved")
    words = {"resolved": "Resolve", "reviewed": "Mark reviewed"}
    return [
        {
            "to": to,
            "label": "Reopen"
            if state == "resolved" and to == "diagnosing"
            else "Back to recovering"
            if state == "verifying" and to == "recovering"
            else words.get(to, f"Move to {to}"),
            "reason": needs_reason(state, to),
        }
        for to in targets
    ]


def _outage(outage: OutageRecord | None, when: Any, now: datetime) -> dict[str, Any] | None:
    if outage is None:
        return None
    return {
        "id": outage.id,
        "classification": outage.classification,
        "tone": _TONES.get(outage.classification, "unknown"),
        "summary": outage.summary,
        "started": when(outage.started_at),
        "ended": when(outage.ended_at),
        "minutes": round(outage.duration_s(now) / 60, 1),
        "causes": list(outage.causes),
    }


def _down(plan: Plan | None, outage: OutageRecord | None, session: Session, topology: Any) -> dict[str, Any]:
    """The dependency map narrowed to the outage: its causes and what they take down, live."""
    if plan is None or outage is None or topology is None:
        return {"layout": None, "components": []}
    states = read_states(session)
    keep = {*outage.causes, *outage.components, *outage.ever.get("components", ())}
    keep &= {c.id for c in plan.components}
    sites = {*outage.sites, *outage.ever.get("sites", ())}
    queues = {*outage.queues, *outage.degraded_queues, *outage.ever.get("queues", ())}
    narrowed = plan.model_copy(
        update={
            "components": [
                c.model_copy(update={"depends_on": _within(c.depends_on, keep)})
                for c in plan.components
                if c.id in keep
            ],
            "sites": [
                s.model_copy(update={"depends_on": _within(s.depends_on, keep)})
                for s in plan.sites
                if s.id in sites
            ],
            "queues": [
                q.model_copy(update={"depends_on": _within(q.depends_on, keep)})
                for q in plan.queues
                if q.id in queues
            ],
        }
    )
    availability = topology.availability(down_components(plan, states))
    layout = layout_plan(narrowed, states=state_names(states), availability=availability)
    components = [
        {
            "id": c.id,
            "name": c.name,
            "state": states[c.id].state if c.id in states else "unknown",
            "cause": c.id in outage.causes,
            "available": c.id in availability.components,
        }
        for c in narrowed.components
    ]
    return {"layout": layout, "components": components}


def _within(dependencies: Sequence[Dependency], keep: set[str]) -> list[Dependency]:
    """The dependencies among `keep`: a redundancy group keeps only its members that are kept."""
    out: list[Dependency] = []
    for d in dependencies:
        if isinstance(d, AnyOf):
            members = [m for m in d.any_of if m in keep]
            if len(members) == 1:
                out.append(members[0])
            elif members:
                out.append(d.model_copy(update={"any_of": members}))
        elif d in keep:
            out.append(d)
    return out


def _strategies(runs: Sequence[StrategyRunRecord], when: Any, name: Any) -> dict[str, list[dict[str, Any]]]:
    shown: dict[str, list[dict[str, Any]]] = {"proposed": [], "running": [], "done": []}
    for r in runs:
        bucket = "done" if r.state in ("done", "declined") else r.state
        shown.setdefault(bucket, []).append(
            {
                "id": r.strategy_id,
                "name": r.name,
                "state": r.state,
                "reason": r.reason or "",
                "applies_now": r.applies_now,
                "automatic": r.automatic,
                "proposed": when(r.proposed_at),
                "decided": when(r.decided_at),
                "decided_by": name(r.decided_by),
                "completed": when(r.completed_at),
                "in_plan": r.in_plan,
                "relocation": r.relocation,
                "steps": [
                    {
                        "index": s.index,
                        "step": s.step,
                        "done": s.done,
                        "at": when(s.done_at),
                        "by": name(s.by),
                    }
                    for s in r.steps
                ],
            }
        )
    return shown


def _groups(
    plan: Plan | None, groups: Mapping[str, Any], deadlines: Mapping[str, Any], when: Any
) -> list[dict[str, Any]]:
    """Each stakeholder group of the plan: told when, next update due, its deadline by deliveries."""
    order = [g.id for g in plan.stakeholders] if plan is not None else []
    order += [g for g in sorted({*groups, *deadlines}) if g not in order]
    rows = []
    for gid in order:
        state = groups.get(gid)
        deadline = deadlines.get(gid)
        if state is None and deadline is None:
            continue  # not told about this kind of outage
        rows.append(
            {
                "id": gid,
                "told": when(state.first_told_at) if state is not None else "",
                "updates": state.updates_sent if state is not None else 0,
                "next_update": when(state.next_update_at) if state is not None else "",
                "all_clear": when(state.resolved_told_at) if state is not None else "",
                "deadline": {
                    "state": deadline.state,
                    "word": deadline.state.replace("_", " "),
                    "tone": "up" if deadline.state == "met" else "down",
                    "due": when(deadline.due_by),
                    "reason": deadline.reason,
                }
                if deadline is not None
                else None,
            }
        )
    return rows


def _updates(drafts: Sequence[UpdateDraft], when: Any) -> list[dict[str, Any]]:
    """A "Send an update" form per group: the drafted texts, and a key of its own against sending twice."""
    return [
        {
            "group": d.group,
            "number": d.number,
            "due": when(d.due_at),
            "key": secrets.token_urlsafe(16),
            "channels": [
                {
                    "channel": c.channel,
                    "word": "SMS" if c.channel == "sms" else "Email",
                    "subject": c.subject,
                    "body": c.body,
                    "recipients": c.recipients,
                    "problem": c.problem or "",
                }
                for c in d.channels
            ],
        }
        for d in drafts
    ]


def _entry(entry: Entry, when: Any, name: Any) -> dict[str, Any]:
    written = entry.data.get("written_at") if entry.kind == "note" else None
    return {
        "id": entry.id,
        "at": when(entry.at),
        "kind": entry.kind,
        "who": "Standby" if entry.actor == SYSTEM else name(entry.actor),
        "person": entry.actor != SYSTEM,
        "text": entry.text,
        "written": when(datetime.fromisoformat(written)) if isinstance(written, str) else "",
    }
