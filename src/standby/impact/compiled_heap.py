"""CPython's heapq, compiled: the event list's heap on parallel arrays (`impact.compiled_day`).

The event list's order of events is fixed by (time, order), but a cut-off walks the heap's
array as it lies, and that array decides in which order the calls cut off call again. So
these are CPython's own algorithms, step for step (Lib/heapq.py, which Modules/_heapqmodule.c
mirrors; its cache-friendly heapify of large heaps sifts the same nodes after their
children, so it leaves the same array): a push appends and sifts down; a pop takes the last
entry, puts it at the root and sifts up to a leaf, then down; heapify sifts up from the
last parent to the root.

An entry is a row of one float array: (time, order, kind, x, y), the integers held exactly
as floats (below 2**53); entries compare as tuples do, by time and then by order (orders
are unique, so nothing further is compared).

Imports numba: imported only when a day is simulated (`impact.engine`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt
from numba import njit

FloatArray = npt.NDArray[np.float64]

TIME, ORDER, KIND, X, Y = 0, 1, 2, 3, 4
"""The columns of a heap's array: an entry is one row, so that a sift reads few cache lines."""

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
def _less(heap: FloatArray, i: int, j: int) -> bool:
    ti, tj = heap[i, TIME], heap[j, TIME]
    return bool(ti < tj or (ti == tj and heap[i, ORDER] < heap[j, ORDER]))


@compiled
def move(heap: FloatArray, to: int, source: int) -> None:
    """Entry `source` copied over entry `to`."""
    for k in range(5):
        heap[to, k] = heap[source, k]


@compiled
def sift_down(heap: FloatArray, start: int, pos: int) -> None:
    """heapq._siftdown: the entry at `pos` moves towards `start` while it is less than its parent."""
    t, order, kind, x, y = heap[pos, TIME], heap[pos, ORDER], heap[pos, KIND], heap[pos, X], heap[pos, Y]
    while pos > start:
        parent = (pos - 1) >> 1
        tp = heap[parent, TIME]
        if t < tp or (t == tp and order < heap[parent, ORDER]):
            move(heap, pos, parent)
            pos = parent
            continue
        break
    heap[pos, TIME], heap[pos, ORDER], heap[pos, KIND], heap[pos, X], heap[pos, Y] = t, order, kind, x, y


@compiled
def sift_up(heap: FloatArray, size: int, pos: int) -> None:
    """heapq._siftup: the smaller child rises until a leaf is free, where the entry goes, then sifts down."""
    start = pos
    t, order, kind, x, y = heap[pos, TIME], heap[pos, ORDER], heap[pos, KIND], heap[pos, X], heap[pos, Y]
    child = 2 * pos + 1
    while child < size:
        right = child + 1
        if right < size and not _less(heap, child, right):
            child = right
        move(heap, pos, child)
        pos = child
        child = 2 * pos + 1
    heap[pos, TIME], heap[pos, ORDER], heap[pos, KIND], heap[pos, X], heap[pos, Y] = t, order, kind, x, y
    sift_down(heap, start, pos)


@compiled
def push(heap: FloatArray, size: int, t: float, order: int, kind: int, x: int, y: int) -> int:
    """heapq.heappush onto a heap of `size` entries (the array has room); the new size."""
    heap[size, TIME], heap[size, ORDER], heap[size, KIND], heap[size, X], heap[size, Y] = t, order, kind, x, y
    sift_down(heap, 0, size)
    return size + 1


@compiled
def pop(heap: FloatArray, size: int) -> tuple[float, int, int, int, int]:
    """heapq.heappop from a heap of `size` > 0 entries: (time, kind, x, y, new size)."""
    last = size - 1
    t, kind, x, y = heap[0, TIME], int(heap[0, KIND]), int(heap[0, X]), int(heap[0, Y])
    if last > 0:
        move(heap, 0, last)
        sift_up(heap, last, 0)
    return t, kind, x, y, last


@compiled
def heapify(heap: FloatArray, size: int) -> None:
    """heapq.heapify of the first `size` entries."""
    for i in range(size // 2 - 1, -1, -1):
        sift_up(heap, size, i)
