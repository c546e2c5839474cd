"""The dependency map as a picture: a pure, deterministic layered layout of the plan.

Columns run left to right: components by dependency depth (what the centre runs
on), then sites (where agents work), then queues (what customers call about). An
`any_of` group becomes a small junction just left of the thing that needs it.
The layout is Sugiyama-style: long edges pass through invisible dummy points,
barycentre sweeps reduce crossings, and vertical positions are pulled towards
neighbours by isotonic regression so edges run as straight as the order allows.

Dependencies implied by others (billing -> sbc when billing -> ivr -> acd -> sbc)
are not drawn, like Graphviz's `tred`: drawing all of them hides the structure.
Past `max_components` components or `max_depth` depths the map collapses into at
most `COLLAPSED_DEPTHS` columns of groups by depth and kind, and says so in
`Layout.notes`: a picture of 5,000 boxes informs nobody and takes long to draw.
Nothing here reads the clock or the database. This builds the graph to draw (its
parts in `diagram_parts`); `diagram_placing` places it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from standby.plan.diagram_parts import Layout, MapGraph, Tone, Vertex
from standby.plan.diagram_placing import place_graph
from standby.plan.schema import AnyOf, Plan

# How bad each state is: groups and tables show the worst first.
SEVERITY: dict[str, int] = {"down": 4, "degraded": 3, "maintenance": 2, "unknown": 1, "up": 0}

JUNCTION_WIDTH = 50.0
JUNCTION_HEIGHT = 20.0
COLLAPSED_DEPTHS = 6


class AvailabilityView(Protocol):
    """What the map needs to know of effective availability: the ids that are available."""

    @property
    def components(self) -> frozenset[str]:
        """Components effectively available."""

    @property
    def sites(self) -> frozenset[str]:
        """Sites available."""

    @property
    def queues_reachable(self) -> frozenset[str]:
        """Queues calls can reach."""

    @property
    def queues_answered(self) -> frozenset[str]:
        """Queues reachable and answered by some available site."""


def layout_plan(
    plan: Plan,
    *,
    states: Mapping[str, str] | None = None,
    availability: AvailabilityView | None = None,
    max_components: int = 150,
    max_depth: int = 16,
) -> Layout:
    """Lay out the plan's dependency map; `states` are live component states (default unknown)."""
    states = states or {}
    depths = component_depths(plan)
    deepest = max(depths.values(), default=0)
    if len(plan.components) > max_components or deepest + 1 > max_depth:
        graph = _collapsed_graph(plan, depths, states, availability, COLLAPSED_DEPTHS)
        collapsed = True
    else:
        graph = _full_graph(plan, depths, states, availability)
        collapsed = False
    return place_graph(graph, collapsed)


def dependency_ids(entries: Iterable[str | AnyOf]) -> list[str]:
    """Every component id named in a depends_on list, any_of members included, in order."""
    seen: dict[str, None] = {}
    for entry in entries:
        for member in entry.any_of if isinstance(entry, AnyOf) else [entry]:
            seen.setdefault(member, None)
    return list(seen)


def worst(tones: Iterable[str]) -> Tone:
    """The most severe of these states: down, degraded, maintenance, unknown, then up."""
    best: Tone = "up"
    for tone in tones:
        if tone in SEVERITY and SEVERITY[tone] > SEVERITY[best]:
            best = tone  # type: ignore[assignment]  # checked against SEVERITY's keys
    return best


# --- what is drawn -----------------------------------------------------------------------

MAX_SITES = 30
MAX_QUEUES = 30
_Entry = str | AnyOf
_Closure = tuple[frozenset[str], frozenset[frozenset[str]]]  # certainly needed, any_of needed


def component_depths(plan: Plan) -> dict[str, int]:
    """Each component's dependency depth: 0 with no dependencies, else one more than its deepest."""
    known = plan.components_by_id
    needs = {c.id: [d for d in dependency_ids(c.depends_on) if d in known] for c in plan.components}
    dependents: dict[str, list[str]] = {cid: [] for cid in needs}
    waiting = {cid: len(ds) for cid, ds in needs.items()}
    for cid, ds in needs.items():
        for d in ds:
            dependents[d].append(cid)
    depth = {cid: 0 for cid in needs}
    ready = [cid for cid in needs if waiting[cid] == 0]
    done: set[str] = set()
    while ready:  # Kahn's algorithm: iterative, so a 5,000-long chain cannot hit the recursion limit
        cid = ready.pop()
        done.add(cid)
        for x in dependents[cid]:
            depth[x] = max(depth[x], depth[cid] + 1)
            waiting[x] -= 1
            if waiting[x] == 0:
                ready.append(x)
    stuck = max(depth.values(), default=0) + 1
    return {cid: depth[cid] if cid in done else stuck for cid in needs}  # a cycle: put it last


@dataclass(frozen=True)
class _Status:
    states: Mapping[str, str]
    availability: AvailabilityView | None

    def tone(self, component_id: str) -> Tone:
        state = self.states.get(component_id, "unknown")
        return worst([state]) if state in SEVERITY else "unknown"

    def component_ok(self, component_id: str) -> bool:
        return self.availability is None or component_id in self.availability.components

    def site_ok(self, site_id: str) -> bool:
        return self.availability is None or site_id in self.availability.sites

    def queue_tone(self, queue_id: str) -> Tone:
        if self.availability is None or queue_id in self.availability.queues_answered:
            return "up"
        return "degraded" if queue_id in self.availability.queues_reachable else "down"


_QUEUE_WORDS = {"up": "answered", "degraded": "not answered", "down": "unreachable"}


def _full_graph(
    plan: Plan,
    depths: Mapping[str, int],
    states: Mapping[str, str],
    availability: AvailabilityView | None,
) -> MapGraph:
    status = _Status(states, availability)
    closures = _closures(plan, depths)
    graph = MapGraph()
    dropped = 0
    for c in sorted(plan.components, key=lambda c: depths[c.id]):
        depth = depths[c.id]
        tone, ok = status.tone(c.id), status.component_ok(c.id)
        impacted = not ok and tone != "down"
        graph.add(
            Vertex(
                f"component:{c.id}",
                "component",
                2 * depth,
                label=c.id,
                status=tone,
                detail=c.name,
                tone=tone,
                available=ok,
                impacted=impacted,
                heading="Runs on" if depth == 0 else f"Depth {depth}",
                title=f"{c.id}: {c.name}, {tone}"
                + ("; unavailable through a dependency" if impacted else ""),
            )
        )
    for c in sorted(plan.components, key=lambda c: depths[c.id]):
        dropped += _attach(graph, f"component:{c.id}", 2 * depths[c.id], c.depends_on, closures, status)
    site_rank = 2 * (max(depths.values(), default=-1) + 2)
    dropped += _add_sites_and_queues(graph, plan, status, site_rank, lambda cid: f"component:{cid}", closures)
    if dropped:
        graph.notes.append(
            f"{_count(dropped, 'dependency', 'dependencies')} that follow from others are not drawn"
            " (the components table lists every one)."
        )
    return graph


def _closures(plan: Plan, depths: Mapping[str, int]) -> dict[str, _Closure]:
    """What each component needs, transitively: the components for certain, and the any_of groups."""
    out: dict[str, _Closure] = {}
    for c in sorted(plan.components, key=lambda c: depths[c.id]):
        plain: set[str] = set()
        groups: set[frozenset[str]] = set()
        for entry in c.depends_on:
            if isinstance(entry, AnyOf):
                groups.add(frozenset(entry.any_of))
            elif entry in out:
                plain.add(entry)
                plain |= out[entry][0]
                groups |= out[entry][1]
        out[c.id] = (frozenset(plain), frozenset(groups))
    return out


def _reduce(entries: Iterable[_Entry], closures: Mapping[str, _Closure]) -> list[_Entry]:
    """The entries not implied by another entry (a transitive reduction, any_of aware)."""
    unique: dict[str | frozenset[str], _Entry] = {}
    for entry in entries:
        unique.setdefault(frozenset(entry.any_of) if isinstance(entry, AnyOf) else entry, entry)
    kept: list[_Entry] = []
    for key, entry in unique.items():
        implied = False
        for other in unique:
            if other == key or not isinstance(other, str) or other not in closures:
                continue
            plain, groups = closures[other]
            if isinstance(key, frozenset):
                implied = bool(key & plain) or any(g <= key for g in groups)
            else:
                implied = key in plain
            if implied:
                break
        if not implied:
            kept.append(entry)
    return kept


def _attach(
    graph: MapGraph,
    target: str,
    rank: int,
    entries: list[_Entry],
    closures: Mapping[str, _Closure] | None,
    status: _Status,
) -> int:
    """Draw `target`'s dependencies (reduced when `closures` is given); return how many were left out."""
    kept = _reduce(entries, closures) if closures is not None else list(entries)
    for index, entry in enumerate(kept):
        if isinstance(entry, AnyOf):
            junction = f"{target}:any-of-{index}"
            live = [m for m in entry.any_of if status.component_ok(m)]
            graph.add(
                Vertex(
                    junction,
                    "junction",
                    rank - 1,
                    label="any of",
                    status=f"{len(live)} of {len(entry.any_of)} available",
                    tone="up" if live else "down",
                    available=bool(live),
                    members=tuple(entry.any_of),
                    width=JUNCTION_WIDTH,
                    height=JUNCTION_HEIGHT,
                    title="needs any one of: " + ", ".join(entry.any_of),
                )
            )
            for member in entry.any_of:
                graph.link(f"component:{member}", junction)
            graph.link(junction, target)
        else:
            graph.link(f"component:{entry}", target)
    return len(entries) - len(kept)


def _add_sites_and_queues(
    graph: MapGraph,
    plan: Plan,
    status: _Status,
    rank: int,
    component_key: Callable[[str], str],
    closures: Mapping[str, _Closure] | None,
) -> int:
    """Sites in the column at `rank`, queues two ranks later; grouped when there are too many."""
    dropped = 0
    agents: dict[str, int] = {}
    for team in plan.teams:
        agents[team.site] = agents.get(team.site, 0) + team.agents
    site_key: dict[str, str] = {}
    if len(plan.sites) > MAX_SITES:
        by_kind: dict[str, list[str]] = {}
        for s in plan.sites:
            by_kind.setdefault(s.kind, []).append(s.id)
        for kind, ids in by_kind.items():
            live = [i for i in ids if status.site_ok(i)]
            key = f"group:site:{kind}"
            graph.add(
                Vertex(
                    key,
                    "group",
                    rank,
                    label=f"{len(ids):,} {kind} sites",
                    status=f"{len(live):,} available",
                    heading="Sites",
                    members=tuple(ids),
                    detail=f"{sum(plan.sites_by_id[i].seats for i in ids):,} seats",
                    tone="up" if len(live) == len(ids) else "degraded" if live else "down",
                    available=len(live) == len(ids),
                    title=", ".join(ids[:20]),
                )
            )
            site_key.update(dict.fromkeys(ids, key))
        graph.notes.append(f"{len(plan.sites):,} sites are drawn as {_count(len(by_kind), 'group')} by kind.")
    else:
        for s in plan.sites:
            ok = status.site_ok(s.id)
            seats = f"{s.seats} seats"
            detail = (
                f"{seats} · {agents[s.id]} agents"
                if s.id in agents
                else f"{seats} · standby {_minutes(s.activation_minutes)}"
                if s.activation_minutes
                else seats
            )
            site_key[s.id] = f"site:{s.id}"
            graph.add(
                Vertex(
                    site_key[s.id],
                    "site",
                    rank,
                    label=s.id,
                    detail=detail,
                    status="available" if ok else "lost",
                    tone="up" if ok else "down",
                    available=ok,
                    heading="Sites",
                    title=f"{s.id}: {s.name}, {'available' if ok else 'lost'}",
                )
            )
    queue_key: dict[str, str] = {}
    if len(plan.queues) > MAX_QUEUES:
        by_tone: dict[Tone, list[str]] = {}
        for q in plan.queues:
            by_tone.setdefault(status.queue_tone(q.id), []).append(q.id)
        for tone, ids in by_tone.items():
            key = f"group:queue:{tone}"
            graph.add(
                Vertex(
                    key,
                    "group",
                    rank + 2,
                    label=f"{len(ids):,} queues",
                    status=_QUEUE_WORDS[tone],
                    tone=tone,
                    available=tone == "up",
                    heading="Queues",
                    members=tuple(ids),
                    title=", ".join(ids[:20]),
                )
            )
            queue_key.update(dict.fromkeys(ids, key))
        graph.notes.append(f"{len(plan.queues):,} queues are drawn as groups by whether answered.")
    else:
        for q in plan.queues:
            tone = status.queue_tone(q.id)
            queue_key[q.id] = f"queue:{q.id}"
            level = q.service_level
            graph.add(
                Vertex(
                    queue_key[q.id],
                    "queue",
                    rank + 2,
                    label=q.id,
                    status=_QUEUE_WORDS[tone],
                    detail=f"target {level.target:.0%} in {level.answer_within_s:g} s",
                    tone=tone,
                    available=tone == "up",
                    heading="Queues",
                    title=f"{q.id}: {q.name}, {_QUEUE_WORDS[tone]}",
                )
            )
    grouped = closures is None
    for s in plan.sites:
        if grouped or site_key[s.id].startswith("group:"):
            for dep in dependency_ids(s.depends_on):
                graph.link(component_key(dep), site_key[s.id])
        else:
            dropped += _attach(graph, site_key[s.id], rank, s.depends_on, closures, status)
    for q in plan.queues:
        if grouped or queue_key[q.id].startswith("group:"):
            for dep in dependency_ids(q.depends_on):
                graph.link(component_key(dep), queue_key[q.id])
        else:
            dropped += _attach(graph, queue_key[q.id], rank + 2, q.depends_on, closures, status)
    for team in plan.teams:
        takes = plan.sites_by_id[team.site].queues if team.site in plan.sites_by_id else None
        for queue in team.queues:
            # As the topology counts it: agents on shift, at a site that takes the queue.
            if (
                team.agents > 0
                and team.site in site_key
                and queue in queue_key
                and (takes is None or queue in takes)
            ):
                graph.link(site_key[team.site], queue_key[queue], dashed=True)
    return dropped


def _collapsed_graph(
    plan: Plan,
    depths: Mapping[str, int],
    states: Mapping[str, str],
    availability: AvailabilityView | None,
    columns: int,
) -> MapGraph:
    status = _Status(states, availability)
    graph = MapGraph()
    deepest = max(depths.values(), default=0)
    buckets = min(deepest + 1, columns)
    span: dict[int, list[int]] = {}
    for depth in sorted(set(depths.values())):
        span.setdefault(depth * buckets // (deepest + 1), []).append(depth)
    members: dict[str, list[str]] = {}
    group_of: dict[str, str] = {}
    for c in sorted(plan.components, key=lambda c: depths[c.id]):
        key = f"group:{depths[c.id] * buckets // (deepest + 1)}:{c.kind}"
        members.setdefault(key, []).append(c.id)
        group_of[c.id] = key
    for key, ids in members.items():
        bucket, kind = int(key.split(":")[1]), key.split(":")[2]
        tones = [status.tone(i) for i in ids]
        counts = {t: tones.count(t) for t in sorted(set(tones), key=lambda t: -SEVERITY[t])}
        live = [i for i in ids if status.component_ok(i)]
        lo, hi = span[bucket][0], span[bucket][-1]
        graph.add(
            Vertex(
                key,
                "group",
                2 * bucket,
                label=f"{len(ids):,} {kind.replace('_', ' ')}",
                status=worst(tones),
                detail=" · ".join(f"{n:,} {t}" for t, n in counts.items()),
                tone=worst(tones),
                available=len(live) == len(ids),
                impacted=any(not status.component_ok(i) and status.tone(i) != "down" for i in ids),
                members=tuple(ids),
                heading=f"Depth {lo}" if lo == hi else f"Depth {lo}-{hi}",
                title=f"{len(ids):,} {kind} components: "
                + ", ".join(ids[:20])
                + (", ..." if len(ids) > 20 else ""),
            )
        )
    for c in plan.components:
        for dep in dependency_ids(c.depends_on):
            if dep in group_of:
                graph.link(group_of[dep], group_of[c.id])
    _add_sites_and_queues(graph, plan, status, 2 * (buckets + 1), lambda cid: group_of.get(cid, ""), None)
    graph.notes.insert(
        0,
        f"{len(plan.components):,} components are drawn as {_count(len(members), 'group')} by dependency"
        " depth and kind, with any_of groups as plain lines; the components table lists each one.",
    )
    dropped = _reduce_links(graph)
    if dropped:
        graph.notes.append(f"{_count(dropped, 'link')} between groups that follow from others are not drawn.")
    return graph


def _reduce_links(graph: MapGraph) -> int:
    """Drop dependency links implied by a longer path (transitive reduction); return how many.

    Between groups every depth tends to link to every later one, and those lines would
    bury the picture. The groups are few (tens), so reachability as bit sets is cheap.
    """
    ids = sorted(graph.vertices, key=lambda v: graph.vertices[v].rank)
    bit = {vid: 1 << i for i, vid in enumerate(ids)}
    rank = {vid: v.rank for vid, v in graph.vertices.items()}
    # Only links that go right are drawn; keeping to those also keeps this a DAG.
    solid = [(a, b) for (a, b), dashed in graph.edges.items() if not dashed and rank[a] < rank[b]]
    succs: dict[str, list[str]] = {vid: [] for vid in ids}
    for source, target in solid:
        succs[source].append(target)
    reach: dict[str, int] = {}
    for vid in reversed(ids):  # successors have higher ranks, so they are done first
        mask = 0
        for nxt in succs[vid]:
            mask |= bit[nxt] | reach.get(nxt, 0)
        reach[vid] = mask
    dropped = 0
    for source, target in solid:
        others = (w for w in succs[source] if w != target)
        if any(reach[w] & bit[target] for w in others):
            del graph.edges[(source, target)]
            dropped += 1
    return dropped


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def _minutes(minutes: float) -> str:
    return f"{minutes:g} min" if minutes < 60 or minutes % 60 else f"{minutes / 60:g} h"
