"""Reading what the public page needs from the database: a change mark, and the facts.

`change_mark` is one small query (a few maxima): the board asks it every couple of
seconds and reads the facts (`read_facts`) only when it moved. Neither commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from standby.detect.maintenance_service import windows_in_force
from standby.plan.topology import Topology
from standby.plan.versions import current_plan
from standby.respond.incidents import OPEN_STATES
from standby.status.notices import IncidentFacts, TimelineFact
from standby.status.snapshot import Facts
from standby.status.uptime import DAYS, Downtime
from standby.store.tables import (
    ComponentStateRow,
    IncidentRow,
    MaintenanceWindowRow,
    OutageRow,
    PlanVersionRow,
    TimelineRow,
)

MAX_NOTICES = 100
"""Incidents looked at for notices: the newest, within the uptime's days or still open."""
PUBLIC_KINDS = ("state", "message", "note")

ChangeMark = tuple[Any, ...]


def change_mark(session: Session) -> ChangeMark:
    """What moves whenever anything the public page shows may have changed."""
    row = session.execute(
        select(
            select(func.max(PlanVersionRow.id)).scalar_subquery(),
            select(func.max(ComponentStateRow.updated_at)).scalar_subquery(),
            select(func.count()).select_from(ComponentStateRow).scalar_subquery(),
            select(func.max(OutageRow.updated_at)).scalar_subquery(),
            select(func.max(IncidentRow.updated_at)).scalar_subquery(),
            select(func.max(TimelineRow.id)).scalar_subquery(),
            select(func.max(MaintenanceWindowRow.id)).scalar_subquery(),
            select(func.max(MaintenanceWindowRow.cancelled_at)).scalar_subquery(),
        )
    ).one()
    return tuple(row)


def read_facts(session: Session, *, now: datetime, topology_of: TopologyOf, mark: ChangeMark) -> Facts | None:
    """Everything the snapshot is built from; None while no plan was ever loaded."""
    found = current_plan(session)
    if found is None:
        return None
    info, plan = found
    since = now - timedelta(days=DAYS + 1)
    states = {r.component_id: r.state for r in session.scalars(select(ComponentStateRow))}
    every = list(
        session.scalars(
            select(OutageRow).where(or_(OutageRow.ended_at.is_(None), OutageRow.ended_at >= since))
        )
    )
    # The public never sees an exercise: its outages are left out, and a component down only
    # because an exercise's scenario took it down is shown as it really is, up.
    outages = [o for o in every if o.exercise_id is None]
    for component_id in _exercised_only(every):
        if states.get(component_id) == "down":
            states[component_id] = "up"
    degraded: set[str] = set()
    for outage in outages:
        if outage.ended_at is None and not outage.in_maintenance:
            degraded |= set(outage.degraded_queues)
    return Facts(
        plan=plan,
        topology=topology_of(info.sha256, plan),
        states=states,
        degraded_queues=frozenset(degraded),
        downtimes=_downtimes(outages),
        incidents=_incidents(session, since, {o.id: o for o in outages}),
        windows=windows_in_force(session, plan=plan, now=now),
        updated_at=max([info.loaded_at, *(t for t in mark if isinstance(t, datetime))]),
        plan_loaded_at=info.loaded_at,
    )


def _exercised_only(outages: Sequence[OutageRow]) -> set[str]:
    """Components of open exercise outages that no real open outage holds."""
    exercised: set[str] = set()
    real: set[str] = set()
    for outage in outages:
        if outage.ended_at is None:
            (exercised if outage.exercise_id is not None else real).update(outage.components)
    return exercised - real


class TopologyOf:
    """The topology of a plan version, built once per version (a plan's topology walks it all)."""

    def __init__(self) -> None:
        """Nothing built yet."""
        self._sha: str | None = None
        self._topology: Topology | None = None

    def __call__(self, sha256: str, plan: Any) -> Topology:
        """The topology of the plan with this hash."""
        if self._topology is None or self._sha != sha256:
            self._topology, self._sha = Topology.from_plan(plan), sha256
        return self._topology


def _downtimes(outages: Sequence[OutageRow]) -> list[Downtime]:
    """The outages the uptime counts: not in maintenance, not merely degraded, not merged away."""
    return [
        Downtime(
            started_at=o.started_at,
            ended_at=o.ended_at,
            components=frozenset((o.history or {}).get("components", [])) | frozenset(o.components),
            queues=frozenset((o.history or {}).get("queues", [])) | frozenset(o.queues),
        )
        for o in outages
        if not o.in_maintenance and o.peak_classification != "degraded" and o.merged_into is None
    ]


def _incidents(session: Session, since: datetime, outages: dict[int, OutageRow]) -> list[IncidentFacts]:
    rows = list(
        session.scalars(
            select(IncidentRow)
            .where(or_(IncidentRow.detected_at >= since, IncidentRow.state.in_(sorted(OPEN_STATES))))
            .where(IncidentRow.exercise_id.is_(None))
            .order_by(IncidentRow.id.desc())
            .limit(MAX_NOTICES)
        )
    )
    if not rows:
        return []
    timeline: dict[int, list[TimelineFact]] = {r.id: [] for r in rows}
    entries = session.scalars(
        select(TimelineRow)
        .where(TimelineRow.incident_id.in_(list(timeline)), TimelineRow.kind.in_(PUBLIC_KINDS))
        .order_by(TimelineRow.at, TimelineRow.id)
    )
    for entry in entries:
        timeline[entry.incident_id].append(
            TimelineFact(entry.id, entry.at, entry.kind, entry.text, dict(entry.data or {}))
        )
    missing = [r.outage_id for r in rows if r.outage_id is not None and r.outage_id not in outages]
    if missing:
        for older in session.scalars(select(OutageRow).where(OutageRow.id.in_(missing))):
            outages[older.id] = older
    facts = []
    for row in rows:
        outage: OutageRow | None = outages.get(row.outage_id) if row.outage_id is not None else None
        history: dict[str, list[str]] = dict(outage.history or {}) if outage is not None else {}
        facts.append(
            IncidentFacts(
                id=row.id,
                state=row.state,
                detected_at=row.detected_at,
                resolved_at=row.resolved_at,
                started_at=outage.started_at if outage is not None else row.detected_at,
                classification=outage.peak_classification if outage is not None else row.classification,
                components=frozenset(history.get("components", []))
                | frozenset(outage.components if outage is not None else ()),
                queues=frozenset(history.get("queues", []))
                | frozenset(outage.queues if outage is not None else ())
                | frozenset(outage.degraded_queues if outage is not None else ()),
                timeline=tuple(timeline[row.id]),
            )
        )
    return facts
