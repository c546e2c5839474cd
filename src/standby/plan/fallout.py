"""What falls with what, for every component at once: the single points of failure in bounded work.

Failing each component in turn and keeping what falls costs the sum of all blast
radii: a 20,000-long chain is 200 million ids. Instead, for every node we compute
its *killers*, the components whose failure alone brings it down, as one integer
used as a bitset over component positions, in one pass in dependency order:

- a component is killed by itself and by whatever kills any of its requirements;
- a requirement (one component, or an any_of group) is killed by what kills every
  one of its members (the intersection);
- a site or a queue is killed by whatever kills any of its requirements; a queue
  is left unanswered by what kills every site answering it, unless that already
  makes it unreachable.

That is exact on an acyclic plan (the loader rejects cycles; the topology falls back
to failing each component on a cyclic one). What each component kills is then the
columns of that bit matrix: a bit-sliced counter sums them and one pass in plan
order keeps the first few names of each column, so the output is bounded too.

Pure: positions in, positions out; the topology maps them to ids.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import add

Groups = Sequence[Sequence[int]]
"""A node's requirements, each the component positions it needs one of."""

_BITS_OF_BYTE = tuple(tuple((byte >> bit) & 1 for bit in range(8)) for byte in range(256))
"""Each byte's eight bits, lowest first: a plane of the counter is unpacked a byte at a time."""


@dataclass(frozen=True)
class Killers:
    """Per node, the bitset of components whose failure alone brings it down (never itself)."""

    components: list[int]
    sites: list[int]
    queues_unreachable: list[int]
    queues_unanswered: list[int]


def dependency_order(requirements: Sequence[Groups]) -> list[int] | None:
    """Component positions, each after everything it needs; None if the components have a cycle."""
    count = len(requirements)
    waiting = [0] * count
    needed_by: list[list[int]] = [[] for _ in range(count)]
    for c, groups in enumerate(requirements):
        needs = {m for group in groups for m in group}
        waiting[c] = len(needs)
        for d in needs:
            needed_by[d].append(c)
    ready = [c for c in range(count) if waiting[c] == 0]
    order: list[int] = []
    while ready:
        c = ready.pop()
        order.append(c)
        for user in needed_by[c]:
            waiting[user] -= 1
            if waiting[user] == 0:
                ready.append(user)
    return order if len(order) == count else None


def _needed(killers: Sequence[int], groups: Groups) -> int:
    """What kills any of these requirements: the union over groups of each group's intersection."""
    found = 0
    for group in groups:
        common = killers[group[0]]
        for member in group[1:]:
            if not common:
                break
            common &= killers[member]
        found |= common
    return found


def killers(
    order: Sequence[int],
    components: Sequence[Groups],
    sites: Sequence[Groups],
    queues: Sequence[Groups],
    answering: Sequence[Sequence[int]],
) -> Killers:
    """Every node's killers, given the components in dependency order and who answers each queue."""
    rows = [0] * len(components)
    for c in order:
        rows[c] = (1 << c) | _needed(rows, components[c])
    site_rows = [_needed(rows, groups) for groups in sites]
    unreachable = [_needed(rows, groups) for groups in queues]
    unanswered = []
    for q, answered_by in enumerate(answering):
        left_unanswered = 0
        if answered_by:
            left_unanswered = site_rows[answered_by[0]]
            for s in answered_by[1:]:
                left_unanswered &= site_rows[s]
        unanswered.append(left_unanswered & ~unreachable[q])
    for c in range(len(rows)):
        rows[c] ^= 1 << c  # a component's own failure is not part of its blast radius
    return Killers(rows, site_rows, unreachable, unanswered)


def set_bits(value: int) -> Iterator[int]:
    """Positions of the set bits of a non-negative integer, lowest first."""
    if not value:
        return
    # Shift the lowest set bit down first: the bits of one row's hits sit close
    # together, so the text below stays short even in a 20,000-bit row.
    low = (value & -value).bit_length() - 1
    text = bin(value >> low)
    top = len(text) - 1 + low
    at = text.rfind("1", 2)
    while at >= 2:
        yield top - at
        at = text.rfind("1", 2, at)


@dataclass(frozen=True)
class Columns:
    """For each wanted column of a bit matrix: how many rows have it set, and the first rows."""

    counts: tuple[int, ...]
    first: dict[int, list[int]]

    def count(self, column: int) -> int:
        """How many rows have this column set."""
        return self.counts[column] if column < len(self.counts) else 0

    def rows(self, column: int) -> list[int]:
        """The first rows (in row order) that have this column set."""
        return self.first.get(column, [])


def columns(rows: Sequence[int], wanted: int, shown: int) -> Columns:
    """Column sums of the `wanted` columns and the first `shown` rows of each, in one pass."""
    planes: list[int] = []  # planes[j] holds bit j of every column's running count
    first: dict[int, list[int]] = {}
    need = wanted if shown > 0 else 0
    for position, full_row in enumerate(rows):
        row = full_row & wanted
        if not row:
            continue
        carry = row
        for j, plane in enumerate(planes):
            planes[j] = plane ^ carry
            carry &= plane
            if not carry:
                break
        else:
            planes.append(carry)
        hits = row & need
        if hits:
            for column in set_bits(hits):
                names = first.setdefault(column, [])
                names.append(position)
                if len(names) >= shown:
                    need ^= 1 << column
    # Each plane's bits, weighted by the plane's place, summed column by column. Plain Python
    # (maps over bytes, no loop per bit) rather than numpy: on a 20,000-column plane it costs
    # milliseconds, where importing numpy would cost every audit about 80 ms and 20 MB.
    width = wanted.bit_length()
    size = (width + 7) // 8
    counts = [0] * width
    for j, plane in enumerate(planes):
        # Every row was masked by `wanted`, so no plane is wider than it; map stops at `width`.
        bits = chain.from_iterable(map(_BITS_OF_BYTE.__getitem__, plane.to_bytes(size, "little")))
        counts = list(map(add, counts, map((1 << j).__mul__, bits)))
    return Columns(tuple(counts), first)
