"""The dependency graph of components, sites and queues, and what fails with what.

Semantics (DESIGN.md, "Availability"): a component is effectively available when
it is not down and every entry of its `depends_on` holds (an `any_of` entry needs
one available member). A site is available when its dependencies are and it is
not lost itself. A queue is reachable when its dependencies are, and answered
when it is also reachable and some available site that takes it has a team
skilled for it with agents on shift (no relocation here: that is the audit's and
the continuity strategies' business).

Failure is propagated, not re-evaluated: starting from what is down, each failure
walks the reverse edges and knocks one member off each requirement it is part of;
a requirement whose members are all gone brings its owner down. Every node fails
at most once, so the work is proportional to what fails, not to the plan.

Cycles are rejected by the loader (`plan.rules`), but a cyclic plan must not hang
the topology: nodes are available unless a failure reaches them (the greatest
fixpoint), so a cycle with nothing down stays up and a failure anywhere on it
takes the whole cycle down. Nothing here recurses, so a 20,000-long chain is fine.

The single points of failure are found for every component at once (`plan.fallout`),
counted, with the first few names of what each takes down: bounded output, and work
that does not grow with the sum of all blast radii.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Literal

from standby.plan.fallout import Killers, columns, dependency_order, killers, set_bits
from standby.plan.schema import AnyOf, Component, Dependency, Plan, Queue, Site

NodeKind = Literal["component", "site", "queue"]

_COMPONENT, _SITE, _QUEUE = 0, 1, 2
_KIND_NAMES: tuple[NodeKind, NodeKind, NodeKind] = ("component", "site", "queue")
NAMES_SHOWN = 10
"""How many names of each kind a single point of failure carries by default, beside its counts."""


@dataclass(frozen=True)
class Requirement:
    """One entry of a `depends_on` list: one component, or an any_of group needing one member."""

    members: tuple[str, ...]
    any_of: bool


@dataclass(frozen=True)
class Node:
    """A component, site or queue on the dependency map, with its depth (0: depends on nothing)."""

    kind: NodeKind
    id: str
    name: str
    layer: int


@dataclass(frozen=True)
class Edge:
    """`source` depends on component `target` through entry `entry` of its depends_on.

    Edges with the same source, the same entry and `any_of` true are one redundancy
    group: the source needs only one of their targets.
    """

    source_kind: NodeKind
    source: str
    target: str
    entry: int
    any_of: bool


@dataclass(frozen=True)
class Availability:
    """What is still working when some components are down and some sites lost."""

    components: frozenset[str]
    sites: frozenset[str]
    queues_reachable: frozenset[str]
    queues_answered: frozenset[str]


@dataclass(frozen=True)
class BlastRadius:
    """Everything that goes down when one component alone fails, in plan order.

    `queues_unreachable` are queues calls can no longer reach; `queues_unanswered`
    are queues calls still reach but no available site has agents for. The two are
    disjoint, and neither holds a queue that was not answered to begin with.
    """

    component: str
    components: tuple[str, ...]
    sites: tuple[str, ...]
    queues_unreachable: tuple[str, ...]
    queues_unanswered: tuple[str, ...]

    @property
    def queues_lost(self) -> tuple[str, ...]:
        """Queues unreachable or unanswered (unreachable first)."""
        return self.queues_unreachable + self.queues_unanswered

    @property
    def loses_queue_or_site(self) -> bool:
        """Whether this failure alone loses a queue or a site: a single point of failure."""
        return bool(self.sites or self.queues_unreachable or self.queues_unanswered)


@dataclass(frozen=True)
class Harm:
    """How many nodes of one kind a failure takes down, and the first of them in plan order."""

    count: int
    first: tuple[str, ...]

    @property
    def complete(self) -> bool:
        """Whether `first` names every one of them."""
        return len(self.first) == self.count


@dataclass(frozen=True)
class SinglePointOfFailure:
    """A component whose failure alone loses a queue or a site: what it takes down, counted.

    Each kind is a count and the first names in plan order (at most the `shown` the
    caller asked for): the whole lists of every single point of failure of a long
    chain would be quadratic. `Topology.blast_radius` gives one component's whole list.
    """

    component: str
    components: Harm
    sites: Harm
    queues_unreachable: Harm
    queues_unanswered: Harm

    @property
    def queues_lost(self) -> int:
        """How many queues are unreachable or unanswered."""
        return self.queues_unreachable.count + self.queues_unanswered.count

    @property
    def loses_queue(self) -> bool:
        """Whether a queue is lost (not only a site)."""
        return self.queues_lost > 0


@dataclass(frozen=True)
class _Failure:
    components: set[int]
    sites: set[int]
    queues_unreachable: set[int]
    queues_unanswered: set[int]


class Topology:
    """The plan's dependency graph, built once per plan and reused; single points of failure are memoised.

    Ids are namespaced by kind (a component and a site may share an id), so methods
    that take an id say which kind they mean.
    """

    def __init__(self, plan: Plan) -> None:
        """Build the graph; raise ValueError if a dependency or team names something unknown."""
        self._ids: tuple[list[str], list[str], list[str]] = (
            [c.id for c in plan.components],
            [s.id for s in plan.sites],
            [q.id for q in plan.queues],
        )
        self._names: tuple[list[str], list[str], list[str]] = (
            [c.name for c in plan.components],
            [s.name for s in plan.sites],
            [q.name for q in plan.queues],
        )
        self._index: tuple[dict[str, int], dict[str, int], dict[str, int]] = (
            {cid: i for i, cid in enumerate(self._ids[_COMPONENT])},
            {sid: i for i, sid in enumerate(self._ids[_SITE])},
            {qid: i for i, qid in enumerate(self._ids[_QUEUE])},
        )
        # The flattened requirement table: requirement r belongs to (kind, owner) and
        # holds while fewer than size[r] of its distinct members have failed.
        self._req_kind: list[int] = []
        self._req_owner: list[int] = []
        self._req_size: list[int] = []
        self._dependents: list[list[int]] = [[] for _ in plan.components]
        self._requirements: tuple[list[tuple[Requirement, ...]], ...] = ([], [], [])
        records: tuple[Sequence[Component | Site | Queue], ...] = (
            plan.components,
            plan.sites,
            plan.queues,
        )
        for kind, section in enumerate(records):
            for owner, record in enumerate(section):
                self._requirements[kind].append(
                    self._add_requirements(kind, owner, record.id, record.depends_on)
                )

        self._index_direct_dependents()
        self._index_answering_sites(plan)
        self._spofs: dict[int, list[SinglePointOfFailure]] = {}
        self._site_killers: list[int] | None = None
        self._layers: tuple[list[int], list[int], list[int]] | None = None

    def _index_direct_dependents(self) -> None:
        # The fast path of propagation: a plain dependency fails its owner at once, so
        # only any_of groups need counting.
        direct: tuple[list[list[int]], list[list[int]], list[list[int]]] = ([], [], [])
        self._in_groups: list[tuple[int, ...]] = []
        for needed_by in self._dependents:
            for k in (_COMPONENT, _SITE, _QUEUE):
                direct[k].append([])
            groups = []
            for r in needed_by:
                if self._req_size[r] == 1:
                    direct[self._req_kind[r]][-1].append(self._req_owner[r])
                else:
                    groups.append(r)
            self._in_groups.append(tuple(groups))
        self._direct: tuple[list[tuple[int, ...]], ...] = tuple(
            [tuple(owners) for owners in per_component] for per_component in direct
        )

    def _index_answering_sites(self, plan: Plan) -> None:
        answering: list[dict[int, None]] = [{} for _ in plan.queues]
        for team in plan.teams:
            if team.agents <= 0:
                continue
            site = self._lookup(_SITE, team.site, f"team {team.id!r}")
            site_takes = plan.sites[site].queues
            for queue_id in team.queues:
                queue = self._lookup(_QUEUE, queue_id, f"team {team.id!r}")
                if site_takes is None or queue_id in site_takes:
                    answering[queue][site] = None
        self._answering_sites: list[tuple[int, ...]] = [tuple(a) for a in answering]
        site_queues: list[list[int]] = [[] for _ in plan.sites]
        for queue, sites in enumerate(self._answering_sites):
            for site in sites:
                site_queues[site].append(queue)
        self._site_queues: list[tuple[int, ...]] = [tuple(q) for q in site_queues]

    @classmethod
    def from_plan(cls, plan: Plan) -> Topology:
        """Build the topology of a plan (once; keep it and reuse it)."""
        return cls(plan)

    def _lookup(self, kind: int, node_id: str, where: str) -> int:
        try:
            return self._index[kind][node_id]
        except KeyError:
            raise ValueError(f"{where} names unknown {_KIND_NAMES[kind]} {node_id!r}") from None

    def _add_requirements(
        self, kind: int, owner: int, owner_id: str, depends_on: Sequence[Dependency]
    ) -> tuple[Requirement, ...]:
        where = f"{_KIND_NAMES[kind]} {owner_id!r}"
        entries: list[Requirement] = []
        for dependency in depends_on:
            members = dependency.any_of if isinstance(dependency, AnyOf) else [dependency]
            # A member listed twice in a group must count once, or the group would
            # wait for a failure that never comes.
            distinct = list(dict.fromkeys(members))
            r = len(self._req_size)
            self._req_kind.append(kind)
            self._req_owner.append(owner)
            self._req_size.append(len(distinct))
            for member in distinct:
                self._dependents[self._lookup(_COMPONENT, member, where)].append(r)
            entries.append(Requirement(tuple(distinct), isinstance(dependency, AnyOf)))
        return tuple(entries)

    # ---- failure propagation -------------------------------------------------------

    def _fail(self, components: Iterable[int], sites: Iterable[int]) -> _Failure:
        failed = set(components)
        failed_sites = set(sites)
        unreachable: set[int] = set()
        left: dict[int, int] = {}
        size, kinds, owners = self._req_size, self._req_kind, self._req_owner
        direct_components, direct_sites, direct_queues = self._direct
        in_groups = self._in_groups
        stack = list(failed)
        while stack:
            component = stack.pop()
            for owner in direct_components[component]:
                if owner not in failed:
                    failed.add(owner)
                    stack.append(owner)
            if direct_sites[component]:
                failed_sites.update(direct_sites[component])
            if direct_queues[component]:
                unreachable.update(direct_queues[component])
            for r in in_groups[component]:
                remaining = left.get(r, size[r]) - 1
                left[r] = remaining
                if remaining:
                    continue
                owner = owners[r]
                kind = kinds[r]
                if kind == _COMPONENT:
                    if owner not in failed:
                        failed.add(owner)
                        stack.append(owner)
                elif kind == _SITE:
                    failed_sites.add(owner)
                else:
                    unreachable.add(owner)
        # Queues staffed to begin with lose one answering site per failed site; the
        # last one gone leaves the queue unanswered.
        unanswered: set[int] = set()
        staffed: dict[int, int] = {}
        for site in failed_sites:
            for queue in self._site_queues[site]:
                remaining = staffed.get(queue, len(self._answering_sites[queue])) - 1
                staffed[queue] = remaining
                if remaining == 0 and queue not in unreachable:
                    unanswered.add(queue)
        return _Failure(failed, failed_sites, unreachable, unanswered)

    def _indices(self, kind: int, ids: Iterable[str]) -> list[int]:
        index = self._index[kind]
        found = []
        for node_id in ids:
            if node_id not in index:
                raise KeyError(f"unknown {_KIND_NAMES[kind]} {node_id!r}")
            found.append(index[node_id])
        return found

    def _ordered(self, kind: int, indices: Iterable[int]) -> tuple[str, ...]:
        positions = sorted(indices)
        if len(positions) < 2:  # itemgetter of one position returns the item, not a tuple
            return tuple(self._ids[kind][i] for i in positions)
        return itemgetter(*positions)(self._ids[kind])  # type: ignore[no-any-return]

    def availability(self, down: Iterable[str], *, lost_sites: Iterable[str] = ()) -> Availability:
        """What works while the components `down` are down and the sites `lost_sites` are lost.

        An id that is not in the plan raises KeyError: a typo must not read as "all fine".
        """
        failure = self._fail(self._indices(_COMPONENT, down), self._indices(_SITE, lost_sites))
        components, sites, queues = self._ids
        reachable = frozenset(q for i, q in enumerate(queues) if i not in failure.queues_unreachable)
        answered = frozenset(
            q
            for i, q in enumerate(queues)
            if q in reachable and self._answering_sites[i] and i not in failure.queues_unanswered
        )
        return Availability(
            components=frozenset(c for i, c in enumerate(components) if i not in failure.components),
            sites=frozenset(s for i, s in enumerate(sites) if i not in failure.sites),
            queues_reachable=reachable,
            queues_answered=answered,
        )

    def blast_radius(self, component_id: str) -> BlastRadius:
        """What goes down when this component alone fails, every name (KeyError if not in the plan).

        Not memoised: one radius costs what it holds, and keeping every radius of a
        long chain would be quadratic in memory.
        """
        (index,) = self._indices(_COMPONENT, [component_id])
        failure = self._fail([index], ())
        failure.components.discard(index)
        return BlastRadius(
            component=component_id,
            components=self._ordered(_COMPONENT, failure.components),
            sites=self._ordered(_SITE, failure.sites),
            queues_unreachable=self._ordered(_QUEUE, failure.queues_unreachable),
            queues_unanswered=self._ordered(_QUEUE, failure.queues_unanswered),
        )

    def single_points_of_failure(self, shown: int = NAMES_SHOWN) -> list[SinglePointOfFailure]:
        """Components whose failure alone loses a queue or a site, most harmful first.

        What each takes down is counted, with the first `shown` names of each kind.
        """
        found = self._spofs.get(shown)
        if found is None:
            found = self._single_points(shown)
            found.sort(
                key=lambda spof: (
                    -spof.queues_lost,
                    -spof.sites.count,
                    -spof.components.count,
                    self._index[_COMPONENT][spof.component],
                )
            )
            self._spofs[shown] = found
        return list(found)

    def site_falls_with(self, component_id: str, site_id: str) -> bool:
        """Whether the failure of this component alone loses this site."""
        (component,) = self._indices(_COMPONENT, [component_id])
        (site,) = self._indices(_SITE, [site_id])
        rows = self._site_killers
        if rows is None:
            found = self._killers()
            if found is None:
                return site in self._fail([component], ()).sites
            rows = found.sites
        return bool((rows[site] >> component) & 1)

    def _killers(self) -> Killers | None:
        """Every node's killers as bitsets; None on a cyclic plan.

        Not kept: the components' rows are the big part (n² bits on a chain); only the
        sites' rows stay, for `site_falls_with`.
        """
        index = self._index[_COMPONENT]

        def groups(entries: tuple[Requirement, ...]) -> list[tuple[int, ...]]:
            return [tuple(dict.fromkeys(index[m] for m in r.members)) for r in entries]

        requirements = [groups(entries) for entries in self._requirements[_COMPONENT]]
        order = dependency_order(requirements)
        if order is None:
            return None
        found = killers(
            order,
            requirements,
            [groups(entries) for entries in self._requirements[_SITE]],
            [groups(entries) for entries in self._requirements[_QUEUE]],
            self._answering_sites,
        )
        self._site_killers = found.sites
        return found

    def _single_points(self, shown: int) -> list[SinglePointOfFailure]:
        found = self._killers()
        if found is None:
            # A cyclic plan (the loader rejects those): fail each component in turn,
            # keeping only the counts and the first names of each.
            return [
                SinglePointOfFailure(
                    radius.component,
                    *(Harm(len(ids), ids[:shown]) for ids in self._radius_lists(radius)),
                )
                for cid in self._ids[_COMPONENT]
                if (radius := self.blast_radius(cid)).loses_queue_or_site
            ]
        wanted = 0
        for row in (*found.sites, *found.queues_unreachable, *found.queues_unanswered):
            wanted |= row
        tallies = [
            (kind, columns(rows, wanted, shown))
            for kind, rows in (
                (_COMPONENT, found.components),
                (_SITE, found.sites),
                (_QUEUE, found.queues_unreachable),
                (_QUEUE, found.queues_unanswered),
            )
        ]
        return [
            SinglePointOfFailure(
                self._ids[_COMPONENT][c],
                *(
                    Harm(tally.count(c), tuple(self._ids[kind][i] for i in tally.rows(c)))
                    for kind, tally in tallies
                ),
            )
            for c in set_bits(wanted)
        ]

    @staticmethod
    def _radius_lists(radius: BlastRadius) -> tuple[tuple[str, ...], ...]:
        return (radius.components, radius.sites, radius.queues_unreachable, radius.queues_unanswered)

    # ---- the map ---------------------------------------------------------------------

    def ids(self, kind: NodeKind) -> tuple[str, ...]:
        """Ids of one kind of node, in plan order."""
        return tuple(self._ids[_KIND_NAMES.index(kind)])

    def dependencies_of(self, node_id: str, kind: NodeKind = "component") -> tuple[Requirement, ...]:
        """The depends_on entries of a node (KeyError if it is not in the plan)."""
        k = _KIND_NAMES.index(kind)
        (index,) = self._indices(k, [node_id])
        return self._requirements[k][index]

    def dependents_of(self, component_id: str) -> tuple[tuple[NodeKind, str], ...]:
        """Nodes that list this component in their depends_on, as (kind, id), each once."""
        (index,) = self._indices(_COMPONENT, [component_id])
        seen = dict.fromkeys(
            (_KIND_NAMES[self._req_kind[r]], self._ids[self._req_kind[r]][self._req_owner[r]])
            for r in self._dependents[index]
        )
        return tuple(seen)

    def sites_answering(self, queue_id: str) -> tuple[str, ...]:
        """Sites that take this queue and have a team with agents skilled for it."""
        (index,) = self._indices(_QUEUE, [queue_id])
        return self._ordered(_SITE, self._answering_sites[index])

    def edges(self) -> list[Edge]:
        """Every dependency edge, in plan order; any_of groups share source and entry."""
        found = []
        for k in (_COMPONENT, _SITE, _QUEUE):
            for owner, entries in enumerate(self._requirements[k]):
                for entry, requirement in enumerate(entries):
                    for target in requirement.members:
                        found.append(
                            Edge(_KIND_NAMES[k], self._ids[k][owner], target, entry, requirement.any_of)
                        )
        return found

    def nodes(self) -> list[Node]:
        """Every component, site and queue with its name and layer, in plan order."""
        layers = self._compute_layers()
        return [
            Node(_KIND_NAMES[k], node_id, self._names[k][i], layers[k][i])
            for k in (_COMPONENT, _SITE, _QUEUE)
            for i, node_id in enumerate(self._ids[k])
        ]

    def layer(self, node_id: str, kind: NodeKind = "component") -> int:
        """Depth of a node: 0 when it depends on nothing, else one more than its deepest need."""
        k = _KIND_NAMES.index(kind)
        (index,) = self._indices(k, [node_id])
        return self._compute_layers()[k][index]

    def _compute_layers(self) -> tuple[list[int], list[int], list[int]]:
        if self._layers is not None:
            return self._layers
        count = len(self._ids[_COMPONENT])
        needs = [
            {self._index[_COMPONENT][m] for r in entries for m in r.members}
            for entries in self._requirements[_COMPONENT]
        ]
        waiting = [len(n) for n in needs]
        needed_by: list[list[int]] = [[] for _ in range(count)]
        for c, n in enumerate(needs):
            for d in n:
                needed_by[d].append(c)
        layer = [-1] * count
        ready = [c for c in range(count) if waiting[c] == 0]
        while ready:  # Kahn's order: a node is placed once all it needs are
            c = ready.pop()
            layer[c] = max((layer[d] for d in needs[c]), default=-1) + 1
            for user in needed_by[c]:
                waiting[user] -= 1
                if waiting[user] == 0:
                    ready.append(user)
        # Nodes on or behind a cycle never become ready: place them, in plan order,
        # after what they need that was placed, so the map still draws them.
        for c in range(count):
            if layer[c] < 0:
                layer[c] = max((layer[d] for d in needs[c]), default=-1) + 1

        def above(entries: tuple[Requirement, ...]) -> int:
            return (
                max((layer[self._index[_COMPONENT][m]] for r in entries for m in r.members), default=-1) + 1
            )

        self._layers = (
            layer,
            [above(entries) for entries in self._requirements[_SITE]],
            [above(entries) for entries in self._requirements[_QUEUE]],
        )
        return self._layers
