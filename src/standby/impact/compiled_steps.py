"""What both compiled day engines are made of: the day's arrays, and the steps they take alike.

`impact.compiled_day` (the event list) and `impact.compiled_free_times` (the groups' free
times) keep one day's state in the same arrays, packed and unpacked by
`impact.compiled_run`; their rows and the loop's codes are named here. So are the steps
both engines take the same way (the queues' lines, a caller calling again, the next piece
of work, answering, deflection, abandoning, a queue's change, the loop's stops), so that
each is written once. What differs between the engines (how an agent frees: an event, or
the heap of a group's free times) is in their own modules.

Imports numba: imported only when a day is simulated (`impact.engine`).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from standby.impact.compiled_heap import compiled, push
from standby.impact.day import DEFLECT, FACTOR
from standby.impact.draws import MAX_ATTEMPTS
from standby.impact.queueing import ABANDON, RETRY
from standby.impact.records import ABANDONED, ANSWERED, CALLBACK_GRACE_S, DEFLECTED, WAITING

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
