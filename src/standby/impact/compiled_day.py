"""The event list (`impact.engine._General`), compiled by numba: the same day, attempt for attempt.

Every routine of the event list is here under its own name, and does what it does there,
in the same order, with the same float operations (`done = now + service * factor`, a
retry's deadline `when + patience`; no fast-math), so the record is the same bit for bit
(tests/unit/test_simulation_compiled.py). The heap is CPython's heapq on arrays
(`impact.compiled_heap`), so that a cut-off walks the same array in the same order.

All of the day's state lives in arrays, packed and unpacked by `impact.compiled_run`:

- attempts: `af[row, c]` (floats) and `ai[row, c]` (integers), rows named below; a queue's
  line on hold is a linked list through `ai[NEXT]` with its head and tail in `qi`;
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

import numpy as np
import numpy.typing as npt

from standby.impact.compiled_heap import KIND, TIME, X, Y, compiled, heapify, move, pop, push
from standby.impact.day import CAPACITY, DEFLECT, FACTOR, REACH
from standby.impact.draws import MAX_ATTEMPTS
from standby.impact.queueing import ABANDON, CALLBACK, CHANGE, DONE, RETRY
from standby.impact.records import ABANDONED, ANSWERED, CALLBACK_GRACE_S, DEFLECTED, UNREACHABLE, WAITING

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Rows of the attempts' arrays.
T, SERVICE, DEADLINE, DEFLECT_U, RETRY_U, DELAY, END, SERVICE_END = range(8)
Q, LOCAL, CUSTOMER, NUMBER, OUTCOME, NEXT, DRAWN, CUT = range(8)
# Rows of the queues', groups', callbacks' and changes' arrays.
SHARE, DEFLECTING, FACTORED = range(3)
REACHABLE, HEAD, TAIL, CB_HEAD, CB_TAIL = range(5)
CAP, PRESENT, IDLE = range(3)
DUE, CB_SERVICE, CB_START, CB_END = range(4)
CB_QUEUE, CB_NEXT = range(2)
CHANGE_KIND, CHANGE_TARGET, CHANGE_CUT = range(3)
# Rows of a draws' table (one column per customer of a queue).
TABLE_SERVICE, TABLE_PATIENCE, TABLE_DEFLECT, TABLE_RETRY, TABLE_DELAY = range(5)
# The scalars.
ATTEMPTS, HEAP_SIZE, ORDER_NEXT, FIRST_NEXT, NEED, DRAW_QUEUE, DRAW_NUMBER, RETRIES = range(8)
STATE_SIZE = 8
# What `run_day` returns.
FINISHED, GROW, DRAW = 0, 1, 2
GO = -1  # `stop_before`: nothing stops the loop
NO_WORK = -1  # `next_work`: nothing for the agent to take

_INF = math.inf
_NAN = math.nan

Day = tuple[
    IntArray,  # s
    FloatArray,  # af
    IntArray,  # ai
    FloatArray,  # qf
    IntArray,  # qi
    IntArray,  # gi
    FloatArray,  # cf
    IntArray,  # ci
    FloatArray,  # heap
    IntArray,  # skill_at
    IntArray,  # skills
    IntArray,  # eligible_at
    IntArray,  # eligible
    IntArray,  # scratch: the groups freed and the calls cut off by a cut-off
]


@compiled
def schedule(day: Day, t: float, kind: int, x: int, y: int) -> None:
    """Push an event, its order the next one."""
    s, heap = day[0], day[8]
    s[HEAP_SIZE] = push(heap, s[HEAP_SIZE], t, s[ORDER_NEXT], kind, x, y)
    s[ORDER_NEXT] += 1


@compiled
def retry(day: Day, end_s: float, c: int, at: float) -> None:
    """The caller of attempt c may call again after a delay (its draws are read when it calls)."""
    s, af, ai, qf = day[0], day[1], day[2], day[3]
    q = ai[Q, c]
    share = qf[SHARE, q]
    if share == 0.0 or af[RETRY_U, c] >= share or ai[NUMBER, c] + 1 >= MAX_ATTEMPTS:
        return
    when = at + af[DELAY, c]
    if when >= end_s:
        return
    c2 = s[ATTEMPTS]
    s[ATTEMPTS] = c2 + 1
    af[T, c2] = when
    af[END, c2] = _INF
    af[SERVICE_END, c2] = _NAN
    ai[Q, c2] = q
    ai[LOCAL, c2] = ai[LOCAL, c]
    ai[CUSTOMER, c2] = ai[CUSTOMER, c]
    ai[NUMBER, c2] = ai[NUMBER, c] + 1
    ai[OUTCOME, c2] = WAITING
    ai[NEXT, c2] = -1
    ai[DRAWN, c2] = 0
    ai[CUT, c2] = 0
    schedule(day, when, RETRY, c2, 0)


# ---- what the free times (`impact.compiled_free_times`) do the same way ------------------------


@compiled
def line_append(qi: IntArray, links: IntArray, link: int, head: int, tail: int, q: int, item: int) -> None:
    """Put `item` last in queue q's line: the attempts' (ai, NEXT, HEAD, TAIL) or callbacks' (ci, CB_...)."""
    links[link, item] = -1
    if qi[tail, q] < 0:
        qi[head, q] = item
    else:
        links[link, qi[tail, q]] = item
    qi[tail, q] = item


@compiled
def line_take(qi: IntArray, links: IntArray, link: int, head: int, tail: int, q: int) -> int:
    """Take the first of queue q's line (named as for `line_append`); -1 when it is empty."""
    item = qi[head, q]
    if item >= 0:
        qi[head, q] = links[link, item]
        if qi[head, q] < 0:
            qi[tail, q] = -1
    return int(item)


@compiled
def put_on_hold(day: Day, end_s: float, c: int, q: int) -> None:
    """Put attempt c last in queue q's line, its abandoning an event if it comes within the day."""
    af, ai, qf, qi = day[1], day[2], day[3], day[4]
    line_append(qi, ai, NEXT, HEAD, TAIL, q, c)
    if qf[SHARE, q] > 0 and af[DEADLINE, c] < end_s:
        schedule(day, af[DEADLINE, c], ABANDON, c, 0)


@compiled
def next_work(day: Day, g: int, now: float, on_hold: int) -> int:
    """What a free agent of group g takes next: attempt c (c >= 0), callback i (-2 - i), or NO_WORK.

    Callbacks gone past their grace are dropped, callers whose patience ran out abandon, and
    attempts no longer `on_hold` (their outcome while in a line) are passed over.
    """
    af, ai, qi, cf, ci, skill_at, skills = day[1], day[2], day[4], day[6], day[7], day[9], day[10]
    for k in range(skill_at[g], skill_at[g + 1]):
        q = skills[k]
        i = line_take(qi, ci, CB_NEXT, CB_HEAD, CB_TAIL, q)
        while i >= 0:
            if cf[DUE, i] + CALLBACK_GRACE_S >= now:
                return -2 - i
            i = line_take(qi, ci, CB_NEXT, CB_HEAD, CB_TAIL, q)
        c = line_take(qi, ai, NEXT, HEAD, TAIL, q)
        while c >= 0:
            if ai[OUTCOME, c] == on_hold:  # else abandoned already, by its own event
                if not af[DEADLINE, c] < now:
                    return c
                ai[OUTCOME, c] = ABANDONED
                af[END, c] = af[DEADLINE, c]
            c = line_take(qi, ai, NEXT, HEAD, TAIL, q)
    return NO_WORK


@compiled
def answered(day: Day, c: int, now: float) -> float:
    """Attempt c is answered now: when its call ends."""
    af, ai, qf = day[1], day[2], day[3]
    ai[OUTCOME, c] = ANSWERED
    af[END, c] = now
    done = now + af[SERVICE, c] * qf[FACTORED, ai[Q, c]]
    af[SERVICE_END, c] = done
    return float(done)


@compiled
def callback_made(day: Day, i: int, now: float) -> float:
    """Callback i is made now: when it ends."""
    qf, cf, ci = day[3], day[6], day[7]
    cf[CB_START, i] = now
    done = now + cf[CB_SERVICE, i] * qf[FACTORED, ci[CB_QUEUE, i]]
    cf[CB_END, i] = done
    return float(done)


@compiled
def deflected(day: Day, end_s: float, c: int, now: float) -> bool:
    """Whether attempt c, arriving now, is deflected (its caller may call again)."""
    af, ai, qf = day[1], day[2], day[3]
    share = qf[DEFLECTING, ai[Q, c]]
    if share != 0.0 and af[DEFLECT_U, c] < share:
        ai[OUTCOME, c] = DEFLECTED
        af[END, c] = now
        retry(day, end_s, c, now)
        return True
    return False


@compiled
def abandon(day: Day, end_s: float, c: int, now: float, on_hold: int) -> None:
    """Attempt c's patience runs out now: it abandons if still `on_hold`, and may call again."""
    af, ai = day[1], day[2]
    if ai[OUTCOME, c] == on_hold:
        ai[OUTCOME, c] = ABANDONED
        af[END, c] = now
        retry(day, end_s, c, now)


@compiled
def cut_short(day: Day, end_s: float, c: int, now: float) -> None:
    """Attempt c's call is cut off now (a lost site or line): its caller may call again."""
    af, ai = day[1], day[2]
    af[SERVICE_END, c] = now
    ai[CUT, c] = 1
    retry(day, end_s, c, now)


@compiled
def queue_change(qf: FloatArray, kind: int, target: int, value: float) -> None:
    """A change of queue `target`'s deflected share (DEFLECT) or handling time's factor (FACTOR)."""
    if kind == DEFLECT:
        qf[DEFLECTING, target] = value
    elif kind == FACTOR:
        qf[FACTORED, target] = value


@compiled
def joining(gi: IntArray, g: int, value: float) -> int:
    """Group g's capacity becomes `value`: how many agents join now (present from now)."""
    cap = int(value)
    gi[CAP, g] = cap
    if gi[PRESENT, g] >= cap:
        return 0
    n = cap - gi[PRESENT, g]
    gi[PRESENT, g] = cap
    return int(n)


@compiled
def short_of_room(s: IntArray, room: int, need: int) -> bool:
    """Whether the attempts' arrays lack room for `need` more; if so, `s[NEED]` says how much in all."""
    if room - s[ATTEMPTS] < need:
        s[NEED] = s[ATTEMPTS] + need
        return True
    return False


@compiled
def abandon_at_end(day: Day, end_s: float, on_hold: int) -> None:
    """The day ends: those still `on_hold` whose patience ran out before the end abandoned."""
    af, ai, qi = day[1], day[2], day[4]
    for q in range(qi.shape[1]):
        c = qi[HEAD, q]
        while c >= 0:
            if ai[OUTCOME, c] == on_hold and af[DEADLINE, c] < end_s:
                ai[OUTCOME, c] = ABANDONED
                af[END, c] = af[DEADLINE, c]
            c = ai[NEXT, c]


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
def read_draws(day: Day, table: FloatArray, offset: IntArray, c: int) -> bool:
    """Attempt c's draws from its (queue, number) table; False when that table is not drawn yet."""
    s, af, ai = day[0], day[1], day[2]
    start = offset[ai[Q, c], ai[NUMBER, c]]
    if start < 0:
        s[DRAW_QUEUE], s[DRAW_NUMBER] = ai[Q, c], ai[NUMBER, c]
        return False
    i = start + ai[LOCAL, c]
    af[SERVICE, c] = table[TABLE_SERVICE, i]
    af[DEADLINE, c] = af[T, c] + table[TABLE_PATIENCE, i]
    af[DEFLECT_U, c] = table[TABLE_DEFLECT, i]
    af[RETRY_U, c] = table[TABLE_RETRY, i]
    af[DELAY, c] = table[TABLE_DELAY, i]
    ai[DRAWN, c] = 1
    return True


@compiled
def stop_before(
    day: Day, table: FloatArray, offset: IntArray, room: int, need: int, kind: int, x: int
) -> int:
    """Why the loop stops before the event at the heap's top: GROW (for `need` attempts), DRAW, or GO on."""
    if short_of_room(day[0], room, need):
        return GROW
    if kind == RETRY and day[2][DRAWN, x] == 0 and not read_draws(day, table, offset, x):
        return DRAW
    return GO


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
