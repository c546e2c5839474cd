"""The groups' free times (`impact.free_times`), compiled by numba: the same day, attempt for attempt.

Every routine of `free_times._FreeTimes` is here under its own name and does what it does
there, in the same order, with the same float operations, so the record is the event
list's bit for bit (tests/unit/test_simulation_compiled_free_times.py). The day's state is
the compiled event list's (`impact.compiled_steps`: the attempts, the queues' lines, the
callbacks, the event heap, the later attempts' draws, packed by `impact.compiled_run`),
and the loop is re-entrant the same way (GROW / DRAW). What both engines do alike (the
queues' lines, an agent's next piece of work, answering, deflection, abandoning, a call cut
short, a queue's changes, the loop's stops) is `compiled_steps`'s functions, called from here
(numba inlines them: the day costs what it did when each engine had its own copy). What is
added, `Free`:

- each group's heap of its agents' free times, one row of `ft` (the sentinel, infinite,
  always in it), each entry with what the agent was last on in `fc` (an attempt; NO_CALL;
  callback i as -2 - i): a lost site cuts off the calls of its busy agents by that, in
  `_FreeTimes.cut_off`'s order (the first calls answered at once, then the others, each in
  call order). Free times are plain floats: which of two equal ones a heap keeps first
  changes nothing (only an agent busy past now is ever looked up, and no two calls end at
  the same moment);
- each group's heap size and the order of its pending event (its token; -1: not armed);
- the first calls' ends if answered at once (`free_times.at_once_ends`), the group making
  each callback, and room for the calls a cut-off finds.

A first call answered at once is recorded when the day ends (its outcome stays WAITING
until then, as in `_FreeTimes`); one on hold is QUEUED.

Imports numba: imported only when a day is simulated (`impact.engine`).
"""

from __future__ import annotations

import math

from standby.impact.compiled_heap import KIND, ORDER, TIME, X, compiled, pop
from standby.impact.compiled_steps import (
    ATTEMPTS,
    CAP,
    CB_END,
    CB_HEAD,
    CB_NEXT,
    CB_QUEUE,
    CB_TAIL,
    CHANGE_CUT,
    CHANGE_KIND,
    CHANGE_TARGET,
    END,
    FINISHED,
    FIRST_NEXT,
    GO,
    GROW,
    HEAD,
    HEAP_SIZE,
    NO_WORK,
    ORDER_NEXT,
    OUTCOME,
    PRESENT,
    RETRIES,
    SERVICE_END,
    Day,
    FloatArray,
    IntArray,
    Q,
    T,
    abandon,
    abandon_at_end,
    answered,
    callback_made,
    cut_short,
    deflected,
    joining,
    line_append,
    next_work,
    put_on_hold,
    queue_change,
    schedule,
    short_of_room,
    stop_before,
)
from standby.impact.day import CAPACITY
from standby.impact.queueing import ABANDON, CALLBACK, CHANGE, DONE, RETRY
from standby.impact.records import ANSWERED, WAITING

QUEUED = -1  # an attempt on hold (`free_times._QUEUED`)
NO_CALL = -1  # a free time that ends no call: an agent who joined
SIZE, LIVE = range(2)  # rows of the groups' integers
_INF = math.inf

Free = tuple[
    FloatArray,  # ft: each group's free times, a heap per row
    IntArray,  # fc: what each free time ends
    IntArray,  # gs: each group's heap size and pending event's order
    FloatArray,  # at_once: each first call's end if answered at once
    IntArray,  # cb_by: the group making each callback
    IntArray,  # cuts: the calls a cut-off finds, answered at once (row 0) and the others (row 1)
]


# ---- a group's free times: heapq on one row, the entry's call carried along ------------------


@compiled
def _sift_down(ft: FloatArray, fc: IntArray, g: int, start: int, pos: int) -> None:
    t, c = ft[g, pos], fc[g, pos]
    while pos > start:
        parent = (pos - 1) >> 1
        if t < ft[g, parent]:
            ft[g, pos], fc[g, pos] = ft[g, parent], fc[g, parent]
            pos = parent
            continue
        break
    ft[g, pos], fc[g, pos] = t, c


@compiled
def _sift_up(ft: FloatArray, fc: IntArray, g: int, size: int, pos: int) -> None:
    start = pos
    t, c = ft[g, pos], fc[g, pos]
    child = 2 * pos + 1
    while child < size:
        right = child + 1
        if right < size and not ft[g, child] < ft[g, right]:
            child = right
        ft[g, pos], fc[g, pos] = ft[g, child], fc[g, child]
        pos = child
        child = 2 * pos + 1
    ft[g, pos], fc[g, pos] = t, c
    _sift_down(ft, fc, g, start, pos)


@compiled
def free_push(free: Free, g: int, t: float, c: int) -> None:
    """heappush of free time t (ending c) onto group g's heap."""
    ft, fc, gs = free[0], free[1], free[2]
    size = gs[SIZE, g]
    ft[g, size], fc[g, size] = t, c
    _sift_down(ft, fc, g, 0, size)
    gs[SIZE, g] = size + 1


@compiled
def free_pop(free: Free, g: int) -> None:
    """heappop of group g's earliest free time (the agent leaves)."""
    ft, fc, gs = free[0], free[1], free[2]
    last = gs[SIZE, g] - 1
    gs[SIZE, g] = last
    if last > 0:
        ft[g, 0], fc[g, 0] = ft[g, last], fc[g, last]
        _sift_up(ft, fc, g, last, 0)


@compiled
def free_replace(free: Free, g: int, t: float, c: int) -> None:
    """heapreplace: group g's earliest free agent is next free at t, after c."""
    ft, fc = free[0], free[1]
    ft[g, 0], fc[g, 0] = t, c
    _sift_up(ft, fc, g, free[2][SIZE, g], 0)


@compiled
def _sort(values: IntArray, row: int, n: int) -> None:
    """Sort values[row, :n] in place (a cut-off's few calls: insertion)."""
    for i in range(1, n):
        v = values[row, i]
        j = i - 1
        while j >= 0 and values[row, j] > v:
            values[row, j + 1] = values[row, j]
            j -= 1
        values[row, j + 1] = v


# ---- the groups ---------------------------------------------------------------------------------


@compiled
def schedule_group(day: Day, free: Free, g: int) -> None:
    """Make group g's earliest free time an event (it has agents)."""
    first = free[0][g, 0]
    if first < _INF:
        free[2][LIVE, g] = day[0][ORDER_NEXT]
        schedule(day, first, DONE, g, 0)


@compiled
def arm(day: Day, free: Free, g: int) -> None:
    """Make group g's earliest free time an event if it is watched and not armed yet."""
    qi, gi, skill_at, skills = day[4], day[5], day[9], day[10]
    if free[2][LIVE, g] >= 0:
        return
    if gi[PRESENT, g] > gi[CAP, g]:
        schedule_group(day, free, g)
        return
    for k in range(skill_at[g], skill_at[g + 1]):
        q = skills[k]
        if qi[HEAD, q] >= 0 or qi[CB_HEAD, q] >= 0:
            schedule_group(day, free, g)
            return


@compiled
def answer(day: Day, free: Free, c: int, g: int, now: float) -> None:
    """An agent of group g, free at `now`, answers attempt c."""
    free_replace(free, g, answered(day, c, now), c)


@compiled
def start_callback(day: Day, free: Free, i: int, g: int, now: float) -> None:
    """An agent of group g, free at `now`, makes callback i."""
    free[4][i] = g
    free_replace(free, g, callback_made(day, i, now), -2 - i)


@compiled
def work(day: Day, free: Free, g: int, now: float) -> bool:
    """Group g's agent free at `now` (its heap's top) takes the next piece of work (True), or idles."""
    w = next_work(day, g, now, QUEUED)
    if w >= 0:
        answer(day, free, w, g, now)
        return True
    if w != NO_WORK:
        start_callback(day, free, -2 - w, g, now)
        return True
    return False  # the agent's free time stays on the heap, already past: idle


@compiled
def free_group(day: Day, free: Free, q: int, now: float) -> int:
    """The first group eligible for queue q with an agent free at `now`; -1 when none is free."""
    ft, eligible_at, eligible = free[0], day[11], day[12]
    for k in range(eligible_at[q], eligible_at[q + 1]):
        g = eligible[k]
        if ft[g, 0] <= now:
            return int(g)
    return -1


@compiled
def agent_free(day: Day, free: Free, g: int, now: float) -> None:
    """Group g's event: its earliest free agent leaves if over capacity, else takes work."""
    gi = day[5]
    free[2][LIVE, g] = -1
    if gi[PRESENT, g] > gi[CAP, g]:
        free_pop(free, g)
        gi[PRESENT, g] -= 1
        arm(day, free, g)
    elif work(day, free, g, now):
        arm(day, free, g)


@compiled
def cut_off(day: Day, free: Free, end_s: float, g: int, now: float) -> int:
    """A lost site: cut off the calls and callbacks group g's agents are on; how many agents were busy."""
    af, ai, cf = day[1], day[2], day[6]
    ft, fc, gs, cb_by, cuts = free[0], free[1], free[2], free[4], free[5]
    for i in range(cb_by.shape[0]):
        if cb_by[i] == g and cf[CB_END, i] > now:
            cf[CB_END, i] = now  # a callback cut short was still made
    size = gs[SIZE, g]
    count = at_once = others = keep = 0
    for pos in range(size):
        f, c = ft[g, pos], fc[g, pos]
        if now < f < _INF:
            count += 1
            if c >= 0:  # a call (else a callback)
                if ai[OUTCOME, c] == WAITING:  # a first call answered at once
                    cuts[0, at_once] = c
                    at_once += 1
                else:
                    cuts[1, others] = c
                    others += 1
            continue
        if f <= now:  # the idle agents stay
            ft[g, keep], fc[g, keep] = f, c
            keep += 1
    ft[g, keep], fc[g, keep] = _INF, NO_CALL
    size = keep + 1
    gs[SIZE, g] = size
    for i in range(size // 2 - 1, -1, -1):  # heapify
        _sift_up(ft, fc, g, size, i)
    _sort(cuts, 0, at_once)
    _sort(cuts, 1, others)
    for j in range(at_once):
        c = cuts[0, j]
        ai[OUTCOME, c] = ANSWERED  # answered at once
        af[END, c] = af[T, c]
    for row, n in ((0, at_once), (1, others)):
        for j in range(n):
            cut_short(day, end_s, cuts[row, j], now)
    return count


# ---- the calls ----------------------------------------------------------------------------------


@compiled
def hold(day: Day, free: Free, end_s: float, c: int, q: int) -> None:
    """Put attempt c on hold in queue q (nobody was free): the groups skilled for it are watched."""
    ai, eligible_at, eligible = day[2], day[11], day[12]
    ai[OUTCOME, c] = QUEUED
    put_on_hold(day, end_s, c, q)
    gs = free[2]
    for k in range(eligible_at[q], eligible_at[q + 1]):
        g = eligible[k]
        if gs[LIVE, g] < 0:
            schedule_group(day, free, g)


@compiled
def arrive(day: Day, free: Free, end_s: float, c: int, now: float) -> None:
    """Attempt c (a caller calling again) reaches the centre's number now."""
    ai = day[2]
    if deflected(day, end_s, c, now):
        return
    q = ai[Q, c]
    g = free_group(day, free, q, now)
    if g >= 0:
        answer(day, free, c, g, now)
    else:
        hold(day, free, end_s, c, q)


@compiled
def callback_due(day: Day, free: Free, i: int, now: float) -> None:
    """Callback i is due: made now by a free agent, or queued for one."""
    qi, ci, eligible_at, eligible = day[4], day[7], day[11], day[12]
    ft, gs = free[0], free[2]
    q = ci[CB_QUEUE, i]
    g = free_group(day, free, q, now)
    if g >= 0:
        start_callback(day, free, i, g, now)
        return
    line_append(qi, ci, CB_NEXT, CB_HEAD, CB_TAIL, q, i)
    for k in range(eligible_at[q], eligible_at[q + 1]):
        g = eligible[k]
        if gs[LIVE, g] < 0 and ft[g, 0] < _INF:
            schedule_group(day, free, g)


@compiled
def change(day: Day, free: Free, end_s: float, kv: FloatArray, ki: IntArray, index: int, now: float) -> None:
    """Apply the model's change `index` (never a queue's reachability: `free_times.free_times_apply`)."""
    qf, gi = day[3], day[5]
    kind, target, value = ki[CHANGE_KIND, index], ki[CHANGE_TARGET, index], kv[index]
    if kind == CAPACITY:
        g = target
        if ki[CHANGE_CUT, index] != 0:
            gi[PRESENT, g] -= cut_off(day, free, end_s, g, now)
        for _ in range(joining(gi, g, value)):
            free_push(free, g, now, NO_CALL)
            work(day, free, g, now)
        ft = free[0]  # nobody joined: idle agents over capacity go home now; busy ones when their call ends
        while gi[PRESENT, g] > gi[CAP, g] and ft[g, 0] <= now:
            free_pop(free, g)
            gi[PRESENT, g] -= 1
        free[2][LIVE, g] = -1
        arm(day, free, g)
    else:
        queue_change(qf, kind, target, value)


# ---- the loop -----------------------------------------------------------------------------------


@compiled
def _room_needed(day: Day, free: Free, ki: IntArray, kind: int, x: int) -> int:
    """How many attempts the event may add at most: its retries."""
    if day[0][RETRIES] == 0:
        return 0
    if kind != CHANGE:
        return 1
    if ki[CHANGE_KIND, x] == CAPACITY and ki[CHANGE_CUT, x] != 0:
        return int(free[2][SIZE, ki[CHANGE_TARGET, x]])  # at most each of the group's agents
    return 0


@compiled
def run_day(
    day: Day,
    free: Free,
    first_calls: int,
    end_s: float,
    kv: FloatArray,
    ki: IntArray,
    table: FloatArray,
    offset: IntArray,
) -> int:
    """Run the day from where it stopped: FINISHED, or GROW / DRAW to be called again (`compiled_day`).

    `first_calls`: those that arrive within the day. A first call answered at once costs one
    `free_replace` and nothing else; `finish` records it.
    """
    s, af, ai, heap = day[0], day[1], day[2], day[8]
    gs, at_once = free[2], free[3]
    room = af.shape[1]
    while True:
        a = s[FIRST_NEXT]
        ta = af[T, a] if a < first_calls else _INF
        if heap[0, TIME] <= ta:
            if heap[0, TIME] >= end_s:
                break
            kind, x = int(heap[0, KIND]), int(heap[0, X])
            stop = stop_before(day, table, offset, room, _room_needed(day, free, ki, kind, x), kind, x)
            if stop != GO:
                return stop
            token = int(heap[0, ORDER])
            now, kind, x, _, size = pop(heap, s[HEAP_SIZE])
            s[HEAP_SIZE] = size
            if kind == DONE:
                if token == gs[LIVE, x]:  # else the group was armed again since
                    agent_free(day, free, x, now)
            elif kind == RETRY:
                arrive(day, free, end_s, x, now)
            elif kind == ABANDON:
                abandon(day, end_s, x, now, QUEUED)
            elif kind == CALLBACK:
                callback_due(day, free, x, now)
            else:
                change(day, free, end_s, kv, ki, x, now)
            continue
        if ta >= end_s:
            break
        if s[RETRIES] != 0 and short_of_room(s, room, 1):
            return GROW
        if not deflected(day, end_s, a, ta):
            q = ai[Q, a]
            g = free_group(day, free, q, ta)
            if g >= 0:
                free_replace(free, g, at_once[a], a)
            else:
                hold(day, free, end_s, a, q)
        s[FIRST_NEXT] = a + 1
    abandon_at_end(day, end_s, QUEUED)
    return FINISHED


@compiled
def finish(day: Day, free: Free, first_calls: int) -> None:
    """Record the first calls answered at once (on arrival, ending as drawn) and those still on hold."""
    s, af, ai, at_once = day[0], day[1], day[2], free[3]
    for c in range(s[ATTEMPTS]):
        outcome = ai[OUTCOME, c]
        if outcome == WAITING and c < first_calls:
            ai[OUTCOME, c] = ANSWERED
            af[END, c] = af[T, c]
            af[SERVICE_END, c] = at_once[c]
        elif outcome == QUEUED:
            ai[OUTCOME, c] = WAITING
