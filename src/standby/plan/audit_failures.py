"""The audit's findings about failures: what one component or one site going down would leave unanswered.

Pure, from the plan's topology: single points of failure (with what the plan's
relocations can do about the sites they take down), queues no site answers even with
everything up, and queues nobody could answer if one staffed site were lost.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from standby.plan.findings import Finding
from standby.plan.schema import Component, Plan, Queue, Relocation, Site, Strategy, Team
from standby.plan.topology import Harm, SinglePointOfFailure, Topology
from standby.readiness.home import agents_available_from_home

_NAMES_SHOWN = 5


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
