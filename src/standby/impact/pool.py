"""The fast path: one queue answered by one pool of identical agents, first come, first served.

With one queue and identical agents, FCFS with abandonment needs no event list
(Kiefer and Wolfowitz): take the calls in order of arrival; the earliest time an
agent is free is the top of a heap of the agents' free times; a call that arrives
before it would be answered then, and is answered if that is no later than its
deadline (arrival plus patience), the agent being free again at the answer plus the
handling time; otherwise the caller abandons at the deadline and no agent is used.
Each call costs one comparison and at most one `heapreplace`. Retries are merged into
the arrivals from a second heap, and the outage's changes from a sorted list.

It applies when the day has a single queue with calls, no callbacks, and a single
group of agents whose number only rises at the start of its shift and falls at its
end (an outage may make the queue unreachable, slow its handling or play the outage
message). Agents still free at their shift's end go home; busy ones finish their call.
Its record is the general engine's, attempt for attempt (tests/unit/test_simulation_engine.py).
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math

import numpy as np

from standby.impact.day import CAPACITY, DEFLECT, FACTOR, REACH, Change, DayModel
from standby.impact.draws import MAX_ATTEMPTS, Draws
from standby.impact.records import (
    ABANDONED,
    ANSWERED,
    DEFLECTED,
    UNREACHABLE,
    WAITING,
    AttemptLog,
    DayRecord,
    make_record,
)

_INF = math.inf


def _demand(model: DayModel) -> list[int]:
    return [q for q, spec in enumerate(model.queues) if sum(spec.calls) > 0]


def pool_applies(model: DayModel) -> bool:
    """Whether the day is one FCFS pool that `simulate_pool` runs exactly."""
    demand = _demand(model)
    if len(demand) != 1 or model.callbacks:
        return False
    steps = [c for c in model.changes if c.kind == CAPACITY]
    if not steps or len({c.target for c in steps}) != 1 or any(c.cut for c in steps):
        return False
    if demand[0] not in model.groups[steps[0].target].skills:
        return False
    values = [c.value for c in steps]
    return values in ([values[0]], [values[0], 0.0]) and values[0] > 0


def simulate_pool(model: DayModel, draws: Draws) -> DayRecord:
    """One day of a single FCFS pool, by the recursion on the agents' free times."""
    (queue,) = _demand(model)
    spec = model.queues[queue]
    steps = [c for c in model.changes if c.kind == CAPACITY]
    shift_start, agents = steps[0].time, int(steps[0].value)
    end_s = model.end_s
    limit = min(steps[1].time if len(steps) > 1 else _INF, end_s)  # no call is answered from here on
    changes = [c for c in model.changes if c.target == queue and c.kind != CAPACITY and c.time < end_s]
    if not changes and spec.retry_share == 0:
        return _plain(draws, queue, shift_start, agents, limit, end_s)
    free = [shift_start] * agents  # equal values: already a heap
    return _Pool(model, draws, queue, free, limit).run(changes)


def _plain(
    draws: Draws, queue: int, shift_start: float, agents: int, limit: float, end_s: float
) -> DayRecord:
    """The recursion with nothing but arrivals, handling and patience: the benchmark's day.

    Only the answer times come out of the loop; outcomes follow from them with numpy.
    """
    heapreplace = heapq.heapreplace
    time, service, deadline = draws.time, draws.service, draws.deadline
    n = int(np.searchsorted(time, end_s))  # arrivals are sorted; none after the day counts
    free = [shift_start] * agents  # equal values: already a heap
    starts: list[float] = []
    answer = starts.append
    nan = math.nan
    for now, handling, patience_ends in zip(
        time[:n].tolist(), service[:n].tolist(), deadline[:n].tolist(), strict=True
    ):
        f = free[0]
        start = f if f > now else now
        if start < limit and start <= patience_ends:
            heapreplace(free, start + handling)
            answer(start)
        else:
            answer(nan)
    start_at = np.asarray(starts, dtype=np.float64)
    answered = ~np.isnan(start_at)
    gave_up = ~answered & (deadline[:n] < end_s)
    outcome = np.full(n, WAITING, dtype=np.int8)
    outcome[answered] = ANSWERED
    outcome[gave_up] = ABANDONED
    end = np.where(answered, start_at, np.where(gave_up, deadline[:n], _INF))
    return DayRecord(
        queue=np.full(n, queue, dtype=np.int64),
        customer=np.arange(n, dtype=np.int64),
        attempt=np.zeros(n, dtype=np.int64),
        time=time[:n],
        outcome=outcome,
        end=end,
        service_end=start_at + service[:n],
        cut=np.zeros(n, dtype=np.bool_),
        callback_start=np.zeros(0),
        callback_end=np.zeros(0),
    )


class _Pool(AttemptLog):
    """The recursion with retries, and an outage's dead line, message and slower handling."""

    def __init__(self, model: DayModel, draws: Draws, queue: int, free: list[float], limit: float) -> None:
        super().__init__(draws)
        self.queue, self.free, self.limit = queue, free, limit
        self.end_s = model.end_s
        self.share = model.queues[queue].retry_share
        self.retries: list[tuple[float, int, int]] = []
        self.seq = itertools.count()
        factors = [c for c in model.changes if c.target == queue and c.kind == FACTOR]
        self.factor_times = [c.time for c in factors]
        self.factor_values = [1.0] + [c.value for c in factors]

    def factor_at(self, when: float) -> float:
        """The handling factor in force at `when` (changes at that very moment included)."""
        return self.factor_values[bisect.bisect_right(self.factor_times, when)]

    def retry(self, c: int, at: float) -> None:
        """The caller of attempt c may call again after a delay (as the general engine does)."""
        k = self.attempt[c]
        if self.retry_u[c] >= self.share or k + 1 >= MAX_ATTEMPTS:
            return
        when = at + self.delay[c]
        if when >= self.end_s:
            return
        c2 = self.add_retry(c, when, self.queue)
        heapq.heappush(self.retries, (when, next(self.seq), c2))

    def cut_in_progress(self, at: float) -> None:
        """The queue becomes unreachable at `at`: the calls in progress are cut off, their agents freed."""
        outcome, service_end, cut = self.outcome, self.service_end, self.cut
        for c in range(len(self.t)):
            if outcome[c] == ANSWERED and not cut[c] and service_end[c] >= at:
                service_end[c] = at
                cut[c] = True
                self.retry(c, at)
        self.free[:] = [min(f, at) for f in self.free]
        heapq.heapify(self.free)

    def run(self, changes: list[Change]) -> DayRecord:
        """Simulate the day; return its record."""
        outcome, end, service_end = self.outcome, self.end, self.service_end
        t, service, deadline, deflect_u = self.t, self.service, self.deadline, self.deflect_u
        free, limit, end_s, retries = self.free, self.limit, self.end_s, self.retries
        heapreplace, heappop, retry, factor_at = heapq.heapreplace, heapq.heappop, self.retry, self.factor_at
        cuts = [c.time for c in changes if c.kind == REACH and c.value == 0] + [_INF]
        next_cut = cuts[0]
        reach, deflect = True, 0.0
        next_change = changes[0].time if changes else _INF
        remaining = len(changes)
        first, i, ci = len(t), 0, 0
        while True:
            now = t[i] if i < first else _INF
            from_retry = bool(retries) and retries[0][0] <= now
            if from_retry:
                now = retries[0][0]
            if remaining and next_change <= now:
                change = changes[ci]
                ci += 1
                remaining -= 1
                next_change = changes[ci].time if remaining else _INF
                if change.kind == REACH:
                    reach = change.value > 0
                    if not reach:
                        self.cut_in_progress(change.time)
                        cuts.pop(0)
                        next_cut = cuts[0]
                elif change.kind == DEFLECT:
                    deflect = change.value
                continue
            if now >= end_s:
                break
            if from_retry:
                c = heappop(retries)[2]
            else:
                c = i
                i += 1
            if not reach:
                outcome[c], end[c] = UNREACHABLE, now
                retry(c, now)
                continue
            if deflect and deflect_u[c] < deflect:
                outcome[c], end[c] = DEFLECTED, now
                retry(c, now)
                continue
            f = free[0]
            start = f if f > now else now
            patience_ends = deadline[c]
            served = start < limit and start <= patience_ends
            waited_until = start if served else patience_ends
            if waited_until >= next_cut and next_cut < end_s:  # the line dies while they wait
                outcome[c], end[c] = UNREACHABLE, next_cut
                retry(c, next_cut)
            elif served:
                done = start + service[c] * factor_at(start)
                heapreplace(free, done)
                outcome[c], end[c], service_end[c] = ANSWERED, start, done
            elif patience_ends < end_s:
                outcome[c], end[c] = ABANDONED, patience_ends
                retry(c, patience_ends)
        n = len(t)
        return make_record(
            [self.queue] * n, self.customer, self.attempt, t, outcome, end, service_end, self.cut, [], []
        )
