"""Placing the dependency map: its graph laid out in columns, and its lines as SVG curves.

Pure and deterministic. `place_graph` hands the vertices and links to the layered
layout (`plan.layering`: Sugiyama-style, crossings reduced, lines kept straight) and
turns what it returns into the `Layout` the pages draw, labels shortened to fit their
boxes; `svg_path` draws a line through its points.
"""

from __future__ import annotations

from standby.plan.diagram_parts import Column, Edge, Layout, MapGraph, Node
from standby.plan.layering import Box, Spacing, layered

COLUMN_GAP = 50.0
# Rough widths of a character at the label and detail font sizes, to shorten text that
# would overflow its box (SVG text does not wrap or clip by itself).
LABEL_CHAR = 7.0
DETAIL_CHAR = 5.6
NODE_GAP = 14.0
MARGIN = 24.0
HEADER = 30.0


def place_graph(graph: MapGraph, collapsed: bool) -> Layout:
    """The graph placed in columns, left to right by rank: every node and line where it is drawn."""
    vertices = graph.vertices
    placement = layered(
        [Box(v.id, v.rank, v.width, v.height) for v in vertices.values()],
        list(graph.edges),
        Spacing(
            column_gap=COLUMN_GAP,
            box_gap=NODE_GAP,
            # Many lines pass each group column; packed tight they read as one bundle.
            dummy_gap=3.0 if collapsed else 10.0,
            left=MARGIN,
            top=MARGIN + HEADER,
        ),
    )
    headings: dict[int, str] = {}
    nodes: list[Node] = []
    for v in vertices.values():
        cx, cy = placement.centres[v.id]
        column = placement.column_of[v.id]
        if v.heading:
            headings.setdefault(column, v.heading)
        nodes.append(
            Node(
                id=v.id,
                kind=v.kind,
                label=_fit(v.label, v.width - 24, LABEL_CHAR),
                status=v.status,
                detail=_fit(v.detail, v.width - 20, DETAIL_CHAR),
                tone=v.tone,
                available=v.available,
                impacted=v.impacted,
                x=round(cx - v.width / 2, 1),
                y=round(cy - v.height / 2, 1),
                width=v.width,
                height=v.height,
                column=column,
                title=v.title,
                members=v.members,
            )
        )
    edges = [
        Edge(source, target, route, graph.edges[(source, target)], vertices[source].available)
        for (source, target), route in placement.routes.items()
    ]
    return Layout(
        nodes=tuple(nodes),
        edges=tuple(edges),
        columns=tuple(
            Column(x, width, headings.get(i, "")) for i, (x, width) in enumerate(placement.columns)
        ),
        width=placement.width,
        height=placement.height,
        collapsed=collapsed,
        notes=tuple(graph.notes),
    )


def _fit(text: str, width: float, per_char: float) -> str:
    """The text, shortened with an ellipsis to about `width` units."""
    most = max(int(width / per_char), 4)
    return text if len(text) <= most else text[: most - 1].rstrip() + "…"


def svg_path(points: tuple[tuple[float, float], ...]) -> str:
    """An SVG path through the points, as cubic curves that leave and arrive horizontally."""
    if not points:
        return ""
    (x, y), rest = points[0], points[1:]
    parts = [f"M{x:.1f},{y:.1f}"]
    for nx, ny in rest:
        bend = (nx - x) / 2
        parts.append(f"C{x + bend:.1f},{y:.1f} {nx - bend:.1f},{ny:.1f} {nx:.1f},{ny:.1f}")
        x, y = nx, ny
    return " ".join(parts)
