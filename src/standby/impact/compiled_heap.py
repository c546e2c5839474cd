"""CPython's heapq, compiled: the event list's heap on parallel arrays (`impact.compiled_day`).

The event list's order of events is fixed by (time, order), but a cut-off walks the heap's
array as it lies, and that array decides in which order the calls cut off call again. So
these are CPython's own algorithms, step for step (Lib/heapq.py, which Modules/_heapqmodule.c
mirrors; its cache-friendly heapify of large heaps sifts the same nodes after their
children, so it leaves the same array): a push appends and sifts down; a pop takes the last
entry, puts it at the root and sifts up to a leaf, then down; heapify sifts up from the
last parent to the root.

An entry is `times[i]` and `ints[i]` = (order, kind, x, y); entries compare as tuples do,
by time and then by order (orders are unique, so nothing further is compared).

Imports numba: imported only when a day is simulated (`impact.engine`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt
from numba import njit

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

ORDER, KIND, X, Y = 0, 1, 2, 3
"""The columns of a heap's integer array (an entry's integers side by side: a sift touches fewer cache lines)."""

_F = TypeVar("_F", bound=Callable[..., Any])
_OPTIONS: dict[str, Any] = {"cache": True, "_nrt": False}  # `_nrt` is not in numba's stubs


def compiled(function: _F) -> _F:
    """`function` compiled by numba, cached on disk, no fast-math (the floats must be Python's).

    Without numba's reference counting (`_nrt=False`): the compiled functions allocate
    nothing, and counting references to the arrays they hand each other took half of
    the loop's time (atomic increments and decrements at every call).
    """
    return cast(_F, njit(**_OPTIONS)(function))


@compiled
def _less(times: FloatArray, ints: IntArray, i: int, j: int) -> bool:
    ti, tj = times[i], times[j]
    return bool(ti < tj or (ti == tj and ints[i, ORDER] < ints[j, ORDER]))


@compiled
def move(times: FloatArray, ints: IntArray, to: int, source: int) -> None:
    """Entry `source` copied over entry `to`."""
    times[to] = times[source]
    ints[to, ORDER] = ints[source, ORDER]
    ints[to, KIND] = ints[source, KIND]
    ints[to, X] = ints[source, X]
    ints[to, Y] = ints[source, Y]


@compiled
def sift_down(times: FloatArray, ints: IntArray, start: int, pos: int) -> None:
    """heapq._siftdown: the entry at `pos` moves towards `start` while it is less than its parent."""
    t, order, kind, x, y = times[pos], ints[pos, ORDER], ints[pos, KIND], ints[pos, X], ints[pos, Y]
    while pos > start:
        parent = (pos - 1) >> 1
        tp = times[parent]
        if t < tp or (t == tp and order < ints[parent, ORDER]):
            move(times, ints, pos, parent)
            pos = parent
            continue
        break
    times[pos] = t
    ints[pos, ORDER], ints[pos, KIND], ints[pos, X], ints[pos, Y] = order, kind, x, y


@compiled
def sift_up(times: FloatArray, ints: IntArray, size: int, pos: int) -> None:
    """heapq._siftup: the smaller child rises until a leaf is free, where the entry goes, then sifts down."""
    start = pos
    t, order, kind, x, y = times[pos], ints[pos, ORDER], ints[pos, KIND], ints[pos, X], ints[pos, Y]
    child = 2 * pos + 1
    while child < size:
        right = child + 1
        if right < size and not _less(times, ints, child, right):
            child = right
        move(times, ints, pos, child)
        pos = child
        child = 2 * pos + 1
    times[pos] = t
    ints[pos, ORDER], ints[pos, KIND], ints[pos, X], ints[pos, Y] = order, kind, x, y
    sift_down(times, ints, start, pos)


@compiled
def push(
    times: FloatArray, ints: IntArray, size: int, t: float, order: int, kind: int, x: int, y: int
) -> int:
    """heapq.heappush onto a heap of `size` entries (the arrays have room); the new size."""
    times[size] = t
    ints[size, ORDER], ints[size, KIND], ints[size, X], ints[size, Y] = order, kind, x, y
    sift_down(times, ints, 0, size)
    return size + 1


@compiled
def pop(times: FloatArray, ints: IntArray, size: int) -> tuple[float, int, int, int, int]:
    """heapq.heappop from a heap of `size` > 0 entries: (time, kind, x, y, new size)."""
    last = size - 1
    t, kind, x, y = times[0], ints[0, KIND], ints[0, X], ints[0, Y]
    if last > 0:
        move(times, ints, 0, last)
        sift_up(times, ints, last, 0)
    return t, kind, x, y, last


@compiled
def heapify(times: FloatArray, ints: IntArray, size: int) -> None:
    """heapq.heapify of the first `size` entries."""
    for i in range(size // 2 - 1, -1, -1):
        sift_up(times, ints, size, i)
