"""What one simulated day leaves behind: every attempt and every callback, as numpy arrays.

Both engines (`impact.engine`, `impact.pool`) write the same record; `impact.tally`
turns it into the figures of `impact.results`. Times are seconds since midnight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

ANSWERED, ABANDONED, UNREACHABLE, DEFLECTED, WAITING = 0, 1, 2, 3, 4
"""How an attempt ended: answered; hung up waiting; met a dead line (or was on hold when
the queue became unreachable); hung up on hearing the outage message; still waiting
when the day ended."""

CALLBACK_GRACE_S = 15 * 60.0
"""A callback not started within this many seconds of its due time is missed."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class DayRecord:
    """Every attempt of one simulated day and every callback due in it.

    `end` is when the attempt stopped waiting: answered, abandoned (its deadline), met a
    dead line or was deflected (its arrival), cut off while on hold (the cut); infinite
    while still waiting. `service_end` is when an answered call ended (NaN otherwise);
    `cut` marks answered calls cut off by the outage. A callback's `callback_start` is
    NaN when it was missed.
    """

    queue: IntArray
    customer: IntArray
    attempt: IntArray
    time: FloatArray
    outcome: npt.NDArray[np.int8]
    end: FloatArray
    service_end: FloatArray
    cut: BoolArray
    callback_start: FloatArray
    callback_end: FloatArray

    def sorted(self) -> DayRecord:
        """The same record with attempts ordered by (customer, attempt): engines add them in any order."""
        order = np.lexsort((self.attempt, self.customer))
        return DayRecord(
            self.queue[order],
            self.customer[order],
            self.attempt[order],
            self.time[order],
            self.outcome[order],
            self.end[order],
            self.service_end[order],
            self.cut[order],
            self.callback_start,
            self.callback_end,
        )


def make_record(
    queue: list[int],
    customer: list[int],
    attempt: list[int],
    time: list[float],
    outcome: list[int],
    end: list[float],
    service_end: list[float],
    cut: list[bool],
    callback_start: list[float],
    callback_end: list[float],
) -> DayRecord:
    """A record from the engines' lists."""
    return DayRecord(
        np.asarray(queue, dtype=np.int64),
        np.asarray(customer, dtype=np.int64),
        np.asarray(attempt, dtype=np.int64),
        np.asarray(time, dtype=np.float64),
        np.asarray(outcome, dtype=np.int8),
        np.asarray(end, dtype=np.float64),
        np.asarray(service_end, dtype=np.float64),
        np.asarray(cut, dtype=np.bool_),
        np.asarray(callback_start, dtype=np.float64),
        np.asarray(callback_end, dtype=np.float64),
    )
