"""`impact.tally`'s counting, compiled by numba: a few passes over the attempts instead of some twenty.

The figures are the numpy tally's, bit for bit (tests/unit/test_simulation_compiled.py):
every float is made by the same operations, and every sum adds the same terms in the same
order as numpy's `bincount` does (element by element, in the record's order); where the
numpy tally adds two sums, so does this. Counts are whole numbers, held exactly.

Imports numba: imported by `impact.tally` only where the compiled engine has been loaded.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from standby.impact.compiled_heap import compiled
from standby.impact.records import ABANDONED, ANSWERED, DEFLECTED, UNREACHABLE

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Int8Array = npt.NDArray[np.int8]
BoolArray = npt.NDArray[np.bool_]

# The columns of `counts`, as `impact.tally` numbers them.
OFFERED, ANSWERED_COUNT, IN_TARGET, ABANDONED_COUNT, UNREACHABLE_COUNT, DEFLECTED_COUNT, WAIT_SUM = range(7)


@compiled
def _boundary(value: float, day_start: float, interval: float, m: int) -> int:
    """The interval at whose end a time counts (`tally._by_boundary`); m for nowhere."""
    first = math.ceil((value - day_start) / interval) - 1
    return min(max(first, 0), m)


@compiled
def count_attempts(
    queue: IntArray,
    time: FloatArray,
    outcome: Int8Array,
    end: FloatArray,
    cut: BoolArray,
    customer: IntArray,
    thresholds: FloatArray,
    grid: FloatArray,
    counts: FloatArray,
    backlog: FloatArray,
    hit: BoolArray,
    through: BoolArray,
    called: BoolArray,
    tolerance_row: IntArray,
    by_minute: FloatArray,
    steps: IntArray,
) -> int:
    """Each attempt into its cell's counts, the backlog, the customers' flags, the minutes unanswered.

    `grid` = (day start s, interval s, 1 / interval s, intervals); the arrays written are
    zeros (`steps`: [queue, interval + 1], for the backlog). Returns the attempts not answered.
    """
    day_start, interval, per, m = grid[0], grid[1], grid[2], int(grid[3])
    nq = backlog.shape[0]
    minutes = by_minute.shape[1]
    unanswered = 0
    for i in range(time.shape[0]):
        q, t, o, e = queue[i], time[i], outcome[i], end[i]
        cell = q * m + min(int((t - day_start) * per), m - 1)
        answered = o == ANSWERED
        wait = e - t if answered else 0.0
        counts[cell, OFFERED] += 1.0
        if answered:
            counts[cell, ANSWERED_COUNT] += 1.0
        counts[cell, IN_TARGET] += 1.0 if answered and wait <= thresholds[q] else 0.0
        if o == ABANDONED:
            counts[cell, ABANDONED_COUNT] += 1.0
        elif o == UNREACHABLE:
            counts[cell, UNREACHABLE_COUNT] += 1.0
        elif o == DEFLECTED:
            counts[cell, DEFLECTED_COUNT] += 1.0
        counts[cell, WAIT_SUM] += wait
        steps[q, _boundary(t, day_start, interval, m)] += 1  # t is finite
        if math.isfinite(e):
            steps[q, _boundary(e, day_start, interval, m)] -= 1
        c = customer[i]
        called[c] = True
        if answered:
            through[c] = True
        else:
            unanswered += 1
            if math.isfinite(e) and tolerance_row[q] >= 0:
                minute = int(e // 60.0)
                if minute < minutes:
                    by_minute[tolerance_row[q], minute] += 1.0
        if not answered or wait > thresholds[q] or cut[i]:
            hit[c] = True
    for q in range(nq):
        running = 0
        for j in range(m):
            running += steps[q, j]
            backlog[q, j] = running
    return unanswered


@compiled
def busy_parts(
    starts: FloatArray,
    ends: FloatArray,
    queue: IntArray,
    pick: BoolArray,
    grid: FloatArray,
    first_part: FloatArray,
    last_part: FloatArray,
    steps: IntArray,
) -> bool:
    """The picked calls' time busy, summed as `tally._busy`'s two bincounts and its steps; any spans.

    Called for the answered calls, then for the callbacks made, on the same sums: the numpy
    tally's calls are these, one after the other.
    """
    m = int(grid[3])
    length, day_start, per = grid[1], grid[0], grid[2]
    bound = m * length
    spans = False
    for i in range(starts.shape[0]):
        if not pick[i]:
            continue
        s = min(starts[i] - day_start, bound)
        e = min(ends[i] - day_start, bound)
        first = min(int(s * per), m - 1)
        last = min(int(e * per), m - 1)
        q = queue[i]
        if first == last:
            first_part[q * m + first] += e - s
            last_part[q * m + last] += 0.0
        else:
            first_part[q * m + first] += (first + 1) * length - s
            last_part[q * m + last] += e - last * length
            if last > first + 1:
                spans = True
                steps[q, first + 1] += 1
                steps[q, last] -= 1
    return spans
