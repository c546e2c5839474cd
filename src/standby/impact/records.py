"""What one simulated day leaves behind: every attempt and every callback, as numpy arrays.

Both engines (`impact.engine`, `impact.pool`) write the same record; `impact.tally`
turns it into the figures of `impact.results`. Times are seconds since midnight.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

ANSWERED, ABANDONED, UNREACHABLE, DEFLECTED, WAITING = 0, 1, 2, 3, 4
"""How an attempt ended: answered; hung up waiting; met a dead line (or was on hold when
the queue became unreachable); hung up on hearing the outage message; still waiting
when the day ended."""

CALLBACK_GRACE_S = 15 * 60.0
"""A callback not started within this many seconds of its due time is missed."""

if TYPE_CHECKING:  # draws imports records: only the type is needed here
    from standby.impact.draws import Draws

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


class AttemptLog:
    """The attempts of one day as growing lists, for the engines' hot loops.

    First calls come from the draws; a caller's next attempt is appended by `add_retry`
    with its own draws, so both engines give the same attempt the same numbers.
    """

    def __init__(self, draws: Draws, *, retries: bool = True) -> None:
        """The day's first calls, all still waiting (`retries` False: nobody calls again; no `add_retry`,
        and no lists of the draws an engine reads only for some calls)."""
        self.draws = draws
        # Without retries the list of times is never appended to: the replication's own is shared.
        self.t: list[float] = draws.time.tolist() if retries else draws.time_list
        n = len(self.t)
        # Without retries, the numbers only a caller's next attempt needs are not made into lists,
        # nor those an engine reads for few calls (handling, deadline, deflection: from the draws).
        self.service: list[float] = draws.service.tolist() if retries else []
        self.deadline: list[float] = draws.deadline.tolist() if retries else []
        self.deflect_u: list[float] = draws.deflect.tolist() if retries else []
        self.local: list[int] = draws.local.tolist() if retries else []
        self.retry_u: list[float] = draws.retry.tolist() if retries else []
        self.delay: list[float] = draws.delay.tolist() if retries else []
        self.customer = list(range(n)) if retries else []
        self.attempt = [0] * n
        self.outcome = [WAITING] * n
        self.end = [math.inf] * n
        self.service_end = [math.nan] * n
        self.cut = [False] * n

    def add_retry(self, c: int, when: float, queue: int) -> int:
        """Append the next attempt of attempt c's caller, calling `queue` at `when`; its index."""
        number = self.attempt[c] + 1
        service, patience, deflect, retry, delay = self.draws.attempt_lists(queue, number)
        i = self.local[c]
        self.t.append(when)
        self.local.append(i)
        self.customer.append(self.customer[c])
        self.attempt.append(number)
        self.service.append(service[i])
        self.deadline.append(when + patience[i])
        self.deflect_u.append(deflect[i])
        self.retry_u.append(retry[i])
        self.delay.append(delay[i])
        self.outcome.append(WAITING)
        self.end.append(math.inf)
        self.service_end.append(math.nan)
        self.cut.append(False)
        return len(self.t) - 1

    def record(
        self,
        queue: list[int],
        outcome: list[int],
        callback_start: list[float],
        callback_end: list[float],
    ) -> DayRecord:
        """The day's record; where nobody called again, the first calls' arrays are the draws' own."""
        draws = self.draws
        n = len(self.t)
        if n != len(draws.time):
            return make_record(
                queue, self.customer, self.attempt, self.t, outcome, self.end,
                self.service_end, self.cut, callback_start, callback_end,
            )  # fmt: skip
        return DayRecord(
            draws.queue,
            np.arange(n, dtype=np.int64),
            np.zeros(n, dtype=np.int64),
            draws.time,
            np.asarray(outcome, dtype=np.int8),
            np.asarray(self.end, dtype=np.float64),
            np.asarray(self.service_end, dtype=np.float64),
            np.asarray(self.cut, dtype=np.bool_),
            np.asarray(callback_start, dtype=np.float64),
            np.asarray(callback_end, dtype=np.float64),
        )
