"""The audit's findings about gaps: what the plan leaves unsaid (no probe, no tolerance, nobody told)."""

from __future__ import annotations

from collections.abc import Iterator

from standby.plan.findings import Finding
from standby.plan.schema import Plan


def components_without_probe(plan: Plan) -> Iterator[Finding]:
    """Components Standby cannot watch because they have no probe (low)."""
    for component in plan.components:
        if component.probe is None:
            yield Finding(
                "low",
                "no-probe",
                component.id,
                "components",
                f"{component.name} ({component.id}) has no probe, so Standby cannot see it fail:"
                " add a probe or a heartbeat.",
            )


def queues_without_tolerance(plan: Plan) -> Iterator[Finding]:
    """Queues with no impact tolerance: nobody has said how long they may be out."""
    covered = {tolerance.queue for tolerance in plan.impact_tolerances}
    for queue in plan.queues:
        if queue.id not in covered:
            yield Finding(
                "medium",
                "no-impact-tolerance",
                queue.id,
                "queues",
                f"{queue.name} ({queue.id}) has no impact tolerance: say how long it may be out"
                " before the harm to customers is intolerable.",
            )


def stakeholders(plan: Plan) -> Iterator[Finding]:
    """Stakeholder groups with no channel, or with nobody in them."""
    for group in plan.stakeholders:
        if not group.channels:
            yield Finding(
                "medium",
                "stakeholders-no-channel",
                group.id,
                "stakeholders",
                f"The stakeholder group {group.id} has no channel, so it cannot be told about an"
                " outage: add email, sms or another channel.",
            )
        # Customers and vendors are reached through the status page, the IVR and the
        # failing component's vendor: they need no list of names.
        if group.kind not in ("customers", "vendors") and not (
            group.members or group.contacts or group.teams
        ):
            yield Finding(
                "medium",
                "stakeholders-empty",
                group.id,
                "stakeholders",
                f"The stakeholder group {group.id} has no members, contacts or teams, so nobody"
                " would be told: add who belongs to it.",
            )
