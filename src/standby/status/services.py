"""Public services and their status, from the plan and the live state of its components.

A service is out when what it is (its queues) is not answered, or what it needs (its
components) is not available: all of it out is a major outage, some of it a partial
outage. Components in maintenance make it `under_maintenance` instead, when nothing
else is wrong; a degraded component it needs, or a queue an open outage slows down,
makes it `degraded_performance`. The words are Atlassian Statuspage's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from standby.plan.schema import Plan
from standby.plan.topology import Availability, Topology

Status = Literal["operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"]
STATUSES: tuple[Status, ...] = (
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
)
STATUS_WORDS: dict[str, str] = {
    "operational": "Operational",
    "degraded_performance": "Degraded performance",
    "partial_outage": "Partial outage",
    "major_outage": "Major outage",
    "under_maintenance": "Under maintenance",
}


@dataclass(frozen=True)
class Service:
    """A service as customers know it: its public name, and the components and queues behind it."""

    id: str
    name: str
    description: str | None
    components: tuple[str, ...]
    queues: tuple[str, ...]

    def touched_by(self, components: Iterable[str], queues: Iterable[str]) -> bool:
        """Whether any of these components or queues is part of the service."""
        return bool(set(self.components) & set(components)) or bool(set(self.queues) & set(queues))


def public_services(plan: Plan) -> list[Service]:
    """The plan's `status_page` services, or else every queue under its own name."""
    if plan.status_page is not None:
        return [
            Service(s.id, s.name, s.description, tuple(s.components), tuple(s.queues))
            for s in plan.status_page.services
        ]
    return [Service(q.id, q.name, None, (), (q.id,)) for q in plan.queues]


@dataclass(frozen=True)
class LiveFacts:
    """What the status of every service is worked out from, at one moment."""

    availability: Availability
    """With the components that are down taken out."""
    without_maintenance: Availability
    """With the components in maintenance taken out as well."""
    degraded_components: frozenset[str]
    degraded_queues: frozenset[str]
    """Queues an open outage slows down without losing them."""


def live_facts(
    plan: Plan, topology: Topology, states: Mapping[str, str], degraded_queues: Iterable[str]
) -> LiveFacts:
    """The facts from the components' states (id to word) and the queues open outages slow down."""
    down = [c.id for c in plan.components if states.get(c.id) == "down"]
    resting = [c.id for c in plan.components if states.get(c.id) == "maintenance"]
    degraded = frozenset(c.id for c in plan.components if states.get(c.id) == "degraded")
    return LiveFacts(
        availability=topology.availability(down),
        without_maintenance=topology.availability(down + resting),
        degraded_components=degraded,
        degraded_queues=frozenset(degraded_queues),
    )


def service_status(service: Service, facts: LiveFacts, plan: Plan) -> Status:
    """The service's status now, in Statuspage's words."""
    lost = lost_parts(service, facts.availability)
    if lost:
        return "major_outage" if lost == len(service.components) + len(service.queues) else "partial_outage"
    if lost_parts(service, facts.without_maintenance):
        return "under_maintenance"
    if set(service.queues) & facts.degraded_queues:
        return "degraded_performance"
    if set(service.components) & facts.degraded_components:
        return "degraded_performance"
    for queue_id in service.queues:
        queue = plan.queues_by_id.get(queue_id)
        if queue is not None and any(
            d.component in facts.degraded_components or d.component not in facts.availability.components
            for d in queue.degraded_by
        ):
            return "degraded_performance"
    return "operational"


def lost_parts(service: Service, availability: Availability) -> int:
    """How many of the service's components and queues are out under `availability`."""
    components = sum(1 for c in service.components if c not in availability.components)
    queues = sum(1 for q in service.queues if q not in availability.queues_answered)
    return components + queues


Indicator = Literal["none", "minor", "major", "critical", "maintenance"]
INDICATOR_WORDS: dict[str, str] = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
    "maintenance": "Service Under Maintenance",
}


def indicator(statuses: Sequence[Status]) -> Indicator:
    """The page's overall indicator (Statuspage's `status.indicator`) from every service's status."""
    if statuses and all(s == "major_outage" for s in statuses):
        return "critical"
    if any(s in ("major_outage", "partial_outage") for s in statuses):
        return "major"
    if "degraded_performance" in statuses:
        return "minor"
    if "under_maintenance" in statuses:
        return "maintenance"
    return "none"
