"""The multi-queue day of benchmarks/simulation_day.py, and how each tool's calls are counted.

A day from 07:00 to 21:00 in 30-minute intervals: four queues with their own forecast
(one shape through the day, each queue's own volume), handling time and patience; five
teams with several skills in priority order, on shifts that start and end at different
times. Times here are seconds from the day's start (07:00).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

# Calls in each half hour, relative to the queue's volume: a morning peak, a lunchtime
# dip, a smaller afternoon peak and a quiet evening.
SHAPE = (
    0.40, 0.60, 0.80, 1.00, 1.10, 1.20, 1.20, 1.15, 1.05, 0.95, 0.90, 0.95, 1.05, 1.10,
    1.05, 1.00, 0.95, 0.90, 0.85, 0.80, 0.70, 0.65, 0.60, 0.55, 0.50, 0.45, 0.40, 0.35,
)  # fmt: skip
INTERVAL_S = 1800.0
START_MINUTE = 7 * 60


@dataclass(frozen=True)
class QueueDay:
    """One queue: calls per interval, mean handling time, mean patience, answer-within threshold."""

    id: str
    calls: tuple[float, ...]
    aht_s: float
    patience_s: float
    answer_within_s: float


@dataclass(frozen=True)
class TeamDay:
    """One team: agents on shift from `start_s` to `end_s`, skills (queue indices) in priority order."""

    id: str
    agents: int
    start_s: float
    end_s: float
    skills: tuple[int, ...]


@dataclass(frozen=True)
class CentreDay:
    """The whole day every tool simulates."""

    queues: tuple[QueueDay, ...]
    teams: tuple[TeamDay, ...]

    @property
    def end_s(self) -> float:
        """When the day ends (the forecast's end; every shift ends by then)."""
        return INTERVAL_S * len(SHAPE)

    def eligible(self, queue: int) -> list[int]:
        """The teams skilled for `queue`, those ranking it highest first (ties: first team first)."""
        ranked = [(t.skills.index(queue), i) for i, t in enumerate(self.teams) if queue in t.skills]
        return [i for _, i in sorted(ranked)]


def centre_day(scale: float = 1.0) -> CentreDay:
    """The benchmark's day; `scale` multiplies every volume and every team."""

    def calls(volume: float) -> tuple[float, ...]:
        return tuple(round(volume * scale * s, 1) for s in SHAPE)

    def hours(start: float, end: float) -> tuple[float, float]:
        return (start * 3600.0 - START_MINUTE * 60.0, end * 3600.0 - START_MINUTE * 60.0)

    queues = (
        QueueDay("emergency", calls(40), 360.0, 300.0, 10.0),
        QueueDay("billing", calls(160), 300.0, 180.0, 20.0),
        QueueDay("faults", calls(120), 420.0, 240.0, 20.0),
        QueueDay("sales", calls(100), 240.0, 120.0, 30.0),
    )
    teams = (
        TeamDay("emergency", round(12 * scale), *hours(7, 21), (0, 2)),
        TeamDay("early", round(50 * scale), *hours(7, 15), (1, 2, 3)),
        TeamDay("late", round(42 * scale), *hours(13, 21), (2, 1)),
        TeamDay("sales", round(20 * scale), *hours(8, 18), (3, 1)),
        TeamDay("floor", round(16 * scale), *hours(10, 19), (2, 0, 3)),
    )
    return CentreDay(queues, teams)


@dataclass
class Counted:
    """One replication of one tool: calls offered, and per queue what became of the counted ones."""

    calls: int
    seconds: float
    offered: list[int]
    answered: list[int]
    in_target: list[int]
    abandoned: list[int]


Call = tuple[int, float, float, bool]  # queue, arrival, wait, answered


def counted(day: CentreDay, calls: list[Call], offered_total: int, seconds: float) -> Counted:
    """Count the calls arriving before the last interval (they have all ended by the day's end)."""
    n = len(day.queues)
    result = Counted(offered_total, seconds, [0] * n, [0] * n, [0] * n, [0] * n)
    last = day.end_s - INTERVAL_S
    for q, arrived, wait, answered in calls:
        if arrived >= last:
            continue
        result.offered[q] += 1
        if answered:
            result.answered[q] += 1
            if wait <= day.queues[q].answer_within_s:
                result.in_target[q] += 1
        else:
            result.abandoned[q] += 1
    return result


def mean_ci(values: list[float]) -> tuple[float, float]:
    """Mean and half-width of its 95% interval (normal approximation past 30 values)."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, 0.0
    t = {2: 12.706, 3: 4.303, 4: 3.182, 5: 2.776, 6: 2.571, 8: 2.365, 10: 2.262, 20: 2.093}.get(
        len(values), 2.0 if len(values) < 30 else 1.96
    )
    return mean, t * statistics.stdev(values) / math.sqrt(len(values))


def shares(runs: list[Counted], queue: int | None = None) -> dict[str, tuple[float, float]]:
    """Service level, answered and abandoned over offered (all queues, or one), with intervals."""

    def of(run: Counted, field: list[int]) -> float:
        if queue is None:
            return sum(field) / sum(run.offered)
        return field[queue] / run.offered[queue]

    return {
        "service_level": mean_ci([of(r, r.in_target) for r in runs]),
        "answered": mean_ci([of(r, r.answered) for r in runs]),
        "abandoned": mean_ci([of(r, r.abandoned) for r in runs]),
    }


def agree(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Whether two means differ by no more than their intervals combined."""
    return abs(a[0] - b[0]) <= math.hypot(a[1], b[1])


class Timed(Protocol):
    """One replication of one tool, as timed: calls offered and wall seconds."""

    calls: int
    seconds: float


R = TypeVar("R", bound=Timed)
WARM_UP = 1_000_000
"""The replication each tool runs untimed before the rounds (none of the timed ones)."""


@dataclass
class Rounds(Generic[R]):
    """Each tool's replications, round by round, and the CPU seconds each round's share took."""

    runs: list[list[list[R]]]  # [tool][round]
    cpu_seconds: list[list[float]]  # [tool][round]: this process's CPU time, counting included

    def all(self, tool: int) -> list[R]:
        """A tool's replications, every round's."""
        return [run for one in self.runs[tool] for run in one]

    def calls_per_cpu_s(self, tool: int) -> float:
        """A tool's calls offered over the CPU seconds of its replications (waits for the CPU left out)."""
        return sum(r.calls for one in self.runs[tool] for r in one) / sum(self.cpu_seconds[tool])


def interleaved(
    tools: Sequence[tuple[str, int, Callable[[int], R]]],
    rounds: int,
    say: Callable[[str], None] | None = None,
) -> Rounds[R]:
    """Each tool's (name, replications, runner) in rounds: each round runs each tool's share in turn.

    Interleaving puts every tool under the same load, round by round, so that a ratio taken
    within a round compares like with like on a shared machine. Replication numbers run on
    from round to round: no replication is repeated. Each tool first runs one replication
    that is not timed (number WARM_UP): importing Ciw alone takes a second or more.
    """
    found: Rounds[R] = Rounds([[] for _ in tools], [[] for _ in tools])
    for _, _, runner in tools:  # untimed: imports (SimPy's and Ciw's are made at first use) and warming
        runner(WARM_UP)
    for r in range(rounds):
        for t, (_, replications, runner) in enumerate(tools):
            share = range(replications * r // rounds, replications * (r + 1) // rounds)
            began = time.process_time()
            found.runs[t].append([runner(i) for i in share])
            found.cpu_seconds[t].append(time.process_time() - began)
        if say is not None:
            say(f"round {r + 1} of {rounds} done")
    return found


def calls_per_s(runs: Sequence[Timed]) -> float:
    """Calls offered over seconds spent, over some replications."""
    return sum(r.calls for r in runs) / sum(r.seconds for r in runs)


def speed_ratio(name: str, value: float, target: float) -> dict[str, Any]:
    """One entry of a benchmark's --json "ratios": how many times faster, against its target."""
    return {"name": name, "value": round(value, 2), "target": target, "unit": "x", "better": "higher"}
