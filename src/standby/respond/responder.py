"""The response, run every few seconds: outages become incidents, incidents are paged,
followed, communicated and worked with the plan's strategies.

One transaction per pass under the response lock, and every step idempotent (unique
rows, outbox keys), so any number of workers may run it: the first does the work, the
others find it done.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from standby.config import Settings
from standby.customers.response import CustomerPass, look_after_customers
from standby.detect.history import OutageRecord, get_outage
from standby.detect.leases import RESPONSE_LOCK, lock_detection
from standby.plan.schema import Plan
from standby.plan.topology import Topology
from standby.respond.communication_service import communicate
from standby.respond.continuity_service import evaluate
from standby.respond.incident_service import (
    acknowledge_from_alerts,
    follow_outage,
    open_for_outage,
    open_incident_rows,
)
from standby.respond.paging import escalate
from standby.review.reminder_service import remind_overdue_actions
from standby.store.tables import IncidentRow, OutageRow

RECENT_OUTAGE = timedelta(hours=1)
"""An outage that ended this recently still gets its incident (an interruption is paged too)."""


@dataclass
class ResponseSummary:
    """What one pass did."""

    opened: list[int] = field(default_factory=list)
    pages: int = 0
    followed: int = 0
    incidents: int = 0
    strategies: int = 0
    customers: CustomerPass = field(default_factory=CustomerPass)
    reminders: int = 0


@dataclass(frozen=True)
class ResponseSettings:
    """What the response needs beyond the plan: the key for signed links, the public address,
    and the settings the messages are made with (templates in the data directory)."""

    secret: str
    base_url: str
    config: Settings


ALL_CLEAR_WITHIN = timedelta(hours=1)
"""A resolved incident is still looked at this long: its all-clear goes out."""


def respond_once(
    session: Session,
    *,
    plan: Plan,
    now: datetime,
    settings: ResponseSettings,
    holder: str,
    plan_version_id: int | None = None,
    topology: Topology | None = None,
) -> ResponseSummary:
    """One pass of the response over every outage and open incident."""
    topology = topology or Topology.from_plan(plan)
    lock_detection(session, holder, now, row=RESPONSE_LOCK)
    summary = ResponseSummary()
    for outage_id in _outages_without_incident(session, now):
        incident, created = open_for_outage(
            session,
            outage=get_outage(session, outage_id),
            plan=plan,
            now=now,
            plan_version_id=plan_version_id,
        )
        if created:
            summary.opened.append(incident.id)
    session.flush()
    for row in open_incident_rows(session):
        summary.incidents += 1
        outage = None
        if row.outage_id is not None:
            outage = get_outage(session, row.outage_id)
            if follow_outage(session, incident_id=row.id, outage=outage, plan=plan, now=now):
                summary.followed += 1
            acknowledge_from_alerts(session, incident_id=row.id, outage=outage)
        summary.pages += escalate(
            session, incident=row, plan=plan, now=now, secret=settings.secret, base_url=settings.base_url
        )
        summary.strategies += len(
            evaluate(session, plan=plan, incident_id=row.id, now=now, topology=topology)
        )
        if outage is not None:
            _communicate(session, plan, row, outage, now, settings)
    for row in _recently_resolved(session, now):
        if row.outage_id is not None:
            _communicate(session, plan, row, get_outage(session, row.outage_id), now, settings)
    summary.customers = look_after_customers(session, plan=plan, now=now, data_dir=settings.config.data_dir)
    summary.reminders = remind_overdue_actions(session, plan=plan, now=now, base_url=settings.base_url)
    return summary


def _communicate(
    session: Session,
    plan: Plan,
    row: IncidentRow,
    outage: OutageRecord,
    now: datetime,
    settings: ResponseSettings,
) -> None:
    """Run the communication plan, the all-clear waiting for the incident to be resolved.

    An interruption is what it is: over before the hold, its held audiences hear nothing.
    Any longer outage counts as going on until someone has verified the centre answers
    again and resolved the incident; then the all-clear goes out, its "from-to" the
    outage's own times (its end is when the centre answered again, not when someone
    resolved the incident).
    """
    recovered_at = outage.ended_at
    if outage.ended_at is not None and outage.classification != "interruption":
        outage = replace(outage, ended_at=row.resolved_at if row.state in ("resolved", "reviewed") else None)
    communicate(
        session,
        plan=plan,
        incident_id=row.id,
        outage=outage,
        now=now,
        settings=settings.config,
        recovered_at=recovered_at,
    )


def _recently_resolved(session: Session, now: datetime) -> list[IncidentRow]:
    return list(
        session.scalars(
            select(IncidentRow)
            .where(IncidentRow.state == "resolved", IncidentRow.resolved_at >= now - ALL_CLEAR_WITHIN)
            .order_by(IncidentRow.id)
        )
    )


def _outages_without_incident(session: Session, now: datetime) -> list[int]:
    has_incident = select(IncidentRow.outage_id).where(IncidentRow.outage_id.is_not(None))
    query = (
        select(OutageRow.id)
        .where(
            OutageRow.in_maintenance.is_(False),
            OutageRow.merged_into.is_(None),
            or_(OutageRow.ended_at.is_(None), OutageRow.ended_at >= now - RECENT_OUTAGE),
            OutageRow.id.not_in(has_incident),
        )
        .order_by(OutageRow.id)
    )
    return list(session.scalars(query))
