"""The platform audit: what in the plan would let the centre down, as findings a manager reads.

Pure: the plan and "today" come in, findings go out. Each check is a small
function, in a module by kind of finding: failures (`audit_failures`), dates
(`audit_reviews`) and gaps (`audit_gaps`); `audit` runs them all and sorts the
findings, most severe first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from standby.plan.audit_failures import queues_without_agents, single_points_of_failure, site_loss
from standby.plan.audit_gaps import components_without_probe, queues_without_tolerance, stakeholders
from standby.plan.audit_reviews import ReviewLog, drills, end_of_life, plan_review, vendor_reviews
from standby.plan.findings import SEVERITIES, Finding
from standby.plan.schema import Plan
from standby.plan.topology import Topology

# Findings are grouped by section in the order the plan file has them.
SECTION_ORDER: tuple[str, ...] = (
    "organisation",
    "vendors",
    "components",
    "sites",
    "queues",
    "teams",
    "stakeholders",
    "strategies",
    "impact_tolerances",
    "drills",
)


def audit(
    plan: Plan,
    *,
    today: date,
    topology: Topology | None = None,
    full: bool = False,
    log: ReviewLog | None = None,
) -> list[Finding]:
    """Every finding about the plan as of `today`, high first, then by section and subject.

    `full` names everything each single point of failure takes down, not only the first few;
    `log` adds the exercises and reviews Standby recorded to the plan's own dates.
    """
    graph = topology if topology is not None else Topology.from_plan(plan)
    records = log or ReviewLog()
    checks: list[Callable[[], Iterable[Finding]]] = [
        lambda: single_points_of_failure(plan, graph, full=full),
        lambda: end_of_life(plan, today),
        lambda: vendor_reviews(plan, today, records),
        lambda: plan_review(plan, today, records),
        lambda: drills(plan, today, records),
        lambda: components_without_probe(plan),
        lambda: queues_without_tolerance(plan),
        lambda: queues_without_agents(plan, graph),
        lambda: site_loss(plan, graph),
        lambda: stakeholders(plan),
    ]
    findings = [finding for check in checks for finding in check()]
    return sorted(findings, key=_sort_key)


def _sort_key(finding: Finding) -> tuple[int, int, str, str, str]:
    section = SECTION_ORDER.index(finding.section) if finding.section in SECTION_ORDER else len(SECTION_ORDER)
    return (SEVERITIES.index(finding.severity), section, finding.subject, finding.code, finding.message)


def count_by_severity(findings: Iterable[Finding]) -> dict[str, int]:
    """How many findings of each severity, every severity present (zero when none)."""
    counts: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
    for finding in findings:
        counts[finding.severity] += 1
    return counts
