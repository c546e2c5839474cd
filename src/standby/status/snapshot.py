"""What the public status page shows at one moment: a snapshot, built once per change.

`build_snapshot` is pure: the snapshot service (snapshot_service.py) reads the database
and hands the facts over; every public document (the page, /status.json, Statuspage's
v2 JSON, the Atom feed) is rendered from one snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from standby.detect.maintenance import Window
from standby.plan.schema import Plan
from standby.plan.topology import Topology
from standby.status.maintenance import PlannedWork, planned_work
from standby.status.notices import IncidentFacts, Notice, public_notice
from standby.status.services import (
    INDICATOR_WORDS,
    Indicator,
    Service,
    Status,
    indicator,
    live_facts,
    public_services,
    service_status,
)
from standby.status.uptime import Downtime, UptimeBar, uptime_bar


@dataclass(frozen=True)
class ServiceView:
    """A public service with its status now and its last 90 days."""

    service: Service
    status: Status
    bar: UptimeBar


@dataclass(frozen=True)
class Snapshot:
    """Everything the public documents show, at `updated_at` (the last change they reflect)."""

    organisation: str
    timezone: str
    updated_at: datetime
    published_at: datetime
    """When the plan the services come from was loaded: when they were first published."""
    services: tuple[ServiceView, ...]
    notices: tuple[Notice, ...]
    """Newest first: open ones and those of the last 90 days."""
    planned: tuple[PlannedWork, ...]

    @property
    def indicator(self) -> Indicator:
        """Statuspage's `status.indicator` of the whole page."""
        return indicator([s.status for s in self.services])

    @property
    def description(self) -> str:
        """The words of the indicator, such as 'All Systems Operational'."""
        return INDICATOR_WORDS[self.indicator]

    @property
    def open_notices(self) -> tuple[Notice, ...]:
        """The notices not yet resolved."""
        return tuple(n for n in self.notices if not n.resolved)

    @property
    def any_line_down(self) -> bool:
        """Whether some public service is out now (the page offers a callback then)."""
        return any(s.status in ("partial_outage", "major_outage") for s in self.services)

    def service_names(self, ids: Iterable[str]) -> list[str]:
        """The public names of these service ids, in page order."""
        wanted = set(ids)
        return [v.service.name for v in self.services if v.service.id in wanted]


@dataclass(frozen=True)
class Facts:
    """What the snapshot is built from, as the snapshot service read it."""

    plan: Plan
    topology: Topology
    states: Mapping[str, str]
    degraded_queues: frozenset[str]
    downtimes: Sequence[Downtime]
    incidents: Sequence[IncidentFacts]
    windows: Sequence[Window]
    updated_at: datetime
    plan_loaded_at: datetime


def build_snapshot(facts: Facts, *, now: datetime) -> Snapshot:
    """The snapshot of the public page at `now`."""
    plan = facts.plan
    zone = ZoneInfo(plan.organisation.timezone)
    services = public_services(plan)
    live = live_facts(plan, facts.topology, facts.states, facts.degraded_queues)
    views = tuple(
        ServiceView(s, service_status(s, live, plan), uptime_bar(s, facts.downtimes, now=now, zone=zone))
        for s in services
    )
    notices = [n for n in (public_notice(i, services) for i in facts.incidents) if n is not None]
    notices.sort(key=lambda n: (n.created_at, n.id), reverse=True)
    planned = planned_work(facts.windows, plan, facts.topology, services, now=now)
    return Snapshot(
        organisation=plan.organisation.name,
        timezone=plan.organisation.timezone,
        updated_at=facts.updated_at,
        published_at=facts.plan_loaded_at,
        services=views,
        notices=tuple(notices),
        planned=tuple(planned),
    )


def iso(moment: datetime | None) -> str | None:
    """A time as ISO 8601 in UTC with a Z, as Statuspage writes them; None stays None."""
    if moment is None:
        return None
    return moment.astimezone(ZoneInfo("UTC")).isoformat(timespec="seconds").replace("+00:00", "Z")


def status_document(snapshot: Snapshot, base_url: str) -> dict[str, Any]:
    """/status.json: Standby's own shape, with the uptime counted per day."""
    return {
        "organisation": snapshot.organisation,
        "url": f"{base_url}/status",
        "updated_at": iso(snapshot.updated_at),
        "status": {"indicator": snapshot.indicator, "description": snapshot.description},
        "services": [
            {
                "id": v.service.id,
                "name": v.service.name,
                "description": v.service.description,
                "status": v.status,
                "uptime_90d_percent": round(v.bar.uptime_percent, 4),
                "days": [
                    {"date": d.day.isoformat(), "down_minutes": round(d.down_minutes, 1)} for d in v.bar.days
                ],
            }
            for v in snapshot.services
        ],
        "incidents": [
            {
                "id": n.id,
                "name": n.name,
                "status": n.status,
                "impact": n.impact,
                "url": f"{base_url}/status/incidents/{n.id}",
                "started_at": iso(n.started_at),
                "resolved_at": iso(n.resolved_at),
                "services": list(n.services),
                "updates": [{"status": u.status, "body": u.body, "at": iso(u.at)} for u in n.updates],
            }
            for n in snapshot.notices
        ],
        "maintenance": [
            {
                "id": w.id,
                "name": w.name,
                "status": w.status,
                "scheduled_for": iso(w.scheduled_for),
                "scheduled_until": iso(w.scheduled_until),
                "services": list(w.services),
            }
            for w in snapshot.planned
        ],
    }
