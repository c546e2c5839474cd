"""The general engine on each group's agent free times: a call's end is an event only when it matters.

The event list (`impact.engine.simulate_events`) pushes and pops an event at every call's end. Yet
most calls are answered at once and end while nobody waits for the agent's skills: their
end changes nothing but when the agent is next free. So here each group keeps a heap of
its agents' free times (a time already past: the agent is idle), as `impact.pool` does
for its one pool of agents:

- An arriving call, or a callback due, goes to the first group in its queue's ranking
  whose earliest free time has passed: one `heapreplace`, no event.
- A group is **watched** while the moment its next agent frees matters: calls or
  callbacks wait for its skills (the agent takes one then), or it has more agents than
  its capacity (the agent goes home then). Only then is its earliest free time an event.
  An event carries a token: when the group's agents change otherwise (joining, cut off),
  the group is armed again and the old event is skipped when it comes.

It gives the event list's record attempt for attempt (tests/unit/test_simulation_free_times.py,
tests/unit/test_simulation_pinned.py) on every day where no queue becomes unreachable:
there, the agents freed by the calls cut off take waiting work in the order of the event
list's heap, which only the event list has, so those days stay on it. Handling times are
always drawn from a continuous distribution (`handling_cv` > 0), so two calls end at the
same moment with probability zero, and the order of events at one moment never depends
on when they were scheduled.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from heapq import heapify, heappop, heappush, heapreplace
from operator import itemgetter
from typing import TypeVar

import numpy as np

from standby.impact.day import CAPACITY, DEFLECT, FACTOR, REACH, DayModel, FloatArray
from standby.impact.draws import Draws
from standby.impact.queueing import ABANDON, CALLBACK, DONE, RETRY, DayState
from standby.impact.records import (
    ABANDONED,
    ANSWERED,
    CALLBACK_GRACE_S,
    DEFLECTED,
    WAITING,
    DayRecord,
)

_T = TypeVar("_T")
_QUEUED = -1  # the outcome of an attempt on hold (WAITING is left to first calls answered at once)
_INF = math.inf


def free_times_apply(model: DayModel) -> bool:
    """Whether `simulate_free_times` gives the day's record: no queue becomes unreachable."""
    return not any(c.kind == REACH for c in model.changes)


def simulate_free_times(model: DayModel, draws: Draws) -> DayRecord:
    """One day (where `free_times_apply`) on the groups' free times."""
    return _FreeTimes(model, draws).run()


class _FreeTimes(DayState):
    """The state of one simulated day; `run` is the loop."""

    def __init__(self, model: DayModel, draws: Draws) -> None:
        retries = any(q.retry_share > 0 for q in model.queues)
        super().__init__(model, draws, retries=retries)
        # An attempt's handling time, deadline and deflection draw, read only for the calls
        # put on hold or deflected: from the draws themselves when nobody calls again (no list
        # of every call to make and free), else from the lists that retries are appended to.
        self.service_of: Callable[[int], float] = self.service.__getitem__ if retries else draws.service.item
        self.deadline_of: Callable[[int], float] = (
            self.deadline.__getitem__ if retries else draws.deadline.item
        )
        self.deflect_of: Callable[[int], float] = (
            self.deflect_u.__getitem__ if retries else self.deflect_drawn
        )
        ng = len(model.groups)
        # Each heap ends with an infinite sentinel: no emptiness test when looking at its top.
        self.free: list[list[float]] = [[_INF] for _ in range(ng)]
        self.live = [-1] * ng  # the token of the group's pending event; -1: not armed
        # A first call answered at once ends when it would with the factor in force at its arrival.
        n = int(np.searchsorted(draws.time, model.end_s))  # the first calls that arrive within the day
        self.reached = 0  # how many first calls have arrived so far
        self.at_once_end = at_once_ends(model, draws, n)
        if any(c.kind == FACTOR for c in model.changes):
            self.done_at_once: list[float] = self.at_once_end.tolist()
        else:  # the same on every day of the replication: made once, shared (read only)
            everyone = draws.end_at_once_list
            self.done_at_once = everyone if n == len(everyone) else everyone[:n]
        self.touched: list[int] = []  # the first calls a method handled (the others: answered at once)
        self.deflecting = False  # whether any queue deflects callers now
        self.cb_by = [-1] * len(model.callbacks)  # the group making each callback
        self.hold = self.holder()

    def deflect_drawn(self, c: int) -> float:
        """First call c's deflection draw (read only while a queue deflects: merged on first use)."""
        return float(self.draws.deflect[c])

    # ---- the groups ---------------------------------------------------------------------------

    def arm(self, g: int) -> None:
        """Make group g's earliest free time an event if it is watched and not armed yet."""
        if self.live[g] >= 0:
            return
        if self.present[g] > self.cap[g]:
            self.schedule(g)
            return
        waiting, cb_waiting = self.waiting, self.cb_waiting
        for q in self.skills[g]:
            if waiting[q] or cb_waiting[q]:
                self.schedule(g)
                return

    def schedule(self, g: int) -> None:
        """Make group g's earliest free time an event (it has agents)."""
        first = self.free[g][0]
        if first < _INF:
            token = next(self.seq)
            self.live[g] = token
            heappush(self.heap, (first, token, DONE, g, 0))

    def rearm(self, g: int) -> None:
        """Group g's agents changed other than by its event: schedule it afresh."""
        self.live[g] = -1
        self.arm(g)

    def agent_free(self, g: int, now: float) -> None:
        """Group g's event: its earliest free agent leaves if over capacity, else takes work."""
        self.live[g] = -1
        if self.present[g] > self.cap[g]:
            heappop(self.free[g])
            self.present[g] -= 1
            self.arm(g)
        elif self.work(g, now):
            self.arm(g)
        # else nothing waits for the group's skills, and it is within capacity: not watched

    def work(self, g: int, now: float) -> bool:
        """Group g's agent free at `now` (its heap's top) takes the next piece of work (True), or idles."""
        outcome, deadline = self.outcome, self.deadline_of
        for q in self.skills[g]:
            callbacks = self.cb_waiting[q]
            while callbacks:
                i = callbacks.popleft()
                if self.model.callbacks[i][0] + CALLBACK_GRACE_S >= now:
                    self.start_callback(i, g, now)
                    return True
            waiting = self.waiting[q]
            while waiting:
                c = waiting.popleft()
                if outcome[c] != _QUEUED:
                    continue  # abandoned already, by its own event
                if deadline(c) < now:
                    outcome[c] = ABANDONED
                    self.end[c] = deadline(c)
                    continue
                self.answer(c, g, now)
                return True
        return False  # the agent's free time stays on the heap, already past: idle

    def answer(self, c: int, g: int, now: float) -> None:
        """An agent of group g, free at `now`, answers attempt c."""
        self.outcome[c] = ANSWERED
        self.end[c] = now
        done = now + self.service_of(c) * self.factor[self.q[c]]
        self.service_end[c] = done
        heapreplace(self.free[g], done)

    def start_callback(self, i: int, g: int, now: float) -> None:
        """An agent of group g, free at `now`, makes callback i."""
        self.cb_start[i] = now
        done = now + self.cb_service[i] * self.factor[self.cb_queue[i]]
        self.cb_end[i] = done
        self.cb_by[i] = g
        heapreplace(self.free[g], done)

    def cut_off(self, g: int, now: float) -> int:
        """A lost site: cut off the calls and callbacks group g's agents are on; how many.

        A group's heap holds free times, not calls: a call in progress is found by its end,
        which no other call in progress shares (handling times are continuous).
        """
        outcome, service_end, cut = self.outcome, self.service_end, self.cut
        free = self.free[g]
        busy = {f for f in free if now < f < _INF}
        for i, end in enumerate(self.cb_end):
            if self.cb_by[i] == g and end > now:
                busy.discard(end)
                self.cb_end[i] = now  # a callback cut short was still made
        count = len(free) - 1 - sum(1 for f in free if f <= now)
        cut_now: list[int] = []
        if busy:  # the first calls answered at once on those agents: found with numpy, in call order
            ends = self.at_once_end[: self.reached]
            found = np.flatnonzero(np.isin(ends, np.fromiter(busy, dtype=np.float64, count=len(busy))))
            cut_now = [c for c in found.tolist() if outcome[c] == WAITING]
        for c in cut_now:
            outcome[c], self.end[c] = ANSWERED, self.t[c]  # answered at once
        # The others on those agents were touched by a method (only those have a service end).
        cut_now += sorted(
            {c for c in self.touched if service_end[c] in busy and outcome[c] == ANSWERED and not cut[c]}
        )
        free[:] = [f for f in free if f <= now]  # the idle agents stay (the same list: queues hold it)
        free.append(_INF)
        heapify(free)
        self.touched += cut_now
        for c in cut_now:
            service_end[c] = now
            cut[c] = True
            self.retry(c, now)
        return count

    # ---- the calls ----------------------------------------------------------------------------

    def arrive(self, c: int, now: float) -> None:
        """Attempt c reaches the centre's number now."""
        self.touched.append(c)
        q = self.q[c]
        share = self.deflect[q]
        if share and self.deflect_of(c) < share:
            self.outcome[c] = DEFLECTED
            self.end[c] = now
            self.retry(c, now)
            return
        free = self.free
        for g in self.eligible[q]:
            if free[g][0] <= now:
                self.answer(c, g, now)
                return
        self.hold(c, q)

    def holder(self) -> Callable[[int, int], None]:
        """The function putting attempt c on hold in queue q (nobody was free), its state bound once.

        The groups skilled for the queue are watched from then on: their next free time is an
        event. About one call in eight comes here.
        """
        touched, outcome, waiting, heap, share = (
            self.touched,
            self.outcome,
            self.waiting,
            self.heap,
            self.share,
        )
        deadline, end_s, seq, live, free, eligible = (
            self.deadline_of, self.end_s, self.seq, self.live, self.free, self.eligible
        )  # fmt: skip

        def hold(c: int, q: int) -> None:
            touched.append(c)
            outcome[c] = _QUEUED
            waiting[q].append(c)
            if share[q] > 0 and deadline(c) < end_s:
                heappush(heap, (deadline(c), next(seq), ABANDON, c, 0))
            for g in eligible[q]:
                if live[g] < 0:
                    first = free[g][0]
                    if first < _INF:  # as `schedule` does
                        token = next(seq)
                        live[g] = token
                        heappush(heap, (first, token, DONE, g, 0))

        return hold

    def callback_due(self, i: int, now: float) -> None:
        """Callback i is due: made now by a free agent, or queued for one."""
        q = self.cb_queue[i]
        free = self.free
        for g in self.eligible[q]:
            if free[g][0] <= now:
                self.start_callback(i, g, now)
                return
        self.cb_waiting[q].append(i)
        live, free = self.live, self.free
        for g in self.eligible[q]:
            if live[g] < 0 and free[g][0] < _INF:
                self.schedule(g)

    def change(self, index: int, now: float) -> None:
        """Apply the model's change `index` (never a queue's reachability: see `free_times_apply`)."""
        change = self.model.changes[index]
        kind, target = change.kind, change.target
        if kind == DEFLECT:
            self.deflect[target] = change.value
            self.deflecting = any(self.deflect)
        elif kind == FACTOR:
            self.factor[target] = change.value
        elif kind == CAPACITY:
            g = target
            if change.cut:
                self.present[g] -= self.cut_off(g, now)
            cap = int(change.value)
            self.cap[g] = cap
            free = self.free[g]
            if self.present[g] < cap:
                joining = cap - self.present[g]
                self.present[g] = cap
                for _ in range(joining):
                    heappush(free, now)
                    self.work(g, now)
            else:  # idle agents over capacity go home now; busy ones when their call ends
                while self.present[g] > cap and free[0] <= now:
                    heappop(free)
                    self.present[g] -= 1
            self.rearm(g)

    def event_loop(self) -> Callable[[float], float]:
        """The function that handles the events up to a time (included) and before the day's end.

        It returns the next event's time. It runs between most arrivals, so the state it reads
        is bound once, here. A group's agent freeing while calls wait for it (most events) is
        inlined: it takes the longest-waiting call of its highest skill that has one, as
        `agent_free` would, and the group stays watched while calls still wait for its skills.
        With callbacks, or a group over capacity, `agent_free` does it.
        """
        heap, outcome, end, live, end_s = self.heap, self.outcome, self.end, self.live, self.end_s
        present, cap, skills, waiting, free = self.present, self.cap, self.skills, self.waiting, self.free
        deadline, service, service_end, factor, seq = (
            self.deadline_of, self.service_of, self.service_end, self.factor, self.seq
        )  # fmt: skip
        plain = not self.model.callbacks
        agent_free, arrive, retry, callback_due, change = (
            self.agent_free, self.arrive, self.retry, self.callback_due, self.change
        )  # fmt: skip

        def events_until(limit: float) -> float:
            while heap[0][0] <= limit and heap[0][0] < end_s:
                now, token, kind, x, _ = heappop(heap)
                if kind == DONE:
                    if token != live[x]:
                        continue  # the group was armed again since
                    if not plain or present[x] > cap[x]:
                        agent_free(x, now)
                        continue
                    live[x] = -1
                    agents = free[x]
                    while True:  # the group's agents freeing one after the other while calls wait
                        for q in skills[x]:
                            line = waiting[q]
                            while line:
                                c = line.popleft()
                                if outcome[c] != _QUEUED:
                                    continue  # abandoned already, by its own event
                                if deadline(c) < now:
                                    outcome[c] = ABANDONED
                                    end[c] = deadline(c)
                                    continue
                                break
                            else:
                                continue
                            break
                        else:
                            break  # nothing waits for the group's skills: its agent idles, not watched
                        outcome[c] = ANSWERED
                        end[c] = now
                        done = now + service(c) * factor[q]
                        service_end[c] = done
                        heapreplace(agents, done)
                        for s in skills[x]:
                            if waiting[s]:
                                break
                        else:
                            break  # nothing waits any more: not watched
                        # Still watched: its next free time is an event, handled here at once when
                        # it would be the next one popped anyway (no other event and no call first).
                        first = agents[0]
                        if first <= limit and first < end_s and first < heap[0][0]:
                            now = first
                            continue
                        token = next(seq)
                        live[x] = token
                        heappush(heap, (first, token, DONE, x, 0))
                        break
                elif kind == RETRY:
                    arrive(x, now)
                elif kind == ABANDON:
                    if outcome[x] == _QUEUED:
                        outcome[x] = ABANDONED
                        end[x] = now
                        retry(x, now)
                elif kind == CALLBACK:
                    callback_due(x, now)
                else:
                    change(x, now)
            return heap[0][0]

        return events_until

    def run(self) -> DayRecord:
        """Simulate the day; return its record.

        The loop inlines the first calls answered at once (the bulk of the work) and records
        nothing for them but the agent's next free time: they are the first calls no method
        touched, filled in with numpy at the end. The methods handle the rest.
        """
        heap = self.start_events()
        events_until, hold = self.event_loop(), self.hold
        deflect, deflect_u = self.deflect, self.deflect_of
        done_at_once = self.done_at_once
        # Each queue's groups' heaps: the one ranking it highest, usually free, and the others.
        no_group = [_INF]
        first = [self.free[groups[0]] if groups else no_group for groups in self.eligible]
        others = [[self.free[g] for g in groups[1:]] for groups in self.eligible]
        n = len(done_at_once)
        upcoming = heap[0][0]  # the next event's time, kept as the heap changes
        deflecting = False
        gate = upcoming  # a call arriving at or after it looks at events and deflection first
        # First calls within the day, in time order: events at or before each come first (the
        # lists go on past n: first calls after the day's end, and retries appended as they come).
        for a, ta, q, done in zip(range(n), self.t, self.q, done_at_once, strict=False):
            if gate <= ta:
                if upcoming <= ta:
                    self.reached = a
                    upcoming = events_until(ta)
                    deflecting = self.deflecting
                gate = -_INF if deflecting else upcoming  # while a queue deflects, every call looks
                if deflecting and deflect_u(a) < deflect[q]:
                    self.arrive(a, ta)
                    upcoming = heap[0][0]
                    gate = -_INF if deflecting else upcoming
                    continue
            agents = first[q]
            if agents[0] <= ta:
                heapreplace(agents, done)
                continue
            for agents in others[q]:
                if agents[0] <= ta:
                    heapreplace(agents, done)
                    break
            else:
                hold(a, q)
                upcoming = heap[0][0]
                gate = -_INF if deflecting else upcoming
        self.reached = n
        events_until(_INF)
        outcome, end, end_s = self.outcome, self.end, self.end_s
        for line in self.waiting:
            for c in line:
                if outcome[c] == _QUEUED and self.deadline_of(c) < end_s:
                    outcome[c] = ABANDONED  # patience ran out before the day ended
                    end[c] = self.deadline_of(c)
        return self.finish()

    def finish(self) -> DayRecord:
        """The day's record: the first calls no method touched were answered at once, on arrival."""
        draws = self.draws
        first, n, total = draws.time.size, len(self.done_at_once), len(self.t)
        outcome = np.full(total, WAITING, dtype=np.int8)
        outcome[:n] = ANSWERED
        end = np.full(total, _INF)
        end[:n] = draws.time[:n]
        service_end = np.full(total, math.nan)
        service_end[:n] = self.at_once_end
        cut = np.zeros(total, dtype=np.bool_)
        touched = self.touched
        if total > first:  # the callers' later attempts too, all touched
            touched = [c for c in touched if c < first] + list(range(first, total))
        if touched:
            picked = np.asarray(touched, dtype=np.int64)
            got = np.asarray(_pick(self.outcome, touched), dtype=np.int8)
            got[got == _QUEUED] = WAITING  # still on hold at the day's end
            outcome[picked] = got
            end[picked] = _pick(self.end, touched)
            service_end[picked] = _pick(self.service_end, touched)
            cut[picked] = _pick(self.cut, touched)
        queue, time = draws.queue, draws.time
        customer, attempt = np.arange(first, dtype=np.int64), np.zeros(first, dtype=np.int64)
        if total > first:
            queue = np.asarray(self.q, dtype=np.int64)
            customer = np.asarray(self.customer, dtype=np.int64)
            attempt = np.asarray(self.attempt, dtype=np.int64)
            time = np.concatenate((draws.time, np.asarray(self.t[first:], dtype=np.float64)))
        return DayRecord(
            queue, customer, attempt, time, outcome, end, service_end, cut,
            np.asarray(self.cb_start, dtype=np.float64), np.asarray(self.cb_end, dtype=np.float64),
        )  # fmt: skip


def _pick(values: Sequence[_T], at: list[int]) -> Sequence[_T]:
    """values[i] for each i in `at` (one C loop: `itemgetter` gives a lone item bare, hence the test)."""
    return itemgetter(*at)(values) if len(at) > 1 else [values[i] for i in at]


def at_once_ends(model: DayModel, draws: Draws, n: int) -> FloatArray:
    """When each of the first n calls ends if answered on arrival, with the handling factor then in force."""
    if any(c.kind == FACTOR for c in model.changes):
        handling = draws.service[:n] * _factors(model, draws)[:n]
        ends: FloatArray = draws.time[:n] + handling
        return ends
    return draws.end_at_once[:n]  # the same on every day of the replication: made once, shared


def _factors(model: DayModel, draws: Draws) -> FloatArray:
    """The handling factor in force as each first call arrives (changes at that moment included)."""
    factor = np.ones(len(draws.time))
    for q in range(len(model.queues)):
        # In the order the day applies them: by time, then as listed (a model's changes need
        # not be in time order).
        steps = sorted((c for c in model.changes if c.kind == FACTOR and c.target == q), key=lambda c: c.time)
        if steps:
            mine = draws.queue == q
            times = np.array([c.time for c in steps])
            values = np.array([1.0] + [c.value for c in steps])
            factor[mine] = values[np.searchsorted(times, draws.time[mine], side="right")]
    return factor
