"""The platform audit: what in the plan would let the centre down, as findings a manager reads.

Pure: the plan and "today" come in, findings go out. Each check is a small
function; `audit` runs them all and sorts the findings, most severe first.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from standby.plan.schema import Component, Plan, Queue, Relocation, Site, Strategy, Team
from standby.plan.topology import Harm, SinglePointOfFailure, Topology
from standby.readiness.home import agents_available_from_home

Severity = Literal["high", "medium", "low"]
SEVERITIES: tuple[Severity, ...] = ("high", "medium", "low")
EOL_WARNING_DAYS = 90
"""End of life this many days ahead or fewer is a medium finding; past it, high."""

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
_NAMES_SHOWN = 5


@dataclass(frozen=True)
class Finding:
    """One thing the audit found: how bad, which check, about what, and what to tell people."""

    severity: Severity
    code: str
    subject: str
    section: str
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The finding as plain JSON-ready data."""
        return {
            "severity": self.severity,
            "code": self.code,
            "subject": self.subject,
            "section": self.section,
            "message": self.message,
            "details": dict(self.details),
        }


@dataclass(frozen=True)
class ReviewLog:
    """What Standby recorded beside the plan: exercises held, plan and vendor reviews.

    The audit counts them with the plan's own dates (`drills.history`,
    `organisation.plan_reviewed`, `contingency_plan_reviewed`): the latest of both wins.
    """

    exercises_held: tuple[date, ...] = ()
    plan_reviews: tuple[date, ...] = ()
    """Days of the signed-off plan reviews."""
    vendor_reviews: Mapping[str, tuple[date, date]] = field(default_factory=dict)
    """Each vendor's latest review: (reviewed on, next due)."""


def add_months(day: date, months: int) -> date:
    """The same day `months` calendar months later, clamped to the month's end (Aug 31 + 6 = Feb 28/29)."""
    total = day.year * 12 + (day.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


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


def _listing(names: Sequence[str]) -> str:
    """'A', 'A and B', 'A, B and C', or the first few and 'N more' for long lists."""
    shown = list(names[:_NAMES_SHOWN])
    if len(names) > _NAMES_SHOWN:
        shown.append(f"{len(names) - _NAMES_SHOWN} more")
    if len(shown) == 1:
        return shown[0]
    return ", ".join(shown[:-1]) + " and " + shown[-1]


def _clauses(clauses: Sequence[str]) -> str:
    """Clauses that may hold lists with 'and' themselves: 'A, and B'."""
    return clauses[0] if len(clauses) == 1 else ", ".join(clauses[:-1]) + ", and " + clauses[-1]


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def single_points_of_failure(plan: Plan, topology: Topology, *, full: bool = False) -> Iterator[Finding]:
    """Components whose failure alone loses a queue (high) or only a site (medium).

    Each finding's details count what falls and name the first NAMES_SHOWN of each
    kind in plan order; `full` names them all (that can be quadratic on a long chain).
    """
    components = plan.components_by_id
    sites = plan.sites_by_id
    queues = plan.queues_by_id
    moves_from: dict[str, list[tuple[int, Strategy]]] = {}
    for position, strategy in enumerate(plan.strategies):
        if strategy.relocate is not None and strategy.relocate.from_ is not None:
            moves_from.setdefault(strategy.relocate.from_, []).append((position, strategy))
    for spof in topology.single_points_of_failure():
        harm = _harms(spof)
        if full and not all(h.complete for h in harm.values()):
            radius = topology.blast_radius(spof.component)
            harm = {
                "components": Harm(len(radius.components), radius.components),
                "sites": Harm(len(radius.sites), radius.sites),
                "queues_unreachable": Harm(len(radius.queues_unreachable), radius.queues_unreachable),
                "queues_unanswered": Harm(len(radius.queues_unanswered), radius.queues_unanswered),
            }
        who = f"{components[spof.component].name} ({spof.component})"
        harms = []
        if harm["queues_unreachable"].count:
            harms.append("calls cannot reach " + _counted(harm["queues_unreachable"], queues))
        if harm["sites"].count:
            lost = harm["sites"]
            harms.append(f"{_counted(lost, sites)} {'is' if lost.count == 1 else 'are'} lost")
        if harm["queues_unanswered"].count:
            harms.append(
                "no site left standing has agents for " + _counted(harm["queues_unanswered"], queues)
            )
        also = ""
        if harm["components"].count:
            also = " It also takes down " + _counted(harm["components"], components) + "."
        also += _relocation_note(plan, topology, spof.component, harm["sites"], moves_from)
        details: dict[str, Any] = {}
        for kind, h in harm.items():
            details[kind] = list(h.first)
            details[f"{kind}_count"] = h.count
        details["complete"] = all(h.complete for h in harm.values())
        yield Finding(
            severity="high" if spof.loses_queue else "medium",
            code="single-point-of-failure",
            subject=spof.component,
            section="components",
            message=f"If {who} fails on its own, {_clauses(harms)}: it is a single point of failure.{also}",
            details=details,
        )


def _harms(spof: SinglePointOfFailure) -> dict[str, Harm]:
    return {
        "components": spof.components,
        "sites": spof.sites,
        "queues_unreachable": spof.queues_unreachable,
        "queues_unanswered": spof.queues_unanswered,
    }


def _counted(harm: Harm, records: Mapping[str, Component | Site | Queue]) -> str:
    """The first names of what falls and, when there are more than shown, how many more."""
    names = [records[i].name for i in harm.first[:_NAMES_SHOWN]]
    if harm.count > len(names):
        names.append(f"{harm.count - len(names)} more")
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def _relocation_note(
    plan: Plan,
    topology: Topology,
    component: str,
    lost: Harm,
    moves_from: Mapping[str, Sequence[tuple[int, Strategy]]],
) -> str:
    """What the plan's relocations can do about the lost sites named: the manager's next question."""
    notes = []
    sites = plan.sites_by_id
    named = set(lost.first)
    moves = [move for site_id in lost.first for move in moves_from.get(site_id, ())]
    for _, strategy in sorted(moves, key=lambda move: move[0]):
        move = strategy.relocate
        target = sites.get(move.to) if move is not None else None
        if move is None or target is None:
            continue
        target_lost = move.to in named or (not lost.complete and topology.site_falls_with(component, move.to))
        if target_lost:
            notes.append(f" The strategy '{strategy.name}' cannot help: {target.name} is lost too.")
        else:
            ready = f" after {target.activation_minutes:g} minutes" if target.activation_minutes else ""
            notes.append(f" The strategy '{strategy.name}' moves agents to {target.name}{ready}.")
    return "".join(notes)


def end_of_life(plan: Plan, today: date) -> Iterator[Finding]:
    """Versions past end of life (high) or reaching it within EOL_WARNING_DAYS (medium)."""
    for component in plan.components:
        if component.end_of_life is None:
            continue
        days_left = (component.end_of_life - today).days
        version = f"version {component.version}" if component.version else "the version"
        who = f"{component.name} ({component.id}) runs {version}"
        details = {"version": component.version, "end_of_life": component.end_of_life.isoformat()}
        if days_left <= 0:
            when = "today" if days_left == 0 else f"on {component.end_of_life} ({_days(-days_left)} ago)"
            yield Finding(
                "high",
                "end-of-life",
                component.id,
                "components",
                f"{who}, whose support ended {when}: upgrade or replace it.",
                details,
            )
        elif days_left <= EOL_WARNING_DAYS:
            yield Finding(
                "medium",
                "end-of-life-soon",
                component.id,
                "components",
                f"{who}, whose support ends on {component.end_of_life} (in {_days(days_left)}):"
                " plan the upgrade now.",
                details,
            )


def _overdue(reviewed: date, every_months: int, today: date) -> tuple[date, int] | None:
    """The due date and the days it is overdue, or None while not yet overdue."""
    due = add_months(reviewed, every_months)
    return (due, (today - due).days) if due < today else None


def vendor_reviews(plan: Plan, today: date, log: ReviewLog | None = None) -> Iterator[Finding]:
    """Vendors whose contingency plan was never reviewed or whose review is overdue."""
    recorded = log.vendor_reviews if log is not None else {}
    for vendor in plan.vendors:
        who = f"{vendor.name} ({vendor.id})"
        found = recorded.get(vendor.id)
        planned = vendor.contingency_plan_reviewed
        if found is not None and (planned is None or found[0] >= planned):
            reviewed, due = found
            if due < today:
                days = (today - due).days
                yield Finding(
                    "medium",
                    "vendor-review-overdue",
                    vendor.id,
                    "vendors",
                    f"The contingency plan of {who} was last reviewed on {reviewed} (recorded in"
                    f" Standby) and was due for review on {due} ({_days(days)} overdue).",
                    {
                        "reviewed": reviewed.isoformat(),
                        "due": due.isoformat(),
                        "days_overdue": days,
                        "review_every_months": vendor.review_every_months,
                        "recorded": True,
                    },
                )
            continue
        if vendor.contingency_plan_reviewed is None:
            yield Finding(
                "medium",
                "vendor-review-overdue",
                vendor.id,
                "vendors",
                f"The contingency plan of {who} has never been reviewed: ask for it and review"
                f" it, then every {vendor.review_every_months} months.",
                {"reviewed": None, "review_every_months": vendor.review_every_months},
            )
            continue
        late = _overdue(vendor.contingency_plan_reviewed, vendor.review_every_months, today)
        if late is not None:
            due, days = late
            yield Finding(
                "medium",
                "vendor-review-overdue",
                vendor.id,
                "vendors",
                f"The contingency plan of {who} was last reviewed on"
                f" {vendor.contingency_plan_reviewed} and was due for review on {due}"
                f" ({_days(days)} overdue).",
                {
                    "reviewed": vendor.contingency_plan_reviewed.isoformat(),
                    "due": due.isoformat(),
                    "days_overdue": days,
                    "review_every_months": vendor.review_every_months,
                },
            )


def plan_review(plan: Plan, today: date, log: ReviewLog | None = None) -> Iterator[Finding]:
    """The plan itself never reviewed, or its review overdue (a signed-off review counts)."""
    org = plan.organisation
    reviewed = max(
        [*(log.plan_reviews if log else ()), *([org.plan_reviewed] if org.plan_reviewed else [])],
        default=None,
    )
    if reviewed is None:
        yield Finding(
            "medium",
            "plan-review-overdue",
            "plan",
            "organisation",
            "The plan has no review date: review it and record the date in"
            f" organisation.plan_reviewed (it is due every {org.review_every_months} months).",
            {"reviewed": None, "review_every_months": org.review_every_months},
        )
        return
    late = _overdue(reviewed, org.review_every_months, today)
    if late is not None:
        due, days = late
        yield Finding(
            "medium",
            "plan-review-overdue",
            "plan",
            "organisation",
            f"The plan was last reviewed on {reviewed} and was due for review on {due}"
            f" ({_days(days)} overdue).",
            {
                "reviewed": reviewed.isoformat(),
                "due": due.isoformat(),
                "days_overdue": days,
                "review_every_months": org.review_every_months,
            },
        )


def drills(plan: Plan, today: date, log: ReviewLog | None = None) -> Iterator[Finding]:
    """No drill ever held, or the next one overdue (every drills.every_months since the latest).

    The plan's `drills.history` and the exercises finished in Standby both count.
    """
    every = plan.drills.every_months
    held = [(d.date, d.kind) for d in plan.drills.history]
    held += [(day, "exercise") for day in (log.exercises_held if log else ())]
    if not held:
        yield Finding(
            "medium",
            "drill-overdue",
            "drills",
            "drills",
            f"No drill has ever been held: the plan asks for one every {every} months.",
            {"last": None, "every_months": every},
        )
        return
    last_date, last_kind = max(held)
    late = _overdue(last_date, every, today)
    if late is not None:
        due, days = late
        yield Finding(
            "medium",
            "drill-overdue",
            "drills",
            "drills",
            f"The last drill ({last_kind}) was on {last_date}; with one every {every} months the"
            f" next was due by {due} ({_days(days)} overdue).",
            {
                "last": last_date.isoformat(),
                "due": due.isoformat(),
                "days_overdue": days,
                "every_months": every,
            },
        )


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


def queues_without_agents(plan: Plan, topology: Topology) -> Iterator[Finding]:
    """Queues no team at any site answers, even with everything up (high)."""
    for queue in plan.queues:
        if not topology.sites_answering(queue.id):
            yield Finding(
                "high",
                "queue-no-agents",
                queue.id,
                "queues",
                f"No site has a team with agents for {queue.name} ({queue.id}), so its calls go"
                " unanswered even with everything up.",
            )


def _covered_by_relocation(
    lost: Site,
    target: Site,
    relocation: Relocation,
    teams_at: Mapping[str, Sequence[Team]],
    at_risk: set[str],
) -> set[str]:
    """Which of the queues `at_risk` the agents a relocation puts at `target` could answer."""
    spare_seats = target.seats - sum(team.agents for team in teams_at.get(target.id, ()))
    if spare_seats <= 0:
        return set()

    def takes(queue: str) -> bool:
        return (target.queues is None or queue in target.queues) and (
            relocation.queues is None or queue in relocation.queues
        )

    if target.kind == "partner":
        # The partner's own people fill its spare seats, for the queues it is trained on.
        return {queue for queue in at_risk if takes(queue)}
    movers = teams_at.get(lost.id, ())
    if target.kind == "home":
        # Only the home-capable share of each team can work from home (whole agents).
        movers = [team for team in movers if agents_available_from_home(team, None) >= 1]
    else:
        movers = [team for team in movers if team.agents >= 1]
    return {queue for team in movers for queue in team.queues if queue in at_risk and takes(queue)}


def site_loss(plan: Plan, topology: Topology) -> Iterator[Finding]:
    """Queues nobody could answer if one staffed site were lost, after the plan's relocations."""
    available_sites = topology.availability(()).sites
    # Sites do not depend on sites, so losing one leaves unanswered exactly the queues
    # it alone answers: no need to re-evaluate the plan per site.
    only_here: dict[str, list[str]] = {}
    for queue in plan.queues:
        answering = topology.sites_answering(queue.id)
        if len(answering) == 1:
            only_here.setdefault(answering[0], []).append(queue.id)
    teams_at: dict[str, list[Team]] = {}
    for team in plan.teams:
        teams_at.setdefault(team.site, []).append(team)
    for site in plan.sites:
        at_risk = set(only_here.get(site.id, ()))
        if not at_risk:
            continue
        covered: set[str] = set()
        used: list[str] = []
        for strategy in plan.strategies:
            relocation = strategy.relocate
            if (
                relocation is None
                or relocation.from_ not in (None, site.id)
                or relocation.to == site.id
                or relocation.to not in available_sites
                # A strategy triggered by the loss of another site does not act on this one.
                or strategy.when.site_down not in (None, site.id)
            ):
                continue
            target = plan.sites_by_id[relocation.to]
            moved = _covered_by_relocation(site, target, relocation, teams_at, at_risk)
            if moved:
                used.append(strategy.id)
            covered |= moved
        for queue_id in only_here[site.id]:
            if queue_id in covered:
                continue
            queue = plan.queues_by_id[queue_id]
            how = (
                f" even after {_listing(used)} move agents"
                if used
                else ": no other site has agents for it and no strategy moves any there"
            )
            yield Finding(
                "high",
                "site-loss-unanswered",
                queue.id,
                "queues",
                f"If {site.name} ({site.id}) were lost, no one could answer {queue.name} ({queue.id}){how}.",
                {"site": site.id, "strategies": used},
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
