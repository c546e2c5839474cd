"""Paging as a service: the escalation policy's steps turned into pages, messages and timeline.

Each page is one row per (incident, round, level, person) and one SMS and one email
through the outbox, each with an idempotency key made of the same four things: a
step taken twice (two workers, a restart) pages nobody twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from standby.notify.outbox import enqueue
from standby.plan.schema import Plan
from standby.respond.ack_links import ack_url, make_ack_token
from standby.respond.escalation import (
    EscalationStep,
    PagingState,
    first_pages,
    is_exhausted,
    next_step,
    policy_by_id,
)
from standby.respond.incidents import SEVERITY_WORDS
from standby.respond.oncall_service import overrides_in_force
from standby.respond.templates import local_time
from standby.respond.timeline import add_entry
from standby.store.tables import IncidentRow, PageRow

ACK_LINK_LIFETIME = timedelta(hours=24)


def page(
    session: Session,
    *,
    incident: IncidentRow,
    step: EscalationStep,
    plan: Plan,
    now: datetime,
    secret: str,
    base_url: str,
) -> int:
    """Page the step's targets by SMS and email, each with a signed acknowledgement link; returns pages."""
    sent = 0
    severity = SEVERITY_WORDS.get(incident.severity, f"SEV{incident.severity}").split()[0]
    # The room, through the login when needed; times in the centre's zone like every message.
    room = f"{base_url.rstrip('/')}/incidents/{incident.id}"
    next_at = local_time(step.next_due, ZoneInfo(plan.organisation.timezone))
    for target in step.targets:
        page_id = _page_row(session, incident.id, step, target.person_id, now)
        token = make_ack_token(
            secret,
            page_id=page_id,
            incident_id=incident.id,
            person_id=target.person_id,
            expires_at=now + ACK_LINK_LIFETIME,
        )
        link = ack_url(base_url, token)
        key = f"page:{incident.id}:{step.round}:{step.level}:{target.person_id}"
        text = f"[Standby] {severity} incident {incident.id}: {incident.title}"
        if target.phone:
            enqueue(
                session,
                key=f"{key}:sms",
                channel="sms",
                recipient=target.phone,
                recipient_name=target.name,
                body=f"{text[:200]} Acknowledge: {link}",
                purpose="page",
                incident_id=incident.id,
                now=now,
            )
        if target.email:
            enqueue(
                session,
                key=f"{key}:email",
                channel="email",
                recipient=target.email,
                recipient_name=target.name,
                subject=f"{severity} incident {incident.id}: {incident.title}"[:200],
                body=(
                    f"{target.name},\n\nYou are paged for incident {incident.id} ({incident.classification},"
                    f" {SEVERITY_WORDS.get(incident.severity, '')}):\n\n  {incident.title}\n\n"
                    f"Acknowledge: {link}\nThe incident: {room}\n\n"
                    f"Escalation: level {step.level + 1}, round {step.round + 1}; unless someone"
                    f" acknowledges, the next level is paged at {next_at}.\n"
                ),
                purpose="page",
                incident_id=incident.id,
                now=now,
            )
        sent += 1
    names = ", ".join(f"{t.name} ({t.via})" for t in step.targets) or "nobody"
    add_entry(
        session,
        incident_id=incident.id,
        at=now,
        kind="page",
        text=f"Paged {names}: level {step.level + 1}, round {step.round + 1} of policy {step.policy_id}",
        data={
            "level": step.level,
            "round": step.round,
            "people": [t.person_id for t in step.targets],
            "unresolved": list(step.unresolved),
            "next_due": step.next_due.isoformat(),
        },
    )
    if step.unresolved:
        add_entry(
            session,
            incident_id=incident.id,
            at=now,
            kind="escalation",
            text=f"Could not page {', '.join(step.unresolved)}: no such person, or no phone or email",
            data={"unresolved": list(step.unresolved)},
        )
    incident.escalation_level, incident.escalation_round = step.level, step.round
    incident.next_escalation_at, incident.updated_at = step.next_due, now
    return sent


def _page_row(session: Session, incident_id: int, step: EscalationStep, person_id: str, now: datetime) -> int:
    values = {
        "incident_id": incident_id,
        "person_id": person_id,
        "level": step.level,
        "round": step.round,
        "sent_at": now,
    }
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(PageRow)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["incident_id", "round", "level", "person_id"])
    )
    found = session.scalar(
        select(PageRow.id).where(
            PageRow.incident_id == incident_id,
            PageRow.round == step.round,
            PageRow.level == step.level,
            PageRow.person_id == person_id,
        )
    )
    assert found is not None  # inserted or already there
    return int(found)


def escalate(
    session: Session, *, incident: IncidentRow, plan: Plan, now: datetime, secret: str, base_url: str
) -> int:
    """Page what the policy says is due for this incident now; returns pages sent.

    A new incident gets its first level at once. An unacknowledged one gets the next
    level when the last one's time is up, round after round, and once every round is
    spent the timeline says so and paging stops. An acknowledgement stops it, and so does
    the end of the outage (the incident left `detected` without one): that stops the
    paging without acknowledging anything.
    """
    if incident.acknowledged_at is not None or incident.state != "detected":
        if incident.next_escalation_at is not None:
            incident.next_escalation_at = None
        return 0
    policy = policy_by_id(plan, incident.policy_id)
    if policy is None:
        if incident.next_escalation_at is None and not _paged(session, incident.id):
            add_entry(
                session,
                incident_id=incident.id,
                at=now,
                kind="escalation",
                text="Nobody paged: the plan has no escalation policy",
            )
            incident.next_escalation_at = now + timedelta(days=3650)
        return 0
    overrides = overrides_in_force(session, plan=plan, around=now)
    last = session.scalar(
        select(PageRow.sent_at)
        .where(PageRow.incident_id == incident.id)
        .order_by(PageRow.round.desc(), PageRow.level.desc())
        .limit(1)
    )
    if last is None:
        step = first_pages(policy, now, plan=plan, overrides=overrides)
        return page(
            session, incident=incident, step=step, plan=plan, now=now, secret=secret, base_url=base_url
        )
    state = PagingState(level=incident.escalation_level, round=incident.escalation_round, paged_at=last)
    following = next_step(policy, state, now, plan=plan, overrides=overrides)
    if following is not None:
        return page(
            session, incident=incident, step=following, plan=plan, now=now, secret=secret, base_url=base_url
        )
    if incident.next_escalation_at is not None and is_exhausted(policy, state, now):
        add_entry(
            session,
            incident_id=incident.id,
            at=now,
            kind="escalation",
            text=f"Escalation exhausted: nobody acknowledged after {policy.repeat + 1} round(s)"
            f" of policy {policy.id}",
        )
        incident.next_escalation_at = None
    return 0


def _paged(session: Session, incident_id: int) -> bool:
    return session.scalar(select(PageRow.id).where(PageRow.incident_id == incident_id).limit(1)) is not None
