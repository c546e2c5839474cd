"""The dependency map as a picture: a pure, deterministic layered layout of the plan.

Columns run left to right: components by dependency depth (what the centre runs
on), then sites (where agents work), then queues (what customers call about). An
`any_of` group becomes a small junction just left of the thing that needs it.
The layout is Sugiyama-style: long edges pass through invisible dummy points,
barycentre sweeps reduce crossings, and vertical positions are pulled towards
neighbours by isotonic regression so edges run as straight as the order allows.

Dependencies implied by others (billing -> sbc when billing -> ivr -> acd -> sbc)
are not drawn, like Graphviz's `tred`: drawing all of them hides the structure.
Past `max_components` components or `max_depth` depths the map collapses into
groups by depth and kind, and says so in `Layout.notes`: a picture of 5,000 boxes
informs nobody and takes long to draw. Nothing here reads the clock or the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from standby.plan.schema import AnyOf, Plan

NodeKind = Literal["component", "site", "queue", "junction", "group"]
Tone = Literal["up", "degraded", "down", "maintenance", "unknown"]
STATES: tuple[Tone, ...] = ("up", "degraded", "down", "maintenance", "unknown")
# The order in which a group shows its worst member.
_SEVERITY: dict[str, int] = {"down": 4, "degraded": 3, "maintenance": 2, "unknown": 1, "up": 0}

NODE_WIDTH = 172.0
NODE_HEIGHT = 42.0
JUNCTION_WIDTH = 50.0
JUNCTION_HEIGHT = 20.0
COLUMN_GAP = 64.0
NODE_GAP = 14.0
DUMMY_GAP = 6.0
MARGIN = 24.0
HEADER = 30.0


class AvailabilityView(Protocol):
    """What the map needs to know of effective availability: the ids that are available."""

    @property
    def components(self) -> frozenset[str]: ...  # noqa: D102

    @property
    def sites(self) -> frozenset[str]: ...  # noqa: D102

    @property
    def queues_reachable(self) -> frozenset[str]: ...  # noqa: D102

    @property
    def queues_answered(self) -> frozenset[str]: ...  # noqa: D102


@dataclass(frozen=True)
class Node:
    """A box on the map, with its top-left corner at (x, y)."""

    id: str
    kind: NodeKind
    label: str
    detail: str
    tone: Tone
    available: bool
    impacted: bool  # unavailable through a dependency although its own state is not down
    x: float
    y: float
    width: float
    height: float
    column: int
    title: str = ""
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class Edge:
    """A line from a dependency to what needs it, through `points` (left to right)."""

    source: str
    target: str
    points: tuple[tuple[float, float], ...]
    dashed: bool  # a team's site answering a queue, rather than a dependency
    live: bool  # the source is available


@dataclass(frozen=True)
class Column:
    """A column of the map and its heading."""

    x: float
    width: float
    title: str


@dataclass(frozen=True)
class Layout:
    """The whole map: everything needed to draw it, in drawing units (pixels)."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    columns: tuple[Column, ...]
    width: float
    height: float
    collapsed: bool
    notes: tuple[str, ...]

    def node(self, node_id: str) -> Node:
        """The node with this id (KeyError if absent)."""
        for candidate in self.nodes:
            if candidate.id == node_id:
                return candidate
        raise KeyError(node_id)


@dataclass
class _Vertex:
    id: str
    kind: NodeKind | Literal["dummy"]
    rank: int
    label: str = ""
    detail: str = ""
    tone: Tone = "unknown"
    available: bool = True
    impacted: bool = False
    title: str = ""
    members: tuple[str, ...] = ()
    width: float = NODE_WIDTH
    height: float = NODE_HEIGHT
    heading: str = ""


@dataclass
class _Graph:
    vertices: dict[str, _Vertex] = field(default_factory=dict)
    edges: dict[tuple[str, str], bool] = field(default_factory=dict)  # (source, target) -> dashed
    notes: list[str] = field(default_factory=list)

    def add(self, vertex: _Vertex) -> None:
        self.vertices.setdefault(vertex.id, vertex)

    def link(self, source: str, target: str, *, dashed: bool = False) -> None:
        if source != target and source in self.vertices and target in self.vertices:
            self.edges.setdefault((source, target), dashed)


def layout_plan(
    plan: Plan,
    *,
    states: Mapping[str, str] | None = None,
    availability: AvailabilityView | None = None,
    max_components: int = 150,
    max_depth: int = 12,
) -> Layout:
    """Lay out the plan's dependency map; `states` are live component states (default unknown)."""
    states = states or {}
    depths = component_depths(plan)
    deepest = max(depths.values(), default=0)
    if len(plan.components) > max_components or deepest + 1 > max_depth:
        graph = _collapsed_graph(plan, depths, states, availability, max_depth)
        collapsed = True
    else:
        graph = _full_graph(plan, depths, states, availability)
        collapsed = False
    return _place(graph, collapsed)


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
        if tone in _SEVERITY and _SEVERITY[tone] > _SEVERITY[best]:
            best = tone  # type: ignore[assignment]  # checked against _SEVERITY's keys
    return best


# --- the layered layout -----------------------------------------------------------------


def _place(graph: _Graph, collapsed: bool) -> Layout:
    ranks = sorted({v.rank for v in graph.vertices.values()})
    column_of = {rank: index for index, rank in enumerate(ranks)}
    columns: list[list[str]] = [[] for _ in ranks]
    for vertex in graph.vertices.values():
        columns[column_of[vertex.rank]].append(vertex.id)
    vertices = dict(graph.vertices)
    preds: dict[str, list[str]] = {vid: [] for vid in vertices}
    succs: dict[str, list[str]] = {vid: [] for vid in vertices}
    chains: list[tuple[str, str, bool, list[str]]] = []
    for (source, target), dashed in graph.edges.items():
        start, end = column_of[vertices[source].rank], column_of[vertices[target].rank]
        if end <= start:
            continue  # only a cycle could do this, and the plan's rules reject cycles
        chain = [source]
        for col in range(start + 1, end):
            dummy = f"{source}>{target}#{col}"
            vertices[dummy] = _Vertex(dummy, "dummy", ranks[col], width=0.0, height=0.0)
            preds[dummy], succs[dummy] = [], []
            columns[col].append(dummy)
            chain.append(dummy)
        chain.append(target)
        for a, b in zip(chain, chain[1:], strict=False):
            succs[a].append(b)
            preds[b].append(a)
        chains.append((source, target, dashed, chain))

    _order(columns, preds, succs)
    ys = _vertical_positions(columns, vertices, preds, succs)

    xs: list[float] = []
    widths: list[float] = []
    x = MARGIN
    for col in columns:
        width = max((vertices[v].width for v in col), default=JUNCTION_WIDTH) or JUNCTION_WIDTH
        xs.append(x)
        widths.append(width)
        x += width + COLUMN_GAP
    total_width = x - COLUMN_GAP + MARGIN

    nodes: list[Node] = []
    centre: dict[str, tuple[float, float]] = {}
    for index, col in enumerate(columns):
        for vid in col:
            v = vertices[vid]
            cx = xs[index] + widths[index] / 2
            centre[vid] = (cx, ys[vid])
            if v.kind == "dummy":
                continue
            nodes.append(
                Node(
                    id=v.id, kind=v.kind, label=v.label, detail=v.detail, tone=v.tone,
                    available=v.available, impacted=v.impacted, x=cx - v.width / 2,
                    y=ys[vid] - v.height / 2, width=v.width, height=v.height, column=index,
                    title=v.title, members=v.members,
                )
            )
    edges: list[Edge] = []
    for source, target, dashed, chain in chains:
        points = [(centre[source][0] + vertices[source].width / 2, centre[source][1])]
        points.extend(centre[d] for d in chain[1:-1])
        points.append((centre[target][0] - vertices[target].width / 2, centre[target][1]))
        edges.append(Edge(source, target, tuple(points), dashed, vertices[source].available))
    height = max((n.y + n.height for n in nodes), default=HEADER) + MARGIN
    headings = [_heading(vertices, col) for col in columns]
    return Layout(
        nodes=tuple(nodes),
        edges=tuple(edges),
        columns=tuple(
            Column(xs[i], widths[i], headings[i]) for i in range(len(columns))
        ),
        width=round(total_width, 1),
        height=round(height, 1),
        collapsed=collapsed,
        notes=tuple(graph.notes),
    )


def _heading(vertices: Mapping[str, _Vertex], column: list[str]) -> str:
    for vid in column:
        if vertices[vid].heading:
            return vertices[vid].heading
    return ""


def _order(
    columns: list[list[str]], preds: Mapping[str, list[str]], succs: Mapping[str, list[str]]
) -> None:
    """Reorder each column in place by barycentre sweeps, keeping the order with fewest crossings."""
    best = [list(col) for col in columns]
    best_crossings = _crossings(columns, succs)
    for sweep in range(8):
        if best_crossings == 0:
            break
        down = sweep % 2 == 0
        indices = range(1, len(columns)) if down else range(len(columns) - 2, -1, -1)
        for i in indices:
            fixed = columns[i - 1] if down else columns[i + 1]
            position = {vid: p for p, vid in enumerate(fixed)}
            neighbours = preds if down else succs
            current = {vid: p for p, vid in enumerate(columns[i])}

            def barycentre(vid: str, position: dict[str, int] = position) -> float:
                near = [position[n] for n in neighbours[vid] if n in position]
                return sum(near) / len(near) if near else float(current[vid])

            # Nodes without neighbours keep their place; ties keep the current order.
            columns[i].sort(key=lambda vid: (barycentre(vid), current[vid]))
        crossings = _crossings(columns, succs)
        if crossings < best_crossings:
            best, best_crossings = [list(col) for col in columns], crossings
    columns[:] = best


def _crossings(columns: list[list[str]], succs: Mapping[str, list[str]]) -> int:
    total = 0
    for left, right in zip(columns, columns[1:], strict=False):
        position = {vid: p for p, vid in enumerate(right)}
        ends = sorted(
            (p, position[s]) for p, vid in enumerate(left) for s in succs[vid] if s in position
        )
        total += _inversions([end for _, end in ends])
    return total


def _inversions(values: list[int]) -> int:
    """Pairs out of order, by merge sort: O(n log n) so large columns stay cheap."""
    if len(values) < 2:
        return 0
    middle = len(values) // 2
    left, right = values[:middle], values[middle:]
    count = _inversions(left) + _inversions(right)
    left.sort()
    right.sort()
    j = 0
    for value in left:
        while j < len(right) and right[j] < value:
            j += 1
        count += j
    return count


def _vertical_positions(
    columns: list[list[str]],
    vertices: Mapping[str, _Vertex],
    preds: Mapping[str, list[str]],
    succs: Mapping[str, list[str]],
) -> dict[str, float]:
    """Centre y of each vertex: near its neighbours' mean, in column order, never overlapping."""
    gaps = [[_gap(vertices[a], vertices[b]) for a, b in zip(col, col[1:], strict=False)] for col in columns]
    y: dict[str, float] = {}
    tallest = max((sum(g) for g in gaps), default=0.0)
    for col, gap in zip(columns, gaps, strict=True):
        top = (tallest - sum(gap)) / 2  # centre short columns against the tallest
        for index, vid in enumerate(col):
            y[vid] = top + sum(gap[:index])
    for sweep in range(6):
        down = sweep % 2 == 0
        order = range(len(columns)) if down else range(len(columns) - 1, -1, -1)
        for i in order:
            col = columns[i]
            wanted = []
            for vid in col:
                near = (preds if down else succs)[vid] + (succs if down else preds)[vid] * (
                    sweep >= 4
                )
                wanted.append(sum(y[n] for n in near) / len(near) if near else y[vid])
            for vid, value in zip(col, _pack(wanted, gaps[i]), strict=True):
                y[vid] = value
    lowest = min(
        (y[v] - vertices[v].height / 2 for col in columns for v in col), default=0.0
    )
    return {vid: round(value - lowest + MARGIN + HEADER, 1) for vid, value in y.items()}


def _gap(a: _Vertex, b: _Vertex) -> float:
    if a.kind == "dummy" or b.kind == "dummy":
        return (a.height + b.height) / 2 + DUMMY_GAP
    return (a.height + b.height) / 2 + NODE_GAP


def _pack(wanted: list[float], gaps: list[float]) -> list[float]:
    """Positions closest to `wanted` (least squares) that keep order and gaps: isotonic regression."""
    offsets = [0.0]
    for gap in gaps:
        offsets.append(offsets[-1] + gap)
    targets = [w - o for w, o in zip(wanted, offsets, strict=True)]
    blocks: list[list[float]] = []  # [sum, count] pooled adjacent violators
    for value in targets:
        blocks.append([value, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            total, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += count
    fitted: list[float] = []
    for total, count in blocks:
        fitted.extend([total / count] * int(count))
    return [f + o for f, o in zip(fitted, offsets, strict=True)]
