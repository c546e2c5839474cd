"""Checks that need the whole plan: unique ids, references between sections, cycles, relocations.

They run on every record that validated on its own, so a plan with a typo in one
component still has its references checked everywhere else, and every problem is
reported in one pass. Ids of records that failed validation still count as known,
so one broken record does not also produce a shower of "unknown id" errors.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from standby.plan.schema import (
    AnyOf,
    CompensationRule,
    Component,
    Dependency,
    EscalationPolicy,
    ImpactTolerance,
    MaintenanceWindow,
    Queue,
    Rotation,
    Section,
    Site,
    Stakeholder,
    StatusPage,
    Strategy,
    Team,
)

Path = tuple[str | int, ...]
_R = TypeVar("_R", bound=Section)

_NOUNS = {
    "vendors": "vendor",
    "components": "component",
    "sites": "site",
    "queues": "queue",
    "teams": "team",
    "people": "person",
    "rotations": "rotation",
    "escalation_policies": "escalation policy",
    "stakeholders": "stakeholder group",
    "strategies": "strategy",
    "compensation": "compensation rule",
    "maintenance": "maintenance window",
}


@dataclass(frozen=True)
class RuleProblem:
    """A whole-plan problem at a path of keys and indexes into the plan."""

    path: Path
    message: str
    see: Path | None = None  # an earlier place the message refers to; the loader adds its line


@dataclass
class Records:
    """The records of each section with their index in the file, and all ids seen.

    A record that failed validation is here too, with its broken fields set to None.
    """

    items: dict[str, list[tuple[int, Section]]] = field(default_factory=dict)
    ids_seen: dict[str, set[str]] = field(default_factory=dict)
    single: dict[str, Section | None] = field(default_factory=dict)

    def of(self, section: str, kind: type[_R]) -> Iterator[tuple[int, _R]]:
        """The valid records of a section, with their index."""
        for index, item in self.items.get(section, []):
            if isinstance(item, kind):
                yield index, item


def suggest(word: str, choices: Iterable[str]) -> str:
    """A "; did you mean 'x'?" suffix when a close choice exists, else an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.7)
    return f"; did you mean {close[0]!r}?" if close else ""


def check_rules(records: Records) -> list[RuleProblem]:
    """Every whole-plan problem in the records that validated on their own."""
    problems: list[RuleProblem] = []
    problems += _duplicate_ids(records)
    problems += _references(records)
    problems += _cycles(records)
    problems += _relocations(records)
    problems += _single_default_policy(records)
    problems += _tolerances(records)
    return problems


def _duplicate_ids(records: Records) -> Iterator[RuleProblem]:
    for section, noun in _NOUNS.items():
        first: dict[str, int] = {}
        for index, item in records.items.get(section, []):
            item_id = getattr(item, "id", None)
            if item_id is None:
                continue
            if item_id in first:
                yield RuleProblem(
                    (section, index, "id"),
                    f"duplicate {noun} id {item_id!r}: another {noun} already uses it",
                    see=(section, first[item_id], "id"),
                )
            else:
                first[item_id] = index


class _Refs:
    """Checks references against the ids each section declares."""

    def __init__(self, records: Records) -> None:
        self.ids = records.ids_seen
        self.problems: list[RuleProblem] = []

    def need(self, section: str, ref: str | None, path: Path) -> None:
        if ref is None or ref in self.ids.get(section, set()):
            return
        known = self.ids.get(section, set())
        self.problems.append(RuleProblem(path, f"unknown {_NOUNS[section]} {ref!r}{suggest(ref, known)}"))

    def each(self, section: str, refs: Sequence[str] | None, path: Path) -> None:
        seen: set[str] = set()
        for index, ref in enumerate(refs or ()):
            if ref in seen:
                self.problems.append(RuleProblem((*path, index), f"{ref!r} is listed twice"))
            seen.add(ref)
            self.need(section, ref, (*path, index))

    def dependencies(self, deps: Sequence[Dependency], path: Path) -> None:
        for index, dep in enumerate(deps or ()):
            if isinstance(dep, AnyOf):
                self.each("components", dep.any_of, (*path, index, "any_of"))
            else:
                self.need("components", dep, (*path, index))


def _references(records: Records) -> list[RuleProblem]:
    refs = _Refs(records)
    for i, component in records.of("components", Component):
        refs.need("vendors", component.vendor, ("components", i, "vendor"))
        refs.dependencies(component.depends_on, ("components", i, "depends_on"))
    for i, site in records.of("sites", Site):
        refs.need("vendors", site.vendor, ("sites", i, "vendor"))
        refs.dependencies(site.depends_on, ("sites", i, "depends_on"))
        refs.each("queues", site.queues, ("sites", i, "queues"))
    for i, queue in records.of("queues", Queue):
        refs.dependencies(queue.depends_on, ("queues", i, "depends_on"))
        for j, degradation in enumerate(queue.degraded_by or ()):
            refs.need("components", degradation.component, ("queues", i, "degraded_by", j, "component"))
    for i, team in records.of("teams", Team):
        refs.need("sites", team.site, ("teams", i, "site"))
        refs.each("queues", team.queues, ("teams", i, "queues"))
    for i, rotation in records.of("rotations", Rotation):
        refs.each("people", rotation.members, ("rotations", i, "members"))
    for i, policy in records.of("escalation_policies", EscalationPolicy):
        for j, level in enumerate(policy.levels or ()):
            for k, target in enumerate(level.notify or ()):
                _escalation_target(refs, target, ("escalation_policies", i, "levels", j, "notify", k))
    for i, group in records.of("stakeholders", Stakeholder):
        refs.each("people", group.members, ("stakeholders", i, "members"))
        refs.each("teams", group.teams, ("stakeholders", i, "teams"))
        refs.each("queues", group.queues, ("stakeholders", i, "queues"))
    for i, strategy in records.of("strategies", Strategy):
        if strategy.when is None:
            continue
        refs.need("sites", strategy.when.site_down, ("strategies", i, "when", "site_down"))
        refs.need("components", strategy.when.component_down, ("strategies", i, "when", "component_down"))
        if strategy.relocate is not None:
            refs.need("sites", strategy.relocate.from_, ("strategies", i, "relocate", "from"))
            refs.need("sites", strategy.relocate.to, ("strategies", i, "relocate", "to"))
            refs.each("queues", strategy.relocate.queues, ("strategies", i, "relocate", "queues"))
    for i, tolerance in records.of("impact_tolerances", ImpactTolerance):
        refs.need("queues", tolerance.queue, ("impact_tolerances", i, "queue"))
    for i, rule in records.of("compensation", CompensationRule):
        if rule.when is not None:
            refs.each("queues", rule.when.queues, ("compensation", i, "when", "queues"))
    for i, window in records.of("maintenance", MaintenanceWindow):
        refs.each("components", window.components, ("maintenance", i, "components"))
    status_page = records.single.get("status_page")
    if isinstance(status_page, StatusPage):
        for i, service in enumerate(status_page.services or ()):
            refs.each("components", service.components, ("status_page", "services", i, "components"))
            refs.each("queues", service.queues, ("status_page", "services", i, "queues"))
    return refs.problems


def _escalation_target(refs: _Refs, target: str, path: Path) -> None:
    kind, _, name = target.partition(":")
    if not name:
        refs.need("people", target, path)
    elif kind == "rotation":
        refs.need("rotations", name, path)
    elif kind == "stakeholder":
        refs.need("stakeholders", name, path)
    else:
        refs.problems.append(
            RuleProblem(
                path,
                f"{target!r} is not someone to page: use a person id, 'rotation:ID' or 'stakeholder:ID'",
            )
        )


def _component_edges(component: Component) -> list[tuple[str, int]]:
    """(dependency id, index in depends_on) for every component this one needs."""
    edges: list[tuple[str, int]] = []
    for index, dep in enumerate(component.depends_on or ()):
        for name in dep.any_of if isinstance(dep, AnyOf) else [dep]:
            edges.append((name, index))
    return edges


def _cycles(records: Records) -> Iterator[RuleProblem]:
    components = {c.id: (i, c) for i, c in records.of("components", Component) if c.id}
    graph = {
        cid: [dep for dep, _ in _component_edges(c) if dep in components]
        for cid, (_, c) in components.items()
    }
    for members in _strongly_connected(graph):
        if len(members) == 1 and members[0] not in graph[members[0]]:
            continue
        ordered = sorted(members, key=lambda m: components[m][0])
        start = ordered[0]
        cycle = _cycle_through(start, set(members), graph)
        index, component = components[start]
        position = next(pos for dep, pos in _component_edges(component) if dep == cycle[1])
        yield RuleProblem(
            ("components", index, "depends_on", position),
            "dependency cycle: "
            + " -> ".join(cycle)
            + "; a component cannot need itself, directly or through others",
        )


def _strongly_connected(graph: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm without recursion, so a 5,000-long chain cannot overflow the stack."""
    index_of: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index_of:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index_of[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            successors = graph[node]
            if child < len(successors):
                work.append((node, child + 1))
                nxt = successors[child]
                if nxt not in index_of:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index_of[nxt])
                continue
            if low[node] == index_of[node]:
                members: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.append(member)
                    if member == node:
                        break
                result.append(members)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return result


def _cycle_through(start: str, members: set[str], graph: dict[str, list[str]]) -> list[str]:
    """The shortest path start -> ... -> start inside one strongly connected set."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for nxt in graph[node]:
                if nxt not in members:
                    continue
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if nxt not in previous:
                    previous[nxt] = node
                    following.append(nxt)
        frontier = following
    return [start, start]  # pragma: no cover - a strongly connected set always closes


def _relocations(records: Records) -> Iterator[RuleProblem]:
    sites = {s.id: s for _, s in records.of("sites", Site)}
    teams = [t for _, t in records.of("teams", Team)]
    for i, strategy in records.of("strategies", Strategy):
        move = strategy.relocate
        if move is None or move.to not in sites:
            continue
        target = sites[move.to]
        base: Path = ("strategies", i, "relocate")
        if move.from_ == move.to:
            yield RuleProblem((*base, "to"), f"the relocation moves from {move.to!r} to itself")
            continue
        if target.queues is None:
            continue
        takes = set(target.queues)
        if move.queues is not None:
            for j, queue in enumerate(move.queues):
                if queue not in takes:
                    yield RuleProblem(
                        (*base, "queues", j),
                        f"site {target.id!r} cannot take queue {queue!r}: it takes only"
                        f" {', '.join(target.queues) or 'no queues'}",
                    )
        elif move.from_ is not None and move.from_ in sites:
            movers = [t for t in teams if t.site == move.from_]
            if movers and not any(takes & set(t.queues or ()) for t in movers):
                yield RuleProblem(
                    (*base, "to"),
                    f"site {target.id!r} cannot take any queue answered at {move.from_!r}: it takes"
                    f" only {', '.join(target.queues) or 'no queues'}",
                )


def _single_default_policy(records: Records) -> Iterator[RuleProblem]:
    defaults = [(i, p) for i, p in records.of("escalation_policies", EscalationPolicy) if p.default]
    for i, policy in defaults[1:]:
        yield RuleProblem(
            ("escalation_policies", i, "default"),
            f"escalation policy {policy.id!r} is a second default; {defaults[0][1].id!r} already is",
        )


def _tolerances(records: Records) -> Iterator[RuleProblem]:
    first: dict[str, int] = {}
    for i, tolerance in records.of("impact_tolerances", ImpactTolerance):
        if tolerance.queue in first:
            yield RuleProblem(
                ("impact_tolerances", i, "queue"),
                f"queue {tolerance.queue!r} already has an impact tolerance",
                see=("impact_tolerances", first[tolerance.queue], "queue"),
            )
        else:
            first[tolerance.queue] = i
