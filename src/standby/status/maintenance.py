"""Planned maintenance as the public sees it: when, and which public services it touches.

The window's reason is written for the on-call engineer and stays inside; the public
notice says which services may not answer, and when. A window touches a service when,
with every component it covers in maintenance, the service would be out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from standby.detect.maintenance import Window, occurrence_at, upcoming
from standby.plan.schema import Plan
from standby.plan.topology import Topology
from standby.status.services import Service, lost_parts

AHEAD = timedelta(days=30)
"""How far ahead planned maintenance is announced."""
PER_WINDOW = 3
"""At most this many occurrences of one recurring window are listed."""

MaintenanceStatus = Literal["scheduled", "in_progress"]


@dataclass(frozen=True)
class PlannedWork:
    """One occurrence of a maintenance window that touches public services."""

    id: str
    status: MaintenanceStatus
    scheduled_for: datetime
    scheduled_until: datetime
    services: tuple[str, ...]

    @property
    def name(self) -> str:
        """Its public title."""
        return "Planned maintenance"


def planned_work(
    windows: Iterable[Window], plan: Plan, topology: Topology, services: Sequence[Service], *, now: datetime
) -> list[PlannedWork]:
    """Occurrences in progress or starting within AHEAD that touch a public service, soonest first."""
    every = [c.id for c in plan.components]
    found: list[PlannedWork] = []
    for window in windows:
        covered = every if not window.components else [c for c in every if c in window.components]
        availability = topology.availability(covered)
        touched = tuple(s.id for s in services if lost_parts(s, availability))
        if not touched:
            continue
        occurrences: list[tuple[MaintenanceStatus, tuple[datetime, datetime]]] = []
        current = occurrence_at(window, now)
        if current is not None:
            occurrences.append(("in_progress", current))
        for span in upcoming(window, now, PER_WINDOW):
            if span[0] - now <= AHEAD:
                occurrences.append(("scheduled", span))
        for status, (start, end) in occurrences[:PER_WINDOW]:
            found.append(PlannedWork(_work_id(window.key, start), status, start, end, touched))
    return sorted(found, key=lambda w: (w.scheduled_for, w.id))


def _work_id(key: str, start: datetime) -> str:
    """A stable public id: the window's own id may name internal systems, so it is hashed."""
    stamp = start.astimezone(UTC).strftime("%Y%m%dT%H%MZ")
    return f"m{hashlib.sha256(key.encode()).hexdigest()[:10]}-{stamp}"
