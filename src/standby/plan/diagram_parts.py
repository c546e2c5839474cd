"""The dependency map's parts: the graph to draw (`Vertex`, `MapGraph`) and the picture laid out.

`diagram` builds a `MapGraph` from the plan and `diagram_placing` places it into a
`Layout`: nodes (boxes with their top-left corners), edges (lines through points,
left to right) and columns with their headings, in drawing units (pixels).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

NodeKind = Literal["component", "site", "queue", "junction", "group"]
Tone = Literal["up", "degraded", "down", "maintenance", "unknown"]
STATES: tuple[Tone, ...] = ("up", "degraded", "down", "maintenance", "unknown")

NODE_WIDTH = 166.0
NODE_HEIGHT = 50.0


@dataclass(frozen=True)
class Node:
    """A box on the map, with its top-left corner at (x, y)."""

    id: str
    kind: NodeKind
    label: str
    status: str  # the state in words, beside the label: colour is never the only signal
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
class Vertex:
    """A box to draw, before it is placed: its column rank, its texts and its size."""

    id: str
    kind: NodeKind
    rank: int
    label: str = ""
    status: str = ""
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
class MapGraph:
    """What the map draws: its vertices, the links between them, and notes on what is left out."""

    vertices: dict[str, Vertex] = field(default_factory=dict)
    edges: dict[tuple[str, str], bool] = field(default_factory=dict)  # (source, target) -> dashed
    notes: list[str] = field(default_factory=list)

    def add(self, vertex: Vertex) -> None:
        """Add the vertex, unless one with its id is there already."""
        self.vertices.setdefault(vertex.id, vertex)

    def link(self, source: str, target: str, *, dashed: bool = False) -> None:
        """Link two vertices that are both there (once; never a vertex to itself)."""
        if source != target and source in self.vertices and target in self.vertices:
            self.edges.setdefault((source, target), dashed)
