"""A generic layered (Sugiyama-style) drawing of a directed acyclic graph, left to right.

Pure and deterministic: the same boxes and edges in the same order always give the same
picture. Boxes sit in columns by rank; an edge spanning several columns passes through
invisible dummy points so it can be routed between boxes; barycentre sweeps reduce the
crossings (the order with the fewest is kept); vertical positions are then pulled
towards each box's neighbours by isotonic regression, which keeps the column order and
the gaps while making edges as straight as that order allows. Every step is linear or
n log n per sweep with a fixed number of sweeps, so large inputs cannot hang it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

Point = tuple[float, float]

ORDER_SWEEPS = 8
POSITION_SWEEPS = 6


@dataclass(frozen=True)
class Box:
    """Something to place: its column comes from `rank` (any integers; gaps are closed up)."""

    id: str
    rank: int
    width: float
    height: float


@dataclass(frozen=True)
class Spacing:
    """Distances between things, in drawing units."""

    column_gap: float = 64.0
    box_gap: float = 14.0
    dummy_gap: float = 10.0
    left: float = 24.0
    top: float = 24.0


@dataclass(frozen=True)
class Placement:
    """Where everything went: box centres, columns (x, width) and each edge's route."""

    centres: Mapping[str, Point]
    column_of: Mapping[str, int]
    columns: tuple[tuple[float, float], ...]
    routes: Mapping[tuple[str, str], tuple[Point, ...]]
    width: float
    height: float


def layered(
    boxes: Sequence[Box], edges: Sequence[tuple[str, str]], spacing: Spacing = Spacing()
) -> Placement:
    """Place `boxes` in columns by rank and route `edges` (source left of target) between them."""
    size = {b.id: (b.width, b.height) for b in boxes}
    ranks = sorted({b.rank for b in boxes})
    index_of_rank = {rank: index for index, rank in enumerate(ranks)}
    column_of = {b.id: index_of_rank[b.rank] for b in boxes}
    columns: list[list[str]] = [[] for _ in ranks]
    for b in boxes:
        columns[column_of[b.id]].append(b.id)
    preds: dict[str, list[str]] = {b.id: [] for b in boxes}
    succs: dict[str, list[str]] = {b.id: [] for b in boxes}
    chains: dict[tuple[str, str], list[str]] = {}
    dummy_column: dict[str, int] = {}
    for source, target in edges:
        if source not in size or target not in size or (source, target) in chains:
            continue
        start, end = column_of[source], column_of[target]
        if end <= start:
            continue  # only a cycle or a same-rank edge does this: it is not drawn
        chain = [source]
        for col in range(start + 1, end):
            dummy = f"\0{source}>{target}#{col}"  # NUL: never collides with a real id
            dummy_column[dummy] = col
            size[dummy] = (0.0, 0.0)
            preds[dummy], succs[dummy] = [], []
            columns[col].append(dummy)
            chain.append(dummy)
        chain.append(target)
        for before, after in pairwise(chain):
            succs[before].append(after)
            preds[after].append(before)
        chains[(source, target)] = chain

    _order(columns, preds, succs)
    ys = _vertical_positions(columns, size, preds, succs, spacing)

    xs: list[tuple[float, float]] = []
    x = spacing.left
    for column in columns:
        width = max(size[v][0] for v in column)
        xs.append((x, width))
        x += width + spacing.column_gap
    centres = {vid: (xs[i][0] + xs[i][1] / 2, ys[vid]) for i, column in enumerate(columns) for vid in column}
    routes: dict[tuple[str, str], tuple[Point, ...]] = {}
    for (source, target), chain in chains.items():
        (sx, sy), (tx, ty) = centres[source], centres[target]
        through: list[Point] = []
        for dummy in chain[1:-1]:
            # Straight across the column the dummy stands in, so that the curves bend only
            # in the gaps between columns and never across a box.
            left, width = xs[dummy_column[dummy]]
            through += [(left, ys[dummy]), (left + width, ys[dummy])]
        routes[(source, target)] = (
            (sx + size[source][0] / 2, sy),
            *through,
            (tx - size[target][0] / 2, ty),
        )
    bottom = max((ys[b.id] + b.height / 2 for b in boxes), default=spacing.top)
    return Placement(
        centres={b.id: centres[b.id] for b in boxes},
        column_of=column_of,
        columns=tuple(xs),
        routes=routes,
        width=round(x - spacing.column_gap + spacing.left, 1) if columns else 2 * spacing.left,
        height=round(bottom + spacing.top, 1),
    )


def _order(columns: list[list[str]], preds: Mapping[str, list[str]], succs: Mapping[str, list[str]]) -> None:
    """Reorder each column in place by barycentre sweeps, keeping the order with fewest crossings."""
    best = [list(col) for col in columns]
    best_crossings = crossings(columns, succs)
    for sweep in range(ORDER_SWEEPS):
        if best_crossings == 0:
            break
        down = sweep % 2 == 0
        indices = range(1, len(columns)) if down else range(len(columns) - 2, -1, -1)
        neighbours = preds if down else succs
        for i in indices:
            fixed = {vid: p for p, vid in enumerate(columns[i - 1] if down else columns[i + 1])}
            current = {vid: p for p, vid in enumerate(columns[i])}
            keys: dict[str, tuple[float, int]] = {}
            for vid in columns[i]:
                near = [fixed[n] for n in neighbours[vid] if n in fixed]
                # Without neighbours a box keeps its place; ties keep the current order.
                centre = sum(near) / len(near) if near else float(current[vid])
                keys[vid] = (centre, current[vid])
            columns[i].sort(key=keys.__getitem__)
        count = crossings(columns, succs)
        if count < best_crossings:
            best, best_crossings = [list(col) for col in columns], count
    columns[:] = best


def crossings(columns: Sequence[Sequence[str]], succs: Mapping[str, list[str]]) -> int:
    """How many pairs of edges cross between neighbouring columns, for this order."""
    total = 0
    for left, right in pairwise(columns):
        position = {vid: p for p, vid in enumerate(right)}
        ends = sorted((p, position[s]) for p, vid in enumerate(left) for s in succs[vid] if s in position)
        total += _inversions([end for _, end in ends])
    return total


def _inversions(values: list[int]) -> int:
    """Pairs out of order, by merge sort: n log n, so long columns stay cheap."""
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
    size: Mapping[str, tuple[float, float]],
    preds: Mapping[str, list[str]],
    succs: Mapping[str, list[str]],
    spacing: Spacing,
) -> dict[str, float]:
    """Centre y of each box: near its neighbours' mean, in column order, never overlapping."""

    def gap(a: str, b: str) -> float:
        dummy = size[a][1] == 0.0 or size[b][1] == 0.0
        return (size[a][1] + size[b][1]) / 2 + (spacing.dummy_gap if dummy else spacing.box_gap)

    gaps = [[gap(a, b) for a, b in pairwise(col)] for col in columns]
    tallest = max((sum(g) for g in gaps), default=0.0)
    y: dict[str, float] = {}
    for col, col_gaps in zip(columns, gaps, strict=True):
        offset = (tallest - sum(col_gaps)) / 2  # short columns start centred against the tallest
        for index, vid in enumerate(col):
            offset += col_gaps[index - 1] if index else 0.0
            y[vid] = offset
    for sweep in range(POSITION_SWEEPS):
        down = sweep % 2 == 0
        both = sweep >= POSITION_SWEEPS - 2  # the last sweeps balance both sides
        order = range(len(columns)) if down else range(len(columns) - 1, -1, -1)
        for i in order:
            wanted = []
            for vid in columns[i]:
                near = (preds if down else succs)[vid]
                if both:
                    near = preds[vid] + succs[vid]
                wanted.append(sum(y[n] for n in near) / len(near) if near else y[vid])
            for vid, value in zip(columns[i], _pack(wanted, gaps[i]), strict=True):
                y[vid] = value
    lowest = min((y[v] - size[v][1] / 2 for col in columns for v in col), default=0.0)
    return {vid: round(value - lowest + spacing.top, 1) for vid, value in y.items()}


def _pack(wanted: list[float], gaps: list[float]) -> list[float]:
    """Positions closest to `wanted` (least squares) that keep the order and the gaps.

    Subtracting each position's cumulative gap turns this into isotonic regression,
    solved exactly by pooling adjacent violators.
    """
    offsets = [0.0]
    for g in gaps:
        offsets.append(offsets[-1] + g)
    blocks: list[list[float]] = []  # [sum, count] of pooled targets
    for w, o in zip(wanted, offsets, strict=True):
        blocks.append([w - o, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            total, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += count
    fitted: list[float] = []
    for total, count in blocks:
        fitted.extend([total / count] * int(count))
    return [f + o for f, o in zip(fitted, offsets, strict=True)]
