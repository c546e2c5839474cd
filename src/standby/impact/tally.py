"""One simulated day's record counted into the report's figures, with numpy, per queue and interval.

- An attempt is counted in the interval it reached the centre in (as ACD reports do):
  it ends there as answered, abandoned, unreachable or deflected, or is still waiting
  at the end of the day. Answered within the queue's `answer_within_s` is "in target".
- **Backlog** is how many callers are on hold at the interval's end.
- **Agents busy** on a queue is the time agents spent on its calls and callbacks in the
  interval, divided by its length (the mean number busy).
- **Calls unanswered** are attempts that ended in anything but an answer (still waiting
  at the day's end included).
- **Value lost** is the queue's `value_per_call` for each customer who never got through
  that day: a customer who redials five times at a dead line and is then answered has
  cost a wait, not a sale or a complaint; one who gives up for good has cost one.
- **A customer is affected** when any attempt of theirs met a dead line, was deflected,
  abandoned, was answered later than the threshold, was cut off, or was still waiting at
  the day's end; a customer whose callback was missed is affected too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from standby.impact.day import DayModel, Grid
from standby.impact.draws import Draws
from standby.impact.records import ABANDONED, ANSWERED, DEFLECTED, UNREACHABLE, WAITING, DayRecord

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

OFFERED, ANSWERED_COUNT, IN_TARGET, ABANDONED_COUNT, UNREACHABLE_COUNT, DEFLECTED_COUNT, WAIT_SUM = range(7)
FIELDS = 7
_OUTCOMES = WAITING + 1  # the outcome codes are 0 to WAITING


@dataclass(frozen=True, eq=False)
class DayTally:
    """One day's figures: counts[queue, interval, field], backlog and busy[queue, interval]."""

    counts: FloatArray
    backlog: FloatArray
    busy: FloatArray
    unanswered_by_minute: FloatArray  # [tolerance queue, minute of the day]
    customers_affected: float
    vulnerable_affected: float
    calls_unanswered: float
    callbacks_due: float
    callbacks_missed: float
    lost_value: float
    attempts: int


def _by_boundary(values: FloatArray, queue: IntArray, queues: int, grid: Grid) -> IntArray:
    """How many of `values` (times) fall at each interval's end, per queue: [queue, interval], not summed.

    A time counts at the end of the first interval whose end is at or after it (an end exactly
    on a boundary counts there); infinite times and times past the last interval, nowhere.
    """
    m = grid.count
    finite = np.isfinite(values)
    if not finite.all():
        values, queue = values[finite], queue[finite]
    position = (values - grid.start * 60.0) / (grid.interval * 60.0)
    first = np.minimum(np.maximum(np.ceil(position).astype(np.int64) - 1, 0), m)
    counts = np.bincount(queue * (m + 1) + first, minlength=queues * (m + 1))
    return counts.reshape(queues, m + 1)[:, :m]


def _backlog(arrivals: FloatArray, ends: FloatArray, queue: IntArray, queues: int, grid: Grid) -> FloatArray:
    """How many attempts are on hold at each interval's end: arrived by then less ended by then."""
    arrived_less_ended = _by_boundary(arrivals, queue, queues, grid) - _by_boundary(ends, queue, queues, grid)
    backlog: FloatArray = np.cumsum(arrived_less_ended, axis=1).astype(np.float64)
    return backlog


def _busy(starts: FloatArray, ends: FloatArray, queue: IntArray, queues: int, grid: Grid) -> FloatArray:
    """Mean agents busy per queue and interval, from the calls' [start, end): [queue, interval].

    Each call adds its overlap with each interval: the part in its first interval, the part in
    its last, and whole intervals between (a running sum), all with bincount, no sorting.
    """
    m = grid.count
    length = grid.interval * 60.0
    day_start = grid.start * 60.0
    s = np.minimum(starts - day_start, m * length)  # calls start within the day
    e = np.minimum(ends - day_start, m * length)
    per = 1.0 / length  # times are not negative: truncation is floor, and much faster than //
    first = np.minimum((s * per).astype(np.int64), m - 1)
    last = np.minimum((e * per).astype(np.int64), m - 1)
    size = queues * m
    within = first == last
    total: FloatArray = np.bincount(
        queue * m + first, np.where(within, e - s, (first + 1) * length - s), minlength=size
    ).astype(np.float64)
    total += np.bincount(queue * m + last, np.where(within, 0.0, e - last * length), minlength=size)
    spans = ~within & (last > first + 1)
    if spans.any():
        steps = np.bincount(queue[spans] * (m + 1) + first[spans] + 1, minlength=queues * (m + 1))
        steps -= np.bincount(queue[spans] * (m + 1) + last[spans], minlength=queues * (m + 1))
        total += length * np.cumsum(steps.reshape(queues, m + 1), axis=1)[:, :m].ravel()
    busy: FloatArray = total.reshape(queues, m) / length
    return busy


def tally(model: DayModel, record: DayRecord, draws: Draws, tolerance_queues: Sequence[int]) -> DayTally:
    """Count one day's record: compiled where the compiled engine runs (the same figures, bit for bit)."""
    from standby.impact.engine import compiled_engine  # engine imports numba only when asked

    if compiled_engine() is None:
        return tally_numpy(model, record, draws, tolerance_queues)
    return _tally_compiled(model, record, draws, tolerance_queues)


def _tally_compiled(
    model: DayModel, record: DayRecord, draws: Draws, tolerance_queues: Sequence[int]
) -> DayTally:
    """`tally_numpy`'s figures, counted by `impact.compiled_tally`."""
    from standby.impact import compiled_tally as ct  # numba: when first needed

    grid = model.grid
    nq, m = len(model.queues), grid.count
    length = grid.interval * 60.0
    shape = np.array([grid.start * 60.0, length, 1.0 / length, float(m)])
    thresholds = np.array([spec.threshold_s for spec in model.queues])
    counts = np.zeros((nq * m, FIELDS))
    backlog = np.zeros((nq, m))
    customers = draws.time.size  # customers are numbered by their first call
    hit = np.zeros(customers, dtype=np.bool_)
    through = np.zeros(customers, dtype=np.bool_)
    called = np.zeros(customers, dtype=np.bool_)
    rows = np.full(nq, -1, dtype=np.int64)
    first_rows: dict[int, int] = {}
    for row, i in enumerate(tolerance_queues):
        first_rows.setdefault(i, row)
        rows[i] = first_rows[i]
    by_minute = np.zeros((len(tolerance_queues), grid.end + 1))
    unanswered = ct.count_attempts(
        record.queue, record.time, record.outcome, record.end, record.cut, record.customer,
        thresholds, shape, counts, backlog, hit, through, called, rows, by_minute,
        np.zeros((nq, m + 1), dtype=np.int64),
    )  # fmt: skip
    for row, i in enumerate(tolerance_queues):
        if first_rows[i] != row:
            by_minute[row] = by_minute[first_rows[i]]
    first_part, last_part = np.zeros(nq * m), np.zeros(nq * m)
    steps = np.zeros((nq, m + 1), dtype=np.int64)
    answered = record.outcome == ANSWERED
    spans = ct.busy_parts(
        record.end, record.service_end, record.queue, answered, shape, first_part, last_part, steps
    )
    made = ~np.isnan(record.callback_start)
    cb_queue = np.array([c[1] for c in model.callbacks], dtype=np.int64)
    spans = (
        ct.busy_parts(
            record.callback_start, record.callback_end, cb_queue, made, shape, first_part, last_part, steps
        )
        or spans
    )
    total = first_part + last_part
    if spans:
        total += length * np.cumsum(steps, axis=1)[:, :m].ravel()
    missed = ~made
    vulnerable = float((hit & draws.vulnerable).sum()) + float(draws.callback_vulnerable[missed].sum())
    values = np.array([spec.value_per_call for spec in model.queues])
    never_through = called & ~through
    return DayTally(
        counts=counts.reshape(nq, m, FIELDS),
        backlog=backlog,
        busy=total.reshape(nq, m) / length,
        unanswered_by_minute=by_minute,
        customers_affected=float(hit.sum() + missed.sum()),
        vulnerable_affected=vulnerable,
        calls_unanswered=float(unanswered),
        callbacks_due=float(len(model.callbacks)),
        callbacks_missed=float(missed.sum()),
        lost_value=float(np.bincount(draws.queue[never_through], minlength=nq) @ values),
        attempts=int(record.time.size),
    )


def tally_numpy(
    model: DayModel, record: DayRecord, draws: Draws, tolerance_queues: Sequence[int]
) -> DayTally:
    """Count one day's record with numpy (the reference of the compiled count; without numba, the count)."""
    grid = model.grid
    nq, m = len(model.queues), grid.count
    q, t, outcome, end = record.queue, record.time, record.outcome, record.end
    interval_s = grid.interval * 60.0
    bins = np.minimum(((t - model.start_s) * (1.0 / interval_s)).astype(np.int64), m - 1)  # t >= start
    cell = q * m + bins
    threshold = np.array([spec.threshold_s for spec in model.queues])[q]
    answered = outcome == ANSWERED
    wait = np.where(answered, end - t, 0.0)
    in_target = answered & (wait <= threshold)
    counts = np.zeros((nq * m, FIELDS))
    size = nq * m
    # How each cell's attempts ended, every outcome at once: [cell, outcome].
    ended_as = np.bincount(cell * _OUTCOMES + outcome, minlength=size * _OUTCOMES).reshape(size, _OUTCOMES)
    counts[:, OFFERED] = ended_as.sum(axis=1)
    counts[:, ANSWERED_COUNT] = ended_as[:, ANSWERED]
    counts[:, IN_TARGET] = np.bincount(cell, in_target, minlength=size)
    counts[:, ABANDONED_COUNT] = ended_as[:, ABANDONED]
    counts[:, UNREACHABLE_COUNT] = ended_as[:, UNREACHABLE]
    counts[:, DEFLECTED_COUNT] = ended_as[:, DEFLECTED]
    counts[:, WAIT_SUM] = np.bincount(cell, wait, minlength=size)

    backlog = _backlog(t, end, q, nq, grid)
    cb_queue = np.array([c[1] for c in model.callbacks], dtype=np.int64)
    made = ~np.isnan(record.callback_start)
    busy = _busy(
        np.concatenate((end[answered], record.callback_start[made])),
        np.concatenate((record.service_end[answered], record.callback_end[made])),
        np.concatenate((q[answered], cb_queue[made])),
        nq,
        grid,
    )

    unanswered = ~answered
    affected = unanswered | (wait > threshold) | record.cut
    hit = np.zeros(draws.time.size, dtype=np.bool_)  # customers are numbered by their first call
    hit[record.customer[affected]] = True
    missed = ~made
    vulnerable = float((hit & draws.vulnerable).sum()) + float(draws.callback_vulnerable[missed].sum())
    values = np.array([spec.value_per_call for spec in model.queues])
    through = np.zeros(draws.time.size, dtype=np.bool_)
    through[record.customer[answered]] = True
    called = np.zeros(draws.time.size, dtype=np.bool_)
    called[record.customer] = True
    never_through = called & ~through
    ended = unanswered & np.isfinite(end)
    minutes = grid.end + 1
    by_minute = np.zeros((len(tolerance_queues), minutes))
    for row, i in enumerate(tolerance_queues):
        pick = ended & (q == i)
        by_minute[row] = np.bincount((end[pick] // 60.0).astype(np.int64), minlength=minutes)[:minutes]
    return DayTally(
        counts=counts.reshape(nq, m, FIELDS),
        backlog=backlog,
        busy=busy,
        unanswered_by_minute=by_minute,
        customers_affected=float(hit.sum() + missed.sum()),
        vulnerable_affected=vulnerable,
        calls_unanswered=float(unanswered.sum()),
        callbacks_due=float(len(model.callbacks)),
        callbacks_missed=float(missed.sum()),
        lost_value=float(np.bincount(draws.queue[never_through], minlength=nq) @ values),
        attempts=int(t.size),
    )
