"""The event list (`impact.engine._General`), compiled by numba: the same day, attempt for attempt.

Every routine of the event list is here under its own name, and does what it does there,
in the same order, with the same float operations (`done = now + service * factor`, a
retry's deadline `when + patience`; no fast-math), so the record is the same bit for bit
(tests/unit/test_simulation_compiled.py). The heap is CPython's heapq on arrays
(`impact.compiled_heap`), so that a cut-off walks the same array in the same order.

All of the day's state lives in arrays, packed and unpacked by `impact.compiled_run`:

- attempts: `af[row, c]` (floats) and `ai[row, c]` (integers), rows named in
  `impact.compiled_steps`; a queue's line on hold is a linked list through `ai[NEXT]`
  with its head and tail in `qi`;
- queues `qf`/`qi`, groups `gi`, callbacks `cf`/`ci` (their line through `ci[CB_NEXT]`),
  the outage's changes `kv`/`ki`, skills and eligible groups as offsets and indices;
- the heap, one row an entry; scalars in `s` (attempts so far, heap size, next order, next first call).

**Why the loop is re-entrant** rather than calling back into Python (numba's objmode): a
caller's later attempts draw their numbers per (queue, attempt number) on demand
(`Draws.attempt`), and their count is not known in advance. `run_day` stops before an
event it cannot finish, returning GROW (room for more attempts: `s[NEED]` in all) or DRAW
(the draws of queue `s[DRAW_QUEUE]`, number `s[DRAW_NUMBER]`); the caller grows the arrays
or adds the table and calls it again, and it carries on where it stopped. It stops only
between events, so nothing is half done: a retry's draws are read when its RETRY event
comes (the numbers are the same whenever drawn), and before an event the loop makes sure
of room for as many attempts as that event can add. Python is never called from the
loop, which keeps every function plain nopython code, cached on disk whole.

Imports numba: imported only when a day is simulated (`impact.engine`).
"""

from __future__ import annotations

import math

from standby.impact.compiled_heap import (
    KIND,
    TIME,
    X,
    Y,
    compiled,
    heapify,
    move,
    pop,
)
from standby.impact.compiled_steps import (
    CAP,
    CB_END,
    CB_HEAD,
    CB_NEXT,
    CB_QUEUE,
    CB_TAIL,
    CHANGE_CUT,
    CHANGE_KIND,
    CHANGE_TARGET,
    DEADLINE,
    END,
    FINISHED,
    FIRST_NEXT,
    GO,
    GROW,
    HEAD,
    HEAP_SIZE,
    IDLE,
    NEXT,
    NO_WORK,
    OUTCOME,
    PRESENT,
    REACHABLE,
    RETRIES,
    TAIL,
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
    retry,
    schedule,
    short_of_room,
    stop_before,
)
from standby.impact.day import (
    CAPACITY,
    REACH,
)
from standby.impact.queueing import (
    ABANDON,
    CALLBACK,
    CHANGE,
    DONE,
    RETRY,
)
from standby.impact.records import (
    ABANDONED,
    UNREACHABLE,
    WAITING,
)

_INF = math.inf


# ---- the event list ------------------------------------------------------------------------------


@compiled
def answer(day: Day, c: int, g: int, now: float) -> None:
    """An agent of group g answers attempt c now."""
    schedule(day, answered(day, c, now), DONE, g, c)


@compiled
def start_callback(day: Day, i: int, g: int, now: float) -> None:
    """An agent of group g makes callback i now."""
    schedule(day, callback_made(day, i, now), DONE, g, -1 - i)


@compiled
def work(day: Day, g: int, now: float) -> None:
    """A free agent of group g takes the next piece of work, or goes idle."""
    w = next_work(day, g, now, WAITING)
    if w >= 0:
        answer(day, w, g, now)
    elif w != NO_WORK:
        start_callback(day, -2 - w, g, now)
    else:
        day[5][IDLE, g] += 1


@compiled
def idle_agent(day: Day, q: int) -> int:
    """The first group eligible for queue q with an idle agent, that agent now busy; -1 when none is idle."""
    gi, eligible_at, eligible = day[5], day[11], day[12]
    for k in range(eligible_at[q], eligible_at[q + 1]):
        g = eligible[k]
        if gi[IDLE, g] > 0:
            gi[IDLE, g] -= 1
            return int(g)
    return -1


@compiled
def agent_free(day: Day, g: int, now: float) -> None:
    """An agent of group g has finished a call: they leave if the group is over capacity, else work."""
    gi = day[5]
    if gi[PRESENT, g] > gi[CAP, g]:
        gi[PRESENT, g] -= 1
    else:
        work(day, g, now)


@compiled
def arrive(day: Day, end_s: float, c: int, now: float) -> None:
    """Attempt c reaches the centre's number now."""
    af, ai, qi = day[1], day[2], day[4]
    q = ai[Q, c]
    if qi[REACHABLE, q] == 0:
        ai[OUTCOME, c] = UNREACHABLE
        af[END, c] = now
        retry(day, end_s, c, now)
        return
    if deflected(day, end_s, c, now):
        return
    g = idle_agent(day, q)
    if g >= 0:
        answer(day, c, g, now)
    else:
        put_on_hold(day, end_s, c, q)


@compiled
def callback_due(day: Day, i: int, now: float) -> None:
    """Callback i is due: made now by a free agent, queued for one, or missed."""
    qi, ci = day[4], day[7]
    q = ci[CB_QUEUE, i]
    if qi[REACHABLE, q] == 0:
        return
    g = idle_agent(day, q)
    if g >= 0:
        start_callback(day, i, g, now)
    else:
        line_append(qi, ci, CB_NEXT, CB_HEAD, CB_TAIL, q, i)


@compiled
def cut_off(day: Day, end_s: float, now: float, by_queue: bool, target: int) -> int:
    """Cut off the calls in progress on queue `target` (`by_queue`) or of group `target`; how many.

    The groups of their agents are left in `scratch[0, :how many]`.

    The heap's array is walked in order, the entries kept in order, then heapified, as
    `_General.cut_off` does with its list.
    """
    s, ai, cf, heap, scratch = day[0], day[2], day[6], day[8], day[13]
    size = s[HEAP_SIZE]
    freed, cut = scratch[0], scratch[1]
    n_freed = n_cut = keep = 0
    for pos in range(size):
        x, y = int(heap[pos, X]), int(heap[pos, Y])
        hit = heap[pos, KIND] == DONE and ((y >= 0 and ai[Q, y] == target) if by_queue else x == target)
        if not hit:
            if keep != pos:
                move(heap, keep, pos)
            keep += 1
            continue
        freed[n_freed] = x
        n_freed += 1
        if y >= 0:
            cut[n_cut] = y
            n_cut += 1
        else:
            cf[CB_END, -1 - y] = now  # a callback cut short was still made
    s[HEAP_SIZE] = keep
    heapify(heap, keep)
    for j in range(n_cut):  # after the heap is rebuilt: a retry is pushed onto it
        cut_short(day, end_s, cut[j], now)
    return n_freed


@compiled
def change(day: Day, end_s: float, kv: FloatArray, ki: IntArray, index: int, now: float) -> None:
    """Apply the model's change `index`."""
    af, ai, qf, qi, gi = day[1], day[2], day[3], day[4], day[5]
    kind, target, value = ki[CHANGE_KIND, index], ki[CHANGE_TARGET, index], kv[index]
    if kind == REACH:
        qi[REACHABLE, target] = 1 if value > 0 else 0
        if value > 0:
            return
        c = qi[HEAD, target]
        while c >= 0:
            if ai[OUTCOME, c] == WAITING:
                if af[DEADLINE, c] < now:
                    ai[OUTCOME, c] = ABANDONED
                    af[END, c] = af[DEADLINE, c]
                else:
                    ai[OUTCOME, c] = UNREACHABLE
                    af[END, c] = now
                    retry(day, end_s, c, now)
            c = ai[NEXT, c]
        qi[HEAD, target] = -1
        qi[TAIL, target] = -1
        qi[CB_HEAD, target] = -1
        qi[CB_TAIL, target] = -1
        freed = day[13][0]
        for j in range(cut_off(day, end_s, now, True, target)):
            agent_free(day, freed[j], now)
    elif kind == CAPACITY:
        g = target
        if ki[CHANGE_CUT, index] != 0:
            gi[PRESENT, g] -= cut_off(day, end_s, now, False, g)
        for _ in range(joining(gi, g, value)):
            work(day, g, now)
        if gi[PRESENT, g] > gi[CAP, g]:  # nobody joined: idle agents over capacity leave now
            leaving = min(gi[IDLE, g], gi[PRESENT, g] - gi[CAP, g])
            gi[IDLE, g] -= leaving
            gi[PRESENT, g] -= leaving
    else:
        queue_change(qf, kind, target, value)


@compiled
def _room_needed(day: Day, kv: FloatArray, ki: IntArray, kind: int, x: int) -> int:
    """How many attempts the event may add at most: its retries."""
    s, ai, qi = day[0], day[2], day[4]
    if s[RETRIES] == 0:
        return 0
    if kind != CHANGE:
        return 1
    if ki[CHANGE_KIND, x] == REACH and not kv[x] > 0:
        waiting = 0
        c = qi[HEAD, ki[CHANGE_TARGET, x]]
        while c >= 0:
            waiting += 1
            c = ai[NEXT, c]
        return waiting + int(s[HEAP_SIZE])  # those on hold, and at most every call in progress
    if ki[CHANGE_KIND, x] == CAPACITY and ki[CHANGE_CUT, x] != 0:
        return int(s[HEAP_SIZE])
    return 0

@compiled
def run_day(
    day: Day,
    first_calls: int,
    end_s: float,
    kv: FloatArray,
    ki: IntArray,
    table: FloatArray,
    offset: IntArray,
) -> int:
    """Run the day from where it stopped: FINISHED, or GROW / DRAW to be called again (module docstring)."""
    s, af, heap = day[0], day[1], day[8]
    room = af.shape[1]
    while True:
        a = s[FIRST_NEXT]
        ta = af[T, a] if a < first_calls else _INF
        if heap[0, TIME] <= ta:
            if heap[0, TIME] >= end_s:
                break
            kind, x = int(heap[0, KIND]), int(heap[0, X])
            stop = stop_before(day, table, offset, room, _room_needed(day, kv, ki, kind, x), kind, x)
            if stop != GO:
                return stop
            now, kind, x, _, size = pop(heap, s[HEAP_SIZE])
            s[HEAP_SIZE] = size
            if kind == DONE:
                agent_free(day, x, now)
            elif kind == RETRY:
                arrive(day, end_s, x, now)
            elif kind == ABANDON:
                abandon(day, end_s, x, now, WAITING)
            elif kind == CALLBACK:
                callback_due(day, x, now)
            else:
                change(day, end_s, kv, ki, x, now)
            continue
        if ta >= end_s:
            break
        if s[RETRIES] != 0 and short_of_room(s, room, 1):
            return GROW
        arrive(day, end_s, a, ta)
        s[FIRST_NEXT] = a + 1
    abandon_at_end(day, end_s, WAITING)
    return FINISHED
