"""Incidents as a service: opened by outages or declared, moved through their steps, with roles,
notes and the timeline. Functions take a session and the time; the unit of work commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from standby.detect.history import OutageRecord
from standby.errors import InvalidInput, NotFound
from standby.plan.schema import Plan
from standby.respond.incidents import (
    OPEN_STATES,
    ROLES,
    SEVERITY_WORDS,
    Timings,
    check_transition,
    severity,
    timings,
)
from standby.respond.timeline import SYSTEM, add_entry
from standby.store.tables import AlertRow, IncidentRow, OutageRow


@dataclass(frozen=True)
class IncidentRecord:
    """An incident as the API and the orchestration see it."""

    id: int
    outage_id: int | None
    title: str
    state: str
    severity: int
    classification: str
    commander: str | None
    communications_lead: str | None
    technical_lead: str | None
    declared_by: str | None
    policy_id: str | None
    detected_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    reviewed_at: datetime | None
    escalation_level: int
    escalation_round: int
    next_escalation_at: datetime | None
    updated_at: datetime
    timings: Timings
    exercise_id: int | None = None
    """The exercise that opened it: not a real incident."""

    @property
    def open(self) -> bool:
        """Whether the incident is still being worked (not resolved or reviewed)."""
        return self.state in OPEN_STATES

    @property
    def severity_text(self) -> str:
        """SEV1 (critical) and so on."""
        return SEVERITY_WORDS.get(self.severity, f"SEV{self.severity}")


def _record(row: IncidentRow, outage_started: datetime | None) -> IncidentRecord:
    return IncidentRecord(
        id=row.id,
        outage_id=row.outage_id,
        title=row.title,
        state=row.state,
        severity=row.severity,
        classification=row.classification,
        commander=row.commander,
        communications_lead=row.communications_lead,
        technical_lead=row.technical_lead,
        declared_by=row.declared_by,
        policy_id=row.policy_id,
        detected_at=row.detected_at,
        acknowledged_at=row.acknowledged_at,
        resolved_at=row.resolved_at,
        reviewed_at=row.reviewed_at,
        escalation_level=row.escalation_level,
        escalation_round=row.escalation_round,
        next_escalation_at=row.next_escalation_at,
        updated_at=row.updated_at,
        timings=timings(
            started_at=outage_started,
            detected_at=row.detected_at,
            acknowledged_at=row.acknowledged_at,
            resolved_at=row.resolved_at,
        ),
        exercise_id=row.exercise_id,
    )


def incident_record(row: IncidentRow, outage_started: datetime | None) -> IncidentRecord:
    """The record of an incident's row, given when its outage started (None when declared by hand)."""
    return _record(row, outage_started)


def _started(session: Session, row: IncidentRow) -> datetime | None:
    if row.outage_id is None:
        return None
    return session.scalar(select(OutageRow.started_at).where(OutageRow.id == row.outage_id))


def default_policy(plan: Plan) -> str | None:
    """The plan's default escalation policy, else its first, else None."""
    for policy in plan.escalation_policies:
        if policy.default:
            return policy.id
    return plan.escalation_policies[0].id if plan.escalation_policies else None


def open_for_outage(
    session: Session, *, outage: OutageRecord, plan: Plan, now: datetime, plan_version_id: int | None = None
) -> tuple[IncidentRecord, bool]:
    """The incident of an outage, opened now if it has none: (incident, whether it was opened now).

    One per outage whatever the number of workers asking at once: the insert does
    nothing when another already made it (a unique outage id), and the existing one is
    returned.
    """
    found = session.scalars(select(IncidentRow).where(IncidentRow.outage_id == outage.id)).first()
    if found is not None:
        return _record(found, outage.started_at), False
    values = {
        "outage_id": outage.id,
        "title": outage.summary[:500],
        "state": "detected",
        "severity": severity(plan, outage.classification, outage.queues),
        "classification": outage.classification,
        "policy_id": default_policy(plan),
        "detected_at": outage.detected_at,
        "escalation_level": 0,
        "escalation_round": 0,
        "plan_version_id": plan_version_id,
        "updated_at": now,
        "exercise_id": outage.exercise_id,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    result = session.execute(
        insert(IncidentRow).values(**values).on_conflict_do_nothing(index_elements=["outage_id"])
    )
    row = session.scalars(select(IncidentRow).where(IncidentRow.outage_id == outage.id)).one()
    created = bool(getattr(result, "rowcount", 0))
    if created:
        add_entry(
            session,
            incident_id=row.id,
            at=outage.detected_at,
            kind="state",
            text=("EXERCISE: " if outage.exercise_id is not None else "")
            + f"Detected: {outage.summary} ({SEVERITY_WORDS[row.severity]})",
            data={
                "state": "detected",
                "outage_id": outage.id,
                "causes": list(outage.causes),
                "exercise_id": outage.exercise_id,
            },
        )
    return _record(row, outage.started_at), created


def declare(
    session: Session,
    *,
    title: str,
    classification: str,
    plan: Plan,
    by: str,
    now: datetime,
    queues: list[str] | None = None,
) -> IncidentRecord:
    """Declare an incident by hand (a problem no probe sees): it starts detected, paged like any."""
    title = title.strip()
    if not title:
        raise InvalidInput("title: say what is wrong, in a few words")
    if classification not in ("total", "partial", "degraded"):
        raise InvalidInput("classification: use total, partial or degraded")
    unknown = [q for q in queues or [] if q not in plan.queues_by_id]
    if unknown:
        raise InvalidInput(f"queues: no queue {', '.join(map(repr, unknown))} in the plan")
    row = IncidentRow(
        title=title[:500],
        state="detected",
        severity=severity(plan, classification, queues or []),
        classification=classification,
        declared_by=by,
        policy_id=default_policy(plan),
        detected_at=now,
        escalation_level=0,
        escalation_round=0,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    add_entry(
        session,
        incident_id=row.id,
        at=now,
        kind="state",
        actor=by,
        text=f"Declared: {row.title} ({SEVERITY_WORDS[row.severity]})",
        data={"state": "detected"},
    )
    return _record(row, None)


def _row(session: Session, incident_id: int) -> IncidentRow:
    row = session.get(IncidentRow, incident_id)
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    return row


def lock_incident(session: Session, incident_id: int) -> IncidentRow:
    """The incident's row, locked until the unit of work ends so that writers take turns; NotFound if none.

    A write first: it locks the row (PostgreSQL) or takes SQLite's write lock.
    """
    locked = session.execute(
        update(IncidentRow)
        .where(IncidentRow.id == incident_id)
        .values(id=IncidentRow.id)
        .execution_options(synchronize_session=False)
    )
    row = session.get(IncidentRow, incident_id)
    if row is None or not getattr(locked, "rowcount", 1):
        raise NotFound(f"no incident {incident_id}")
    return row


def get_incident(session: Session, incident_id: int) -> IncidentRecord:
    """One incident; NotFound when there is none with that id."""
    row = _row(session, incident_id)
    return _record(row, _started(session, row))


def list_incidents(
    session: Session, *, open_only: bool = False, limit: int = 100, before_id: int | None = None
) -> list[IncidentRecord]:
    """Incidents, newest first."""
    query = select(IncidentRow).order_by(IncidentRow.id.desc()).limit(limit)
    if open_only:
        query = query.where(IncidentRow.state.in_(OPEN_STATES))
    if before_id is not None:
        query = query.where(IncidentRow.id < before_id)
    return [_record(r, _started(session, r)) for r in session.scalars(query)]


def transition(
    session: Session, *, incident_id: int, to: str, by: str, now: datetime, note: str | None = None
) -> IncidentRecord:
    """Move an incident to another step, with who and when on the timeline."""
    row = _row(session, incident_id)
    target = check_transition(row.state, to)
    before, row.state, row.updated_at = row.state, target, now
    if target in ("resolved", "reviewed") and row.resolved_at is None:
        row.resolved_at = now
    if target == "reviewed":
        row.reviewed_at = now
    if target in OPEN_STATES and before in ("resolved",):
        row.resolved_at = None  # reopened
    if before == "detected" and row.acknowledged_at is None:
        # Moving it on while it is paged is acknowledging it: someone is on it, paging stops.
        # Once the outage's end has stopped the paging (it left `detected` unacknowledged),
        # resolving it later is not an acknowledgement: nobody answered the pages.
        row.acknowledged_at = now
    text = f"{before} -> {target}" + (f": {note.strip()}" if note and note.strip() else "")
    add_entry(
        session,
        incident_id=row.id,
        at=now,
        kind="state",
        actor=by,
        text=text,
        data={"from": before, "to": target},
    )
    return _record(row, _started(session, row))


def assign(
    session: Session, *, incident_id: int, role: str, person: str, by: str, now: datetime, plan: Plan
) -> IncidentRecord:
    """Give someone a role on the incident (commander, communications lead, technical lead)."""
    if role not in ROLES:
        raise InvalidInput(f"role: use one of {', '.join(ROLES)}")
    if person not in plan.people_by_id:
        raise InvalidInput(f"person: no person {person!r} in the plan's people")
    row = _row(session, incident_id)
    setattr(row, role, person)
    row.updated_at = now
    add_entry(
        session,
        incident_id=row.id,
        at=now,
        kind="role",
        actor=by,
        text=f"{plan.people_by_id[person].name} is {role.replace('_', ' ')}",
        data={"role": role, "person": person},
    )
    return _record(row, _started(session, row))


NOTE_AT_MOST_BEFORE = timedelta(days=7)
"""How far back a note may be dated: an outage's first hours, written up later the same week."""


def add_note(
    session: Session, *, incident_id: int, text: str, by: str, now: datetime, at: datetime | None = None
) -> None:
    """A person's note on the timeline, at `now`, or at `at` (something seen earlier, noted now).

    A note dated in the past keeps when it was written (`data.written_at`): the timeline is
    ordered by when things happened, and says when it learnt of them.
    """
    text = text.strip()
    if not text:
        raise InvalidInput("text: the note is empty")
    if len(text) > 4000:
        raise InvalidInput("text: a note is at most 4,000 characters")
    if at is not None and at > now:
        raise InvalidInput("at: a note cannot be dated in the future")
    if at is not None and at < now - NOTE_AT_MOST_BEFORE:
        raise InvalidInput("at: a note can be dated at most 7 days back")
    _row(session, incident_id)
    data = {"written_at": now.isoformat()} if at is not None and at != now else None
    add_entry(session, incident_id=incident_id, at=at or now, kind="note", actor=by, text=text, data=data)


def follow_outage(
    session: Session, *, incident_id: int, outage: OutageRecord, plan: Plan, now: datetime
) -> bool:
    """Bring the incident in line with its outage; whether anything changed.

    A wider or narrower outage changes the class and severity (on the timeline). When
    the outage ends, an incident not yet past recovery moves to verifying: someone
    must check the centre answers again before calling it resolved.
    """
    row = _row(session, incident_id)
    changed = False
    classification = outage.classification
    if outage.ended_at is None and classification != row.classification:
        new_severity = severity(plan, classification, outage.queues)
        add_entry(
            session,
            incident_id=row.id,
            at=now,
            kind="outage",
            text=f"Now {classification} ({SEVERITY_WORDS[new_severity]}): {outage.summary}",
            data={"classification": classification, "severity": new_severity},
        )
        row.classification, row.severity, row.updated_at = classification, new_severity, now
        changed = True
    if outage.ended_at is None and outage.summary[:500] != row.title and row.declared_by is None:
        # The title says what is down now: an outage that widened is no longer "degraded".
        row.title, row.updated_at = outage.summary[:500], now
        changed = True
    if outage.ended_at is not None and row.state in ("detected", "acknowledged", "diagnosing", "recovering"):
        minutes = outage.duration_s(now) / 60
        before, row.state, row.updated_at = row.state, "verifying", now
        if outage.classification == "interruption":
            row.classification = "interruption"
        add_entry(
            session,
            incident_id=row.id,
            at=outage.ended_at,
            kind="outage",
            text=f"The outage ended after {minutes:.1f} min ({outage.classification}); verify the centre"
            " answers again, then resolve",
            data={"from": before, "to": "verifying", "ended_at": outage.ended_at.isoformat()},
        )
        if row.acknowledged_at is None:
            # The end of the outage stops the paging but acknowledges nothing: nobody answered.
            row.next_escalation_at = None
            add_entry(
                session,
                incident_id=row.id,
                at=outage.ended_at,
                kind="escalation",
                text="Escalation stopped: the outage ended; nobody acknowledged the pages",
                data={"stopped": "outage_ended", "ended_at": outage.ended_at.isoformat()},
            )
        changed = True
    return changed


EVENTS_SOURCE = "events"
"""The alerts table's source for Events v2 alerts (the only alerts a sender can acknowledge)."""


def acknowledge_from_alerts(session: Session, *, incident_id: int, outage: OutageRecord) -> bool:
    """Acknowledge the incident when an Events v2 sender acknowledged an alert behind its open outage.

    The alert must be on a component of the outage and acknowledged once the incident
    was open: an acknowledgement answers pages, and an alert acknowledged earlier (say,
    last week, and never resolved, so that the outage's evidence starts then) answered
    none of this incident's. The incident is acknowledged as that alert's sender (its receiver token's
    name, with the event's source), at the time the acknowledgement arrived, once: an
    incident already acknowledged, or whose outage has ended, is left as it is.
    Whether anything changed.
    """
    row = _row(session, incident_id)
    if row.acknowledged_at is not None or row.state != "detected" or outage.ended_at is not None:
        return False
    components = {*outage.causes, *outage.components, *outage.ever.get("components", ())}
    if not components:
        return False
    alert = session.scalars(
        select(AlertRow)
        .where(
            AlertRow.source == EVENTS_SOURCE,
            AlertRow.status == "acknowledged",
            AlertRow.component_id.in_(sorted(components)),
            AlertRow.updated_at >= row.detected_at,
        )
        .order_by(AlertRow.updated_at, AlertRow.id)
        .limit(1)
    ).first()
    if alert is None:
        return False
    # The receiver keeps no separate time for the acknowledgement: the row's last change
    # is it, since a status of acknowledged changes only by an acknowledge or a resolve.
    at = alert.updated_at
    inner = alert.payload.get("payload") if isinstance(alert.payload, dict) else None
    source = inner.get("source") if isinstance(inner, dict) else None
    sender = f"receiver:{alert.receiver}"
    who = alert.receiver + (f" ({source})" if isinstance(source, str) and source else "")
    row.acknowledged_at, row.state, row.updated_at = at, "acknowledged", at
    row.next_escalation_at = None
    add_entry(
        session,
        incident_id=row.id,
        at=at,
        kind="ack",
        actor=sender,
        text=f"Acknowledged by {who} through an Events v2 acknowledge of alert {alert.dedup_key!r}"
        f" on {alert.component_id} ({alert.summary[:200]}): escalation stops",
        data={
            "via": "events_v2",
            "alert_id": alert.id,
            "dedup_key": alert.dedup_key,
            "component": alert.component_id,
            "receiver": alert.receiver,
            "source": source if isinstance(source, str) else None,
        },
    )
    return True


def open_incident_rows(session: Session) -> list[IncidentRow]:
    """Incidents still being worked, oldest first (for the orchestration)."""
    return list(
        session.scalars(
            select(IncidentRow).where(IncidentRow.state.in_(OPEN_STATES)).order_by(IncidentRow.id)
        )
    )


__all__ = [
    "SYSTEM",
    "IncidentRecord",
    "acknowledge_from_alerts",
    "add_note",
    "assign",
    "declare",
    "default_policy",
    "follow_outage",
    "get_incident",
    "list_incidents",
    "open_for_outage",
    "open_incident_rows",
    "transition",
]
