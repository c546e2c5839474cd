"""One replication, in this process or in a worker: both days on the same numbers, counted.

Kept apart from `impact.simulation` so that a worker process imports only numpy and the
engine, not the plan's models.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from standby.impact.day import DayModel
from standby.impact.draws import Draws
from standby.impact.engine import simulate
from standby.impact.results import Happening
from standby.impact.tally import DayTally, tally


@dataclass(frozen=True, eq=False)
class Job:
    """What a replication needs: both days, the seed, how handling times are drawn."""

    baseline: DayModel
    outage: DayModel
    seed: int
    handling_cv: float | None
    tolerance_queues: tuple[int, ...]
    happenings: tuple[Happening, ...] = ()


def replicate(job: Job, replication: int) -> tuple[DayTally, DayTally]:
    """One replication: the normal day and the outage day on the same random numbers."""
    draws = Draws(job.baseline, job.seed, replication, job.handling_cv)
    baseline = tally(job.baseline, simulate(job.baseline, draws), draws, job.tolerance_queues)
    outage = tally(job.outage, simulate(job.outage, draws), draws, job.tolerance_queues)
    return baseline, outage


def replicate_options(
    baseline: DayModel,
    outages: Sequence[DayModel],
    *,
    seed: int,
    replication: int,
    handling_cv: float | None,
    tolerance_queues: tuple[int, ...],
    outage_draws: Callable[[Draws], Draws] | None = None,
) -> tuple[DayTally, list[DayTally]]:
    """One replication of one normal day and several outage days, all on the same random numbers.

    The forecast's options differ only by what they change: the normal day is simulated
    once, and every option's day sees the same callers, handling times and patience.
    `outage_draws` makes the outage days' numbers from the normal day's (callers the centre
    says are waiting join them: `forecast.live_figures`).
    """
    draws = Draws(baseline, seed, replication, handling_cv)
    normal = tally(baseline, simulate(baseline, draws), draws, tolerance_queues)
    other = outage_draws(draws) if outage_draws is not None else draws
    return normal, [tally(day, simulate(day, other), other, tolerance_queues) for day in outages]


_job: Job | None = None


def start_worker(job: Job) -> None:
    """Keep the job in this worker process (the pool's initializer)."""
    global _job
    _job = job


def replicate_in_worker(replication: int) -> tuple[int, DayTally, DayTally]:
    """One replication of the worker's job, with its number (results come back in any order)."""
    assert _job is not None, "the worker was started without its job"
    baseline, outage = replicate(_job, replication)
    return replication, baseline, outage
