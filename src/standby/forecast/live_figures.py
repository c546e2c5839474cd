"""The centre's own live queue figures, where it posts them: the forecast's day starts from them. Pure.

The centre may post, to the metrics receiver, per queue the calls waiting now
(`queue.<id>.calls_waiting`) and the agents available to take it (`queue.<id>.agents_available`).
The outage is still replayed from its start (what the queues have already lost), and at the
forecast's minute the outage day is set to what the centre says:

- **Agents available.** Each team's agents able to take a queue with a figure work, from
  now until the outage ends, at the share of its planned capacity that the figure is of the
  agents the day as simulated has on that queue now (the lowest share over its queues with
  figures; at most the agents it has). After the outage, the roster again.
- **Calls waiting.** Callers the replay does not have on hold at that minute join the queue
  then: in each replication, the calls waiting posted less those the replay has waiting
  (simulated up to now, on the replication's own numbers), never fewer than none. Their
  numbers are drawn from streams of their own, (replication, 2, queue, attempt), so every
  other caller keeps theirs. A replay with more callers waiting than the centre reports is
  left as it is: the forecast then errs on the side of more unanswered calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from standby.impact.day import DayModel, Grid, capacity_series, with_capacity
from standby.impact.draws import Attempts, Draws, IntArray, draw_attempts, stream
from standby.impact.engine import simulate
from standby.impact.records import WAITING

WAITING_METRIC = "queue.{}.calls_waiting"
AVAILABLE_METRIC = "queue.{}.agents_available"


def queue_of_metric(metric: str) -> tuple[str, str] | None:
    """(queue id, 'calls_waiting' or 'agents_available') of a live figure's metric name, else None."""
    head, _, rest = metric.partition(".")
    queue, _, figure = rest.rpartition(".")
    if head != "queue" or not queue or figure not in ("calls_waiting", "agents_available"):
        return None
    return queue, figure


def with_agents_available(
    day: DayModel, available: Mapping[int, int], teams_agents: Mapping[int, int], now: int, ends: int
) -> DayModel:
    """The outage day with the groups' capacity from `now` to `ends` scaled to the agents available.

    `available` is queue index -> agents the centre says are available; `teams_agents` is group
    index -> its team's headcount, the most it can have (only these groups are scaled).
    """
    if not available:
        return day
    shares: dict[int, float] = {}
    for g in teams_agents:  # the teams' own groups: agents moved by a strategy come as planned
        group = day.groups[g]
        # A queue nobody can take in the day as simulated (a lost site) has no share to scale by.
        found = [
            available[q] / int(day.answering[q, now]) if day.answering[q, now] else 1.0
            for q in group.skills
            if q in available
        ]
        if found:
            shares[g] = min(found)
    capacity = {}
    for g, share in shares.items():
        series = capacity_series(day, g)
        scaled = np.minimum(np.rint(series[now:ends] * share).astype(np.int64), teams_agents[g])
        if not np.array_equal(scaled, series[now:ends]):
            series = series.copy()
            series[now:ends] = scaled
            capacity[g] = series
    return with_capacity(day, capacity) if capacity else day


def waiting_now(day: DayModel, draws: Draws, now: int) -> IntArray:
    """Calls on hold at minute `now` per queue in the day as simulated up to then, on these numbers."""
    start = day.grid.start
    until = replace(
        day,
        changes=tuple(c for c in day.changes if c.time < now * 60.0),
        grid=Grid(start, 1, max(0, now - start)),  # the engines stop at the grid's end
    )
    record = simulate(until, draws)
    # Callers after `now` never came: their attempts are left as they were drawn, waiting.
    held = record.queue[(record.outcome == WAITING) & (record.time <= now * 60.0)]
    found: IntArray = np.bincount(held, minlength=len(day.queues)).astype(np.int64)
    return found


class LiveDraws(Draws):
    """A replication's numbers with callers joining the queues at one moment (the outage day's only)."""

    def __init__(self, base: Draws, joining: Mapping[int, int], at_s: float) -> None:
        """`base`'s numbers, and `joining[q]` more callers on queue q arriving at `at_s`."""
        self._seed, self._replication, self._cv = base._seed, base._replication, base._cv
        self.queues = base.queues
        self._base = base
        self._counts = list(base._counts)
        self._extra: dict[int, tuple[int, int]] = {}  # queue -> (first local index, how many)
        times, queue_of, local, vulnerable, firsts = [], [], [], [], []
        for q, n in sorted(joining.items()):
            if n <= 0:
                continue
            spec = self.queues[q]
            rng = stream(self._seed, self._replication, 2, q, 0)
            self._extra[q] = (self._counts[q], n)
            times.append(np.full(n, at_s))
            queue_of.append(np.full(n, q, dtype=np.int64))
            local.append(self._counts[q] + np.arange(n, dtype=np.int64))
            firsts.append(draw_attempts(rng, n, spec, self._cv))
            vulnerable.append(rng.random(n) < spec.vulnerable_share)
            self._counts[q] += n
        cut = int(np.searchsorted(base.time, at_s, side="right"))  # after the calls of that moment

        def merged(old: np.ndarray, new: list[np.ndarray]) -> np.ndarray:
            return np.concatenate([old[:cut], *new, old[cut:]]) if new else old

        self.time = merged(base.time, times)
        self.queue = merged(base.queue, queue_of)
        self.local = merged(base.local, local)
        self.service = merged(base.service, [a.service for a in firsts])
        self.deadline = merged(base.deadline, [at_s + a.patience for a in firsts])
        self.deflect = merged(base.deflect, [a.deflect for a in firsts])
        self.retry = merged(base.retry, [a.retry for a in firsts])
        self.delay = merged(base.delay, [a.delay for a in firsts])
        self.vulnerable = merged(base.vulnerable, vulnerable)
        self.callback_vulnerable = base.callback_vulnerable
        self.callback_service = base.callback_service
        self._later = {}

    def attempt(self, queue: int, number: int) -> Attempts:
        """The base's draws of attempt `number` for the queue's customers, then the joiners'."""
        key = (queue, number)
        found = self._later.get(key)
        if found is None:
            found = self._base.attempt(queue, number)
            if queue in self._extra:
                _, n = self._extra[queue]
                rng = stream(self._seed, self._replication, 2, queue, number)
                more = draw_attempts(rng, n, self.queues[queue], self._cv)
                found = Attempts(
                    *(np.concatenate((a, b)) for a, b in zip(_fields(found), _fields(more), strict=True))
                )
            self._later[key] = found
        return found


def _fields(a: Attempts) -> tuple[np.ndarray, ...]:
    return (a.service, a.patience, a.deflect, a.retry, a.delay)
