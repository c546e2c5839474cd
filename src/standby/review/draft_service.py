"""The review drafted from the records: the incident, its outage, timeline, strategies,
deliveries, customers and the plan. Reads only; the unit of work is the caller's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from standby.customers.caught import callbacks_by_kind
from standby.customers.compensation_service import merged_family
from standby.customers.summary import headline as customers_headline
from standby.customers.summary_service import customer_summary
from standby.detect.history import OutageRecord, get_outage
from standby.impact.results import ImpactResult
from standby.plan.changes import plan_changes
from standby.plan.schema import Plan
from standby.plan.versions import current_plan, plan_of_version, version_in_force
from standby.respond.deadline_service import deadlines_of
from standby.respond.incident_service import IncidentRecord, get_incident
from standby.respond.strategy_runs import list_runs
from standby.respond.timeline import Entry, entries
from standby.review.action_service import actions_of
from standby.review.draft import (
    Communication,
    NamedTime,
    PlanPart,
    Review,
    StrategyPart,
    TimelineLine,
)
from standby.review.impact_part import impact_part
from standby.review.measures import NAMED_TIMES, between, duration_words, figures
from standby.review.written_service import written_of
from standby.store.tables import CallbackRow, CommunicationRow, IncidentRow, StrategyRunRow

Simulator = Callable[[Plan, OutageRecord, datetime], tuple[ImpactResult | None, str | None]]


def named_times(
    session: Session, incident: IncidentRecord, outage: OutageRecord | None, timeline: Sequence[Entry]
) -> tuple[dict[str, datetime | None], bool]:
    """The incident's named times from the records, and whether there were no callbacks to clear."""
    mitigated = session.scalar(
        select(func.min(StrategyRunRow.decided_at)).where(
            StrategyRunRow.incident_id == incident.id, StrategyRunRow.state.in_(("running", "done"))
        )
    )
    verified = None
    for entry in timeline:
        if (
            entry.kind == "state"
            and entry.data.get("from") == "verifying"
            and entry.data.get("to")
            in (
                "resolved",
                "reviewed",
            )
        ):
            verified = entry.at
    cleared, nothing = _callbacks_cleared(session, outage)
    times: dict[str, datetime | None] = {
        "started": outage.started_at if outage is not None else None,
        "detected": incident.detected_at,
        "acknowledged": incident.acknowledged_at,
        "mitigated": mitigated,
        "recovered": outage.ended_at if outage is not None else None,
        "verified": verified if incident.resolved_at is not None else None,
        "resolved": incident.resolved_at,
        "callbacks_cleared": cleared,
    }
    return times, nothing


def _callbacks_cleared(session: Session, outage: OutageRecord | None) -> tuple[datetime | None, bool]:
    """When the outage's last rescheduled callback was made (None while any is not), and whether none was."""
    if outage is None:
        return None, True
    family = merged_family(session, outage.id)
    rescheduled = callbacks_by_kind(family, ("rescheduled",)).subquery()
    rows = session.execute(
        select(CallbackRow.state, CallbackRow.completed_at).where(
            CallbackRow.id.in_(select(rescheduled.c.callback_id)), CallbackRow.state != "cancelled"
        )
    ).all()
    if not rows:
        return None, True
    if any(state != "completed" or done is None for state, done in rows):
        return None, False
    return max(done for _, done in rows if done is not None), False


def _plan_part(session: Session, incident_id: int, detected_at: datetime) -> tuple[PlanPart, Plan | None]:
    row = session.get(IncidentRow, incident_id)
    version_id = row.plan_version_id if row is not None else None
    if version_id is None:
        info = version_in_force(session, detected_at)
        version_id = info.id if info is not None else None
    then = plan_of_version(session, version_id) if version_id is not None else None
    now = current_plan(session)
    changes: tuple[str, ...] = ()
    if then is not None and now is not None and now[0].id != then[0].id:
        changes = tuple(plan_changes(then[1], now[1]).sentences())
    part = PlanPart(
        version_id=version_id,
        loaded_at=then[0].loaded_at if then is not None else None,
        current_version_id=now[0].id if now is not None else None,
        changes_since=changes,
    )
    return part, then[1] if then is not None else (now[1] if now is not None else None)


def _communications(
    session: Session, plan: Plan | None, incident_id: int, now: datetime
) -> tuple[Communication, ...]:
    names = {s.id: s.id for s in plan.stakeholders} if plan is not None else {}
    deadlines = {d.group: d for d in deadlines_of(session, [incident_id], now).get(incident_id, [])}
    found = []
    for row in session.scalars(
        select(CommunicationRow)
        .where(CommunicationRow.incident_id == incident_id)
        .order_by(CommunicationRow.id)
    ):
        d = deadlines.get(row.stakeholder_id)
        found.append(
            Communication(
                group=row.stakeholder_id,
                name=names.get(row.stakeholder_id, row.stakeholder_id),
                due_by=row.due_by,
                state=d.state if d is not None else None,
                reason=d.reason if d is not None else None,
                evidence_at=d.at if d is not None else None,
                message_id=d.message_id if d is not None else None,
                first_told_at=row.first_told_at,
                updates_sent=row.updates_sent,
                resolved_told_at=row.resolved_told_at,
            )
        )
    return tuple(found)


def _summary(incident: IncidentRecord, outage: OutageRecord | None, plan: Plan | None, now: datetime) -> str:
    what = incident.title
    if outage is None:
        return f"{what}: declared by hand ({incident.severity_text}); no outage was recorded."
    hit = sorted(set(outage.queues) | set(outage.ever.get("queues", ())))
    names = plan.queues_by_id if plan is not None else {}
    whom = ", ".join(names[q].name if q in names else q for q in hit) or "no queue"
    length = duration_words(outage.duration_s(now))
    lasting = f"for {length}" if outage.ended_at is not None else f"for {length} so far"
    return f"{what} ({incident.severity_text}, {outage.peak_classification}): it hit {whom} {lasting}."


def draft_review(
    session: Session, *, incident_id: int, now: datetime, simulator: Simulator | None = None
) -> Review:
    """The review of an incident as the records say (NotFound for no incident).

    `simulator` runs the outage's simulation (default: `impact_part.simulate`), so callers
    may keep one per outage instead of running it on every read.
    """
    incident = get_incident(session, incident_id)
    outage = get_outage(session, incident.outage_id) if incident.outage_id is not None else None
    timeline = entries(session, incident_id)
    times, nothing_to_clear = named_times(session, incident, outage, timeline)
    closed = incident.state in ("resolved", "reviewed")
    plan_part, plan = _plan_part(session, incident_id, incident.detected_at)
    meanings = dict(NAMED_TIMES)
    forecast_entries = [(e.at, e.data) for e in timeline if e.kind == "forecast"]
    simulated = None
    if simulator is not None and plan is not None and outage is not None:
        simulated = simulator(plan, outage, now)
    runs = list_runs(session, incident_id=incident_id, plan=plan, now=now)
    figures_ = {}
    summary = None
    if outage is not None:
        found = customer_summary(session, outage_id=outage.id)
        figures_, summary = found.as_dict(), customers_headline(found)
    return Review(
        incident_id=incident.id,
        title=incident.title,
        state=incident.state,
        severity_text=incident.severity_text,
        classification=incident.classification,
        outage_id=incident.outage_id,
        summary=_summary(incident, outage, plan, now),
        times=tuple(NamedTime(name, times[name], meaning) for name, meaning in meanings.items()),
        measures=tuple(figures(times, closed=closed, nothing_to_clear=nothing_to_clear)),
        plan=plan_part,
        timeline=tuple(TimelineLine(e.at, e.kind, e.actor, e.text) for e in timeline),
        impact=impact_part(plan, outage, forecast_entries, now=now, simulated=simulated),
        customers=figures_,
        customers_headline=summary or "no customer records: the outage caught no callback or call",
        communications=_communications(session, plan, incident_id, now),
        strategies=tuple(
            StrategyPart(
                r.strategy_id,
                r.name,
                r.state,
                r.automatic,
                r.proposed_at,
                r.decided_at,
                r.decided_by,
                between(r.proposed_at, r.decided_at) if r.state in ("running", "done") else None,
            )
            for r in runs
        ),
        written=written_of(session, incident_id),
        actions=actions_of(session, incident_id=incident_id, now=now),
        timezone=plan.organisation.timezone if plan is not None else "UTC",
    )


def local(at: datetime | None, timezone: str) -> str:
    """A time in the plan's zone, to the second, with its offset; an em dash for none."""
    if at is None:
        return "\u2014"
    return at.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S %Z")
