"""The discrete-event engine: many queues, teams with skills in priority order, the outage's changes.

Routing, as most ACDs do it:

- A free agent takes work from its skills in priority order; within a skill, a callback
  that is due comes before inbound calls, and inbound calls are answered first come,
  first served. An arriving call that finds free agents goes to the group for which
  its queue ranks highest among their skills (ties: the group first in the plan).
- **Abandonment is lazy** where nothing depends on its moment: a waiting call carries
  its deadline (arrival plus patience), and an agent who frees discards expired calls
  from the head of the queue, recording them abandoned at their deadline. Where the
  queue has retries, the abandonment is an event of its own, because the caller's next
  attempt must be scheduled from it.
- **Capacity changes** (shifts, a lost site, relocations): agents joining take work at
  once; agents leaving go when idle, or when the call they are on ends, except at a
  lost site, where the calls they are on are cut off and they stop at once.
- **A queue becoming unreachable** ends everything on it: callers on hold meet the dead
  line, calls in progress are cut off, callbacks not yet made are missed. A callback
  due while its queue is unreachable is missed at once.
- Events at the same moment: the outage's changes first, then in the order they were
  scheduled. The day ends at the model's end; an attempt still waiting then is counted
  as still waiting (or abandoned, if its patience ran out before the end).

Every day is run compiled by numba (packed and unpacked by `impact.compiled_run`): a day
on which no queue becomes unreachable on the groups' free times (`impact.compiled_free_times`,
the port of `impact.free_times`), any other on this event list (`impact.compiled_day`),
each giving its Python engine's record exactly, bit for bit and in the same order
(tests/unit/test_simulation_compiled.py, tests/unit/test_simulation_compiled_free_times.py,
pinned by tests/unit/test_simulation_pinned.py), some ten times faster than the fastest
Python. The free times append the retries of calls cut off at one moment in call order,
the event list in its heap's order, so their records agree attempt for attempt once
ordered by (customer, attempt). numba is imported when the first day is simulated, never
before (the command's start does not pay for it).

The Python engines stay: this event list as the reference the compiled one is tested
against, and, where numba cannot be imported, as the fallback with the two faster
Python engines, which give the same record: one day on a single queue answered by a
single team whose agents only come and go with their shift runs on `impact.pool`; any
other day on which no queue becomes unreachable runs on the groups' free times
(`impact.free_times`: an event at a call's end only while work waits for the agent's
skills); the days where a queue's line drops run here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from heapq import heapify, heappop, heappush

from standby.impact.day import CAPACITY, DEFLECT, FACTOR, REACH, DayModel
from standby.impact.draws import Draws
from standby.impact.free_times import free_times_apply, simulate_free_times
from standby.impact.pool import pool_applies, simulate_pool
from standby.impact.queueing import ABANDON, CALLBACK, DONE, RETRY, DayState, Event
from standby.impact.records import (
    ABANDONED,
    ANSWERED,
    CALLBACK_GRACE_S,
    DEFLECTED,
    UNREACHABLE,
    WAITING,
    DayRecord,
)

_INF = math.inf


_Engine = Callable[[DayModel, Draws], DayRecord]
# The compiled engines once looked for: the free times, the event list; None without numba.
_compiled: list[tuple[_Engine, _Engine] | None] = []


def compiled_engines() -> tuple[_Engine, _Engine] | None:
    """The compiled free times and event list (`impact.compiled_run`); None where numba cannot be imported."""
    if not _compiled:
        try:  # numba: when first needed
            from standby.impact.compiled_run import simulate_compiled, simulate_compiled_free_times
        except (ImportError, RuntimeError):  # no numba; or nowhere to keep its cache (read-only)
            _compiled.append(None)
        else:
            _compiled.append((simulate_compiled_free_times, simulate_compiled))
    return _compiled[0]


def compiled_engine() -> _Engine | None:
    """The compiled event list (`compiled_run.simulate_compiled`); None where numba cannot be imported."""
    engines = compiled_engines()
    return None if engines is None else engines[1]


def simulate(model: DayModel, draws: Draws, *, general: bool = False) -> DayRecord:
    """One day of the model on the replication's numbers (`general` forces the general engine).

    Compiled, a day on which no queue becomes unreachable runs on the groups' free times,
    any other on the event list; without numba, the Python engines do, as the module
    docstring says.
    """
    engines = compiled_engines()
    if engines is not None:
        free_times, events = engines
        return free_times(model, draws) if free_times_apply(model) else events(model, draws)
    if not general and pool_applies(model):
        return simulate_pool(model, draws)
    if free_times_apply(model):
        return simulate_free_times(model, draws)
    return simulate_events(model, draws)


def simulate_events(model: DayModel, draws: Draws) -> DayRecord:
    """One day on the event list, whatever the day (the reference `impact.free_times` is tested against)."""
    return _General(model, draws).run()


class _General(DayState):
    """The state of one simulated day; `run` is the event loop."""

    def __init__(self, model: DayModel, draws: Draws) -> None:
        super().__init__(model, draws)
        self.reach = [True] * len(model.queues)
        self.idle = [0] * len(model.groups)

    # ---- rare events, out of the loop ------------------------------------------------------

    def cut_off(self, now: float, hit: Callable[[Event], bool]) -> list[int]:
        """Cut off the calls in progress whose completion `hit` selects; the groups of their agents."""
        keep: list[Event] = []
        freed: list[int] = []
        cut: list[int] = []
        for entry in self.heap:
            if entry[2] != DONE or not hit(entry):
                keep.append(entry)
                continue
            _, _, _, g, b = entry
            freed.append(g)
            if b >= 0:
                cut.append(b)
            else:
                self.cb_end[~b] = now  # a callback cut short was still made
        self.heap[:] = keep
        heapify(self.heap)
        for b in cut:  # after the heap is rebuilt: a retry is pushed onto it
            self.service_end[b] = now
            self.cut[b] = True
            self.retry(b, now)
        return freed

    def change(self, index: int, now: float) -> None:
        """Apply the model's change `index`."""
        change = self.model.changes[index]
        kind, target = change.kind, change.target
        if kind == REACH:
            self.reach[target] = change.value > 0
            if change.value > 0:
                return
            for c in self.waiting[target]:
                if self.outcome[c] != WAITING:
                    continue
                if self.deadline[c] < now:
                    self.outcome[c], self.end[c] = ABANDONED, self.deadline[c]
                else:
                    self.outcome[c], self.end[c] = UNREACHABLE, now
                    self.retry(c, now)
            self.waiting[target].clear()
            self.cb_waiting[target].clear()
            for g in self.cut_off(now, lambda e: e[4] >= 0 and self.q[e[4]] == target):
                self.agent_free(g, now)
        elif kind == DEFLECT:
            self.deflect[target] = change.value
        elif kind == FACTOR:
            self.factor[target] = change.value
        elif kind == CAPACITY:
            g = target
            if change.cut:
                self.present[g] -= len(self.cut_off(now, lambda e: e[3] == g))
            cap = int(change.value)
            self.cap[g] = cap
            if self.present[g] < cap:
                joining = cap - self.present[g]
                self.present[g] = cap
                for _ in range(joining):
                    self.work(g, now)
            elif self.present[g] > cap:
                leaving = min(self.idle[g], self.present[g] - cap)
                self.idle[g] -= leaving
                self.present[g] -= leaving

    def agent_free(self, g: int, now: float) -> None:
        """An agent of group g has finished a call: they leave if the group is over capacity, else work."""
        if self.present[g] > self.cap[g]:
            self.present[g] -= 1
        else:
            self.work(g, now)

    def callback_due(self, i: int, now: float) -> None:
        """Callback i is due: made now by a free agent, queued for one, or missed."""
        q = self.cb_queue[i]
        if not self.reach[q]:
            return
        for g in self.eligible[q]:
            if self.idle[g]:
                self.idle[g] -= 1
                self.start_callback(i, g, now)
                return
        self.cb_waiting[q].append(i)

    def start_callback(self, i: int, g: int, now: float) -> None:
        """An agent of group g makes callback i now."""
        self.cb_start[i] = now
        done = now + self.cb_service[i] * self.factor[self.cb_queue[i]]
        self.cb_end[i] = done
        heappush(self.heap, (done, next(self.seq), DONE, g, ~i))

    # ---- the hot path ------------------------------------------------------------------------

    def work(self, g: int, now: float) -> None:
        """A free agent of group g takes the next piece of work, or goes idle."""
        outcome, deadline = self.outcome, self.deadline
        for q in self.skills[g]:
            callbacks = self.cb_waiting[q]
            while callbacks:
                i = callbacks.popleft()
                if self.model.callbacks[i][0] + CALLBACK_GRACE_S >= now:
                    self.start_callback(i, g, now)
                    return
            waiting = self.waiting[q]
            while waiting:
                c = waiting.popleft()
                if outcome[c] != WAITING:
                    continue  # abandoned already, by its own event
                if deadline[c] < now:
                    outcome[c] = ABANDONED
                    self.end[c] = deadline[c]
                    continue
                self.answer(c, g, now)
                return
        self.idle[g] += 1

    def answer(self, c: int, g: int, now: float) -> None:
        """An agent of group g answers attempt c now."""
        self.outcome[c] = ANSWERED
        self.end[c] = now
        done = now + self.service[c] * self.factor[self.q[c]]
        self.service_end[c] = done
        heappush(self.heap, (done, next(self.seq), DONE, g, c))

    def arrive(self, c: int, now: float) -> None:
        """Attempt c reaches the centre's number now."""
        q = self.q[c]
        if not self.reach[q]:
            self.outcome[c] = UNREACHABLE
            self.end[c] = now
            self.retry(c, now)
            return
        share = self.deflect[q]
        if share and self.deflect_u[c] < share:
            self.outcome[c] = DEFLECTED
            self.end[c] = now
            self.retry(c, now)
            return
        idle = self.idle
        for g in self.eligible[q]:
            if idle[g]:
                idle[g] -= 1
                self.answer(c, g, now)
                return
        self.waiting[q].append(c)
        if self.share[q] > 0 and self.deadline[c] < self.end_s:
            heappush(self.heap, (self.deadline[c], next(self.seq), ABANDON, c, 0))

    def run(self) -> DayRecord:
        """Simulate the day; return its record.

        The loop inlines `arrive`, `agent_free`, `work` and `answer` for first calls and
        agents freeing (the bulk of the events); the methods handle everything else.
        """
        heap, seq = self.start_events(), self.seq
        times, queue_of, service, deadline = self.t, self.q, self.service, self.deadline
        outcome, end, service_end, deflect_u = self.outcome, self.end, self.service_end, self.deflect_u
        reach, deflect, factor, share = self.reach, self.deflect, self.factor, self.share
        cap, present, idle, skills = self.cap, self.present, self.idle, self.skills
        eligible, waiting = self.eligible, self.waiting
        plain_work = not self.model.callbacks  # with callbacks, agents check them first: `work`
        arrivals = [*times, _INF]  # first calls only (retries are appended to `times`), then a sentinel
        end_s = self.end_s
        a = 0
        while True:
            ta = arrivals[a]
            if heap[0][0] <= ta:
                now, _, kind, x, _ = heappop(heap)
                if now >= end_s:
                    break
                if kind == DONE:
                    if present[x] > cap[x]:
                        present[x] -= 1
                    elif plain_work:
                        for q in skills[x]:
                            line = waiting[q]
                            while line:
                                c = line.popleft()
                                if outcome[c] != WAITING:
                                    continue
                                if deadline[c] < now:
                                    outcome[c] = ABANDONED
                                    end[c] = deadline[c]
                                    continue
                                outcome[c] = ANSWERED
                                end[c] = now
                                done = now + service[c] * factor[q]
                                service_end[c] = done
                                heappush(heap, (done, next(seq), DONE, x, c))
                                break
                            else:
                                continue
                            break
                        else:
                            idle[x] += 1
                    else:
                        self.work(x, now)
                elif kind == RETRY:
                    self.arrive(x, now)
                elif kind == ABANDON:
                    if outcome[x] == WAITING:
                        outcome[x] = ABANDONED
                        end[x] = now
                        self.retry(x, now)
                elif kind == CALLBACK:
                    self.callback_due(x, now)
                else:
                    self.change(x, now)
                continue
            if ta >= end_s:
                break
            q = queue_of[a]
            if not reach[q] or (deflect[q] and deflect_u[a] < deflect[q]):
                self.arrive(a, ta)
            else:
                for g in eligible[q]:
                    if idle[g]:
                        idle[g] -= 1
                        outcome[a] = ANSWERED
                        end[a] = ta
                        done = ta + service[a] * factor[q]
                        service_end[a] = done
                        heappush(heap, (done, next(seq), DONE, g, a))
                        break
                else:
                    waiting[q].append(a)
                    if share[q] > 0 and deadline[a] < end_s:
                        heappush(heap, (deadline[a], next(seq), ABANDON, a, 0))
            a += 1
        for line in waiting:
            for c in line:
                if outcome[c] == WAITING and deadline[c] < end_s:
                    outcome[c] = ABANDONED  # patience ran out before the day ended
                    end[c] = deadline[c]
        return self.record(self.q, self.outcome, self.cb_start, self.cb_end)
