"""One day on the compiled event list: the model and its draws packed into arrays, run, the record unpacked.

`impact.compiled_day` holds the loop and `impact.compiled_steps` names each array's rows.
Here is what only Python does: the arrays a model gives every day simulated on it (made
once per model), the tables of later attempts' draws (made once per replication, shared
by its days, each table drawn when the loop first asks for it), growing the attempts'
arrays when callers call again, and the record.

Imports numba: imported only when a day is simulated (`impact.engine`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from heapq import heapify

import numpy as np

from standby.impact import compiled_day as cd
from standby.impact import compiled_free_times as cft
from standby.impact import compiled_steps as cs
from standby.impact.day import CAPACITY, DEFLECT, DayModel
from standby.impact.draws import MAX_ATTEMPTS, Draws
from standby.impact.free_times import at_once_ends
from standby.impact.queueing import _END, CALLBACK, CHANGE, Event, eligible_groups
from standby.impact.records import WAITING, DayRecord

FloatArray = cs.FloatArray
IntArray = cs.IntArray
_Step = Callable[[cs.Day], int]  # one call of a compiled loop: FINISHED, GROW or DRAW


@dataclass(frozen=True)
class _ModelArrays:
    """What a model gives every day simulated on it (copied where the loop writes)."""

    share: FloatArray
    retries: bool
    deflects: bool
    change_values: FloatArray
    change_ints: IntArray
    due: FloatArray
    callback_queue: IntArray
    skill_at: IntArray
    skills: IntArray
    eligible_at: IntArray
    eligible: IntArray
    heap: FloatArray
    first_order: int


def _offsets(lists: list[list[int]]) -> tuple[IntArray, IntArray]:
    at = np.zeros(len(lists) + 1, dtype=np.int64)
    at[1:] = np.cumsum([len(x) for x in lists])
    flat = np.array([v for x in lists for v in x], dtype=np.int64)
    return at, flat


def _model_arrays(model: DayModel) -> _ModelArrays:
    """The model's arrays, made on its first day and kept on it."""
    found: _ModelArrays | None = model.__dict__.get("_compiled_arrays")
    if found is not None:
        return found
    share = np.array([q.retry_share for q in model.queues], dtype=np.float64)
    # The day's first events, as `DayState.start_events` orders them (heapq itself, on tuples).
    heap: list[Event] = [(c.time, i, CHANGE, i, 0) for i, c in enumerate(model.changes)]
    k = len(heap)
    heap += [(due, k + i, CALLBACK, i, 0) for i, (due, _, _) in enumerate(model.callbacks)]
    heapify(heap)
    heap.append(_END)
    skill_at, skills = _offsets([list(g.skills) for g in model.groups])
    eligible_at, eligible = _offsets(eligible_groups(model))
    found = _ModelArrays(
        share=share,
        retries=bool((share > 0).any()),
        deflects=any(c.kind == DEFLECT for c in model.changes),
        change_values=np.array([c.value for c in model.changes], dtype=np.float64),
        change_ints=np.array(
            [
                [c.kind for c in model.changes],
                [c.target for c in model.changes],
                [c.cut for c in model.changes],
            ],
            dtype=np.int64,
        ).reshape(3, len(model.changes)),
        due=np.array([due for due, _, _ in model.callbacks], dtype=np.float64),
        callback_queue=np.array([q for _, q, _ in model.callbacks], dtype=np.int64),
        skill_at=skill_at,
        skills=skills,
        eligible_at=eligible_at,
        eligible=eligible,
        heap=np.array(heap, dtype=np.float64).reshape(len(heap), 5),
        first_order=len(heap) - 1,
    )
    model.__dict__["_compiled_arrays"] = found  # a frozen dataclass: its __dict__ takes the cache
    return found


class _Tables:
    """A replication's draws of later attempts, one (queue, number) table after another in one array."""

    def __init__(self, queues: int, size: int) -> None:
        """No table yet; room for `size` customers' draws."""
        self.table: FloatArray = np.empty((5, max(size, 16)), dtype=np.float64)
        self.used = 0
        self.offset: IntArray = np.full((queues, MAX_ATTEMPTS), -1, dtype=np.int64)

    def add(self, draws: Draws, queue: int, number: int) -> None:
        """Draw the table of (queue, number) and append it."""
        a = draws.attempt(queue, number)
        n = len(a.service)
        if self.used + n > self.table.shape[1]:
            grown = np.empty((5, max(2 * self.table.shape[1], self.used + n)), dtype=np.float64)
            grown[:, : self.used] = self.table[:, : self.used]
            self.table = grown
        end = self.used + n
        rows = (cs.TABLE_SERVICE, cs.TABLE_PATIENCE, cs.TABLE_DEFLECT, cs.TABLE_RETRY, cs.TABLE_DELAY)
        for row, values in zip(rows, (a.service, a.patience, a.deflect, a.retry, a.delay), strict=True):
            self.table[row, self.used : end] = values
        self.offset[queue, number] = self.used
        self.used = end


def _tables(draws: Draws) -> _Tables:
    found: _Tables | None = draws.__dict__.get("_compiled_tables")
    if found is None:
        found = _Tables(len(draws.queues), len(draws.time))
        draws.__dict__["_compiled_tables"] = found
    return found


def _heap_room(model: DayModel, attempts: int) -> int:
    # At most: every change and callback due, every callback made, and per attempt its
    # abandonment, its call's end and its own RETRY event; and the sentinel. On the
    # groups' free times, a group's pending event too, and one left stale by each change.
    return 2 * len(model.changes) + len(model.groups) + 2 * len(model.callbacks) + 3 * attempts + 2


def _start(model: DayModel, draws: Draws, arrays: _ModelArrays, spare: int | None) -> cs.Day:
    """The day's arrays before its first event, with room for `spare` later attempts."""
    n = len(draws.time)
    if spare is None:
        spare = n // 4 + 64 if arrays.retries else 0
    room = n + spare
    # Rows a day never reads are left unwritten (on a large plan, half the day's set-up):
    # deflection's uniforms without a DEFLECT change, and without retries everything only a
    # caller's next attempt reads; the line's links are written when a call joins a line.
    af = np.empty((8, room), dtype=np.float64)
    af[cs.T, :n] = draws.time
    af[cs.SERVICE, :n] = draws.service
    af[cs.DEADLINE, :n] = draws.deadline
    af[cs.END, :n] = math.inf
    af[cs.SERVICE_END, :n] = math.nan
    ai = np.empty((8, room), dtype=np.int64)
    ai[cs.Q, :n] = draws.queue
    ai[cs.OUTCOME, :n] = WAITING
    ai[cs.CUT, :n] = 0
    if arrays.deflects:
        af[cs.DEFLECT_U, :n] = draws.deflect
    if arrays.retries:
        af[cs.RETRY_U, :n] = draws.retry
        af[cs.DELAY, :n] = draws.delay
        ai[cs.LOCAL, :n] = draws.local
        ai[cs.CUSTOMER, :n] = np.arange(n, dtype=np.int64)
        ai[cs.NUMBER, :n] = 0
        ai[cs.DRAWN, :n] = 1
    nq, ng, nc = len(model.queues), len(model.groups), len(model.callbacks)
    qf = np.empty((3, nq), dtype=np.float64)
    qf[cs.SHARE] = arrays.share
    qf[cs.DEFLECTING] = 0.0
    qf[cs.FACTORED] = 1.0
    qi = np.full((5, nq), -1, dtype=np.int64)
    qi[cs.REACHABLE] = 1
    gi = np.zeros((3, ng), dtype=np.int64)
    cf = np.empty((4, nc), dtype=np.float64)
    cf[cs.DUE] = arrays.due
    cf[cs.CB_SERVICE] = draws.callback_service
    cf[cs.CB_START] = math.nan
    cf[cs.CB_END] = math.nan
    ci = np.empty((2, nc), dtype=np.int64)
    ci[cs.CB_QUEUE] = arrays.callback_queue
    ci[cs.CB_NEXT] = -1
    size = len(arrays.heap)
    heap_room = _heap_room(model, room)
    heap = np.empty((heap_room, 5), dtype=np.float64)
    heap[:size] = arrays.heap
    s = np.zeros(cs.STATE_SIZE, dtype=np.int64)
    s[cs.ATTEMPTS] = n
    s[cs.HEAP_SIZE] = size
    s[cs.ORDER_NEXT] = arrays.first_order
    s[cs.RETRIES] = arrays.retries
    return (
        s, af, ai, qf, qi, gi, cf, ci, heap,
        arrays.skill_at, arrays.skills, arrays.eligible_at, arrays.eligible,
        np.empty((2, heap_room), dtype=np.int64),
    )  # fmt: skip


def _grown(model: DayModel, day: cs.Day, need: int) -> cs.Day:
    """The day with room for at least `need` attempts (twice as many as before, at least)."""
    s, af, ai, qf, qi, gi, cf, ci, heap, skill_at, skills, eligible_at, eligible, _ = day
    used, size = int(s[cs.ATTEMPTS]), int(s[cs.HEAP_SIZE])
    room = max(need, 2 * af.shape[1])
    af2 = np.empty((af.shape[0], room), dtype=np.float64)
    af2[:, :used] = af[:, :used]
    ai2 = np.empty((ai.shape[0], room), dtype=np.int64)
    ai2[:, :used] = ai[:, :used]
    heap_room = _heap_room(model, room)
    heap2 = np.empty((heap_room, 5), dtype=np.float64)
    heap2[:size] = heap[:size]
    scratch = np.empty((2, heap_room), dtype=np.int64)
    return (s, af2, ai2, qf, qi, gi, cf, ci, heap2, skill_at, skills, eligible_at, eligible, scratch)


def simulate_compiled(model: DayModel, draws: Draws, *, spare: int | None = None) -> DayRecord:
    """One day on the compiled event list: the record `impact.engine.simulate_events` gives.

    `spare`: room for so many later attempts at first (a quarter of the first calls; the
    tests give none, so that the arrays must grow).
    """
    arrays = _model_arrays(model)
    tables = _tables(draws)
    first_calls, end_s, values, ints = len(draws.time), model.end_s, arrays.change_values, arrays.change_ints

    def step(day: cs.Day) -> int:
        return cd.run_day(day, first_calls, end_s, values, ints, tables.table, tables.offset)

    return _record(draws, _run(model, draws, tables, _start(model, draws, arrays, spare), step))


def _run(model: DayModel, draws: Draws, tables: _Tables, day: cs.Day, step: _Step) -> cs.Day:
    """Call a compiled loop (`step`) until the day is finished, growing the arrays or drawing as it asks."""
    s = day[0]
    while (code := step(day)) != cs.FINISHED:
        if code == cs.GROW:
            day = _grown(model, day, int(s[cs.NEED]))
        else:
            tables.add(draws, int(s[cs.DRAW_QUEUE]), int(s[cs.DRAW_NUMBER]))
    return day


def _free_start(model: DayModel, draws: Draws, first_calls: int) -> cft.Free:
    """The groups' free times before the day's first event: nobody there, each heap its sentinel."""
    ng = len(model.groups)
    width = 1 + max((int(c.value) for c in model.changes if c.kind == CAPACITY), default=0)
    ft = np.empty((ng, width), dtype=np.float64)
    ft[:, 0] = math.inf
    fc = np.empty((ng, width), dtype=np.int64)
    fc[:, 0] = cft.NO_CALL
    gs = np.empty((2, ng), dtype=np.int64)
    gs[cft.SIZE] = 1
    gs[cft.LIVE] = -1
    return (
        ft, fc, gs, at_once_ends(model, draws, first_calls),
        np.full(len(model.callbacks), -1, dtype=np.int64), np.empty((2, width), dtype=np.int64),
    )  # fmt: skip


def simulate_compiled_free_times(model: DayModel, draws: Draws, *, spare: int | None = None) -> DayRecord:
    """One day (where `free_times.free_times_apply`) on the compiled free times: `simulate_events`'s record.

    The same arrays as `simulate_compiled`, and the groups' free times (`impact.compiled_free_times`).
    """
    arrays = _model_arrays(model)
    tables = _tables(draws)
    first_calls = int(np.searchsorted(draws.time, model.end_s))  # those within the day
    end_s, values, ints = model.end_s, arrays.change_values, arrays.change_ints
    day = _start(model, draws, arrays, spare)
    free = _free_start(model, draws, first_calls)

    def step(day: cs.Day) -> int:
        return cft.run_day(day, free, first_calls, end_s, values, ints, tables.table, tables.offset)

    day = _run(model, draws, tables, day, step)
    cft.finish(day, free, first_calls)
    return _record(draws, day)


def _record(draws: Draws, day: cs.Day) -> DayRecord:
    """The day's record; where nobody called again, the first calls' arrays are the draws' own."""
    s, af, ai, cf = day[0], day[1], day[2], day[6]
    n = int(s[cs.ATTEMPTS])
    outcome = ai[cs.OUTCOME, :n].astype(np.int8)
    end = af[cs.END, :n].copy()
    service_end = af[cs.SERVICE_END, :n].copy()
    cut = ai[cs.CUT, :n].astype(np.bool_)
    start, finish = cf[cs.CB_START].copy(), cf[cs.CB_END].copy()
    if n == len(draws.time):
        return DayRecord(
            draws.queue, np.arange(n, dtype=np.int64), np.zeros(n, dtype=np.int64), draws.time,
            outcome, end, service_end, cut, start, finish,
        )  # fmt: skip
    return DayRecord(
        ai[cs.Q, :n].copy(), ai[cs.CUSTOMER, :n].copy(), ai[cs.NUMBER, :n].copy(), af[cs.T, :n].copy(),
        outcome, end, service_end, cut, start, finish,
    )  # fmt: skip
