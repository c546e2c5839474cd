"""From failing components to outages: root causes, what they hit, and how they are classified.

Pure: no I/O, time passed in. DESIGN.md, "Root cause" and "Classification":

- Components fail (their probe or an alert says so); the topology says what else
  becomes unavailable. Failures are grouped along the dependencies that explain them:
  a component is linked to a dependency only when the `depends_on` entry holding that
  dependency is unmet (for an any_of group, when every member is unavailable). So
  one SBC failure and the thirty things above it are one outage, while a trunk down
  beside a healthy twin is its own, smaller one.
- The probable causes of a group are its failing members with no unmet dependency.
- Each group is classified on its own: *total* when no queue that is answered in
  normal times is answered; *partial* when some queue or site is lost; *degraded*
  otherwise (only `degraded_by` components, or a redundant member, are down).
- Outages already open are matched to the groups found now, so an outage widens and
  narrows instead of being closed and opened again; when two groups join, the older
  outage carries on and the younger is ended as merged into it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from standby.plan.schema import Plan
from standby.plan.topology import Topology

Classification = Literal["total", "partial", "degraded"]
_SEVERITY: dict[str, int] = {"degraded": 0, "partial": 1, "total": 2}


@dataclass(frozen=True)
class OutageShape:
    """One group of failures as it stands now: causes, everything it hits, its class."""

    causes: tuple[str, ...]
    components: tuple[str, ...]
    sites: tuple[str, ...]
    queues: tuple[str, ...]
    degraded_queues: tuple[str, ...]
    classification: Classification
    in_maintenance: bool


def worse(a: str, b: str) -> str:
    """The more severe of two classifications."""
    return a if _SEVERITY.get(a, -1) >= _SEVERITY.get(b, -1) else b


class _Groups:
    """Union-find over component ids."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        parent = self.parent.setdefault(item, item)
        while parent != item:
            grand = self.parent[parent]
            self.parent[item] = grand
            item, parent = parent, grand
        return item

    def join(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


@dataclass
class Correlator:
    """Finds the outages a set of failing components makes, for one plan."""

    plan: Plan
    topology: Topology
    _normal_answered: frozenset[str] = field(init=False)
    _order: dict[str, int] = field(init=False)
    _upstream: dict[str, frozenset[str]] = field(init=False, default_factory=dict)
    _last: tuple[tuple[frozenset[str], frozenset[str]], tuple[OutageShape, ...]] | None = field(
        init=False, default=None
    )

    def __post_init__(self) -> None:
        self._normal_answered = self.topology.availability(()).queues_answered
        self._order = {c.id: i for i, c in enumerate(self.plan.components)}

    def upstream(self, component_id: str) -> frozenset[str]:
        """Every component this one depends on, directly or through others."""
        found = self._upstream.get(component_id)
        if found is None:
            seen: set[str] = set()
            stack = [component_id]
            while stack:
                for requirement in self.topology.dependencies_of(stack.pop()):
                    for member in requirement.members:
                        if member not in seen:
                            seen.add(member)
                            stack.append(member)
            found = self._upstream[component_id] = frozenset(seen)
        return found

    @classmethod
    def from_plan(cls, plan: Plan) -> Correlator:
        """A correlator for `plan`."""
        return cls(plan, Topology.from_plan(plan))

    def outages(self, failing: Iterable[str], *, maintenance: Iterable[str] = ()) -> list[OutageShape]:
        """The outages that the components `failing` make, in plan order of their first cause.

        Ids not in the plan are ignored: the plan may have changed under a stale alert.
        The last answer is kept: a worker that looked without the lock and found something
        to write asks again under it, mostly about the same failures.
        """
        down = frozenset(c for c in failing if c in self._order)
        key = (down, frozenset(maintenance))
        last = self._last
        if last is not None and last[0] == key:
            return list(last[1])
        shapes = self._group(set(down), set(key[1]))
        self._last = (key, tuple(shapes))
        return shapes

    def _group(self, down: set[str], in_maintenance: set[str]) -> list[OutageShape]:
        known = self._order
        if not down:
            return []
        unavailable = set(known) - self.topology.availability(down).components
        groups = _Groups()
        explained: set[str] = set()
        for component in unavailable:
            groups.find(component)
            for requirement in self.topology.dependencies_of(component):
                if all(member in unavailable for member in requirement.members):
                    explained.add(component)
                    for member in requirement.members:
                        groups.join(component, member)
        members: dict[str, list[str]] = {}
        for component in unavailable:
            members.setdefault(groups.find(component), []).append(component)
        shapes = [self._shape(group, down, explained, in_maintenance) for group in members.values()]
        shapes.sort(key=lambda s: known[s.causes[0]] if s.causes else len(known))
        return shapes

    def _shape(
        self, group: list[str], down: set[str], explained: set[str], in_maintenance: set[str]
    ) -> OutageShape:
        order = self._order
        components = sorted(group, key=order.__getitem__)
        causes = tuple(c for c in components if c in down and c not in explained)
        alone = self.topology.availability([c for c in components if c in down])
        sites = tuple(s.id for s in self.plan.sites if s.id not in alone.sites)
        lost = self._normal_answered - alone.queues_answered
        queues = tuple(q.id for q in self.plan.queues if q.id in lost)
        group_set = set(group)
        degraded = tuple(
            q.id
            for q in self.plan.queues
            if q.id not in lost and any(d.component in group_set for d in q.degraded_by or ())
        )
        if self._normal_answered and not (self._normal_answered & alone.queues_answered):
            classification: Classification = "total"
        elif queues or sites:
            classification = "partial"
        else:
            classification = "degraded"
        return OutageShape(
            causes=causes,
            components=tuple(components),
            sites=sites,
            queues=queues,
            degraded_queues=degraded,
            classification=classification,
            in_maintenance=bool(causes) and all(c in in_maintenance for c in causes),
        )

    def describe(self, shape: OutageShape) -> str:
        """One line for people: what is down and what it hits."""
        names = self.plan.components_by_id
        causes = ", ".join(names[c].name if c in names else c for c in shape.causes)
        parts = [f"{causes} down"]
        others = len(shape.components) - len(shape.causes)
        if others:
            parts.append(f"{others} more component{'s' if others != 1 else ''} affected")
        if shape.queues:
            parts.append(f"queues lost: {', '.join(shape.queues)}")
        if shape.sites:
            parts.append(f"sites lost: {', '.join(shape.sites)}")
        if shape.degraded_queues:
            parts.append(f"slower: {', '.join(shape.degraded_queues)}")
        if not (shape.queues or shape.sites or shape.degraded_queues):
            parts.append("no queue or site lost")
        return f"{shape.classification.capitalize()}: " + "; ".join(parts)


@dataclass(frozen=True)
class OpenOutage:
    """An outage on record that has not ended, as correlation needs to see it."""

    id: int
    causes: frozenset[str]
    components: frozenset[str]


@dataclass(frozen=True)
class Reconciliation:
    """How the outages on record must change to match what is failing now."""

    opened: tuple[OutageShape, ...] = ()
    updated: tuple[tuple[int, OutageShape], ...] = ()
    ended: tuple[tuple[int, int | None], ...] = ()
    """(outage id, id of the outage it merged into, or None when it simply ended)."""


def reconcile(open_outages: Sequence[OpenOutage], shapes: Sequence[OutageShape]) -> Reconciliation:
    """Match the open outages to the groups found now.

    Older outages choose first and take the group they share most with (causes weigh
    more than impacted components). A group nobody takes is a new outage; an outage
    that takes no group has ended, merged into whichever outage took its group.
    """
    taken: dict[int, int] = {}  # shape index -> outage id
    updated: list[tuple[int, OutageShape]] = []
    leftover: list[OpenOutage] = []
    for outage in sorted(open_outages, key=lambda o: o.id):
        best, best_score = -1, 0
        for i, shape in enumerate(shapes):
            if i in taken:
                continue
            score = _overlap(outage, shape)
            if score > best_score:
                best, best_score = i, score
        if best < 0:
            leftover.append(outage)
            continue
        taken[best] = outage.id
        updated.append((outage.id, shapes[best]))
    ended: list[tuple[int, int | None]] = []
    for outage in leftover:
        merged: int | None = None
        for i, owner in taken.items():
            if _overlap(outage, shapes[i]):
                merged = owner
                break
        ended.append((outage.id, merged))
    opened = tuple(shape for i, shape in enumerate(shapes) if i not in taken)
    return Reconciliation(opened=opened, updated=tuple(updated), ended=tuple(ended))


def _overlap(outage: OpenOutage, shape: OutageShape) -> int:
    causes = len(outage.causes.intersection(shape.causes))
    components = len(outage.components.intersection(shape.components))
    return causes * 1_000_000 + components


def interruption(duration_minutes: float, *, interruption_max_minutes: float) -> bool:
    """Whether an outage that lasted this long is recorded as an interruption."""
    return duration_minutes <= interruption_max_minutes


def component_names(plan: Plan, ids: Iterable[str]) -> Mapping[str, str]:
    """Names of the given components, by id (ids not in the plan keep their id)."""
    names = plan.components_by_id
    return {c: names[c].name if c in names else c for c in ids}
