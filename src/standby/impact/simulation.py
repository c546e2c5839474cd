"""The outage scenario simulated: replications of the centre's day with and without it.

`run_impact` is the whole of it: check the scenario (`impact.scenario`), work out what
the outage does and what the plan's strategies do about it (`impact.strategies`),
build the two days (`impact.day`), simulate `replications` pairs of days on common
random numbers (`impact.draws`, `impact.engine`), count them (`impact.tally`) and
report means with 95% confidence intervals (`impact.aggregate`).

Reproducible: replication i draws from `SeedSequence(seed, spawn_key=(i, ...))` only,
and replications are summed in their own order, so the same seed gives the same result,
bit for bit, with one process or many. Replications run in other processes when
`workers` asks for more than one, or, with `workers=None`, when there are enough of
them for the processes to pay for their start (PARALLEL_MIN_CALLS simulated calls).
Worker processes are started fresh ("spawn"), which is safe inside a threaded server;
as with any use of multiprocessing, a script calling `run_impact` with several workers
must do so under `if __name__ == "__main__":`.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np

from standby.errors import ScenarioInvalid
from standby.impact.aggregate import breaches, day_outcome, estimate, recovery
from standby.impact.day import DayModel, build_days
from standby.impact.replication import Job, replicate, replicate_in_worker, start_worker
from standby.impact.results import (
    Cost,
    DayOutcome,
    Estimate,
    Happening,
    ImpactResult,
    Scenario,
    ScheduledCallback,
)
from standby.impact.scenario import check_scenario
from standby.impact.strategies import Effect, resolve
from standby.impact.tally import DayTally
from standby.plan.fields import format_clock_time
from standby.plan.schema import Plan
from standby.plan.topology import Topology

PARALLEL_MIN_CALLS = 3_000_000
"""With workers=None, replications go to other processes only past this many simulated calls (about
ten seconds' work on one core): a fresh process takes about a second to start."""


def _check_run(replications: int, seed: int, workers: int | None, handling_cv: float | None) -> None:
    if replications < 1:
        raise ScenarioInvalid(f"--replications: at least 1, got {replications}")
    if seed < 0:
        raise ScenarioInvalid(f"--seed: a whole number of 0 or more, got {seed}")
    if workers is not None and workers < 1:
        raise ScenarioInvalid(f"workers: at least 1, got {workers}")
    if handling_cv is not None and not handling_cv > 0:
        raise ScenarioInvalid(f"handling_cv: the coefficient of variation must be above 0, got {handling_cv}")


def _processes(workers: int | None, replications: int, baseline: DayModel) -> int:
    if workers is None:
        calls = 2 * sum(sum(q.calls) for q in baseline.queues) * replications
        if calls < PARALLEL_MIN_CALLS:
            return 1
        workers = os.cpu_count() or 1
    return max(1, min(workers, replications))


def run_impact(
    plan: Plan,
    scenario: Scenario,
    *,
    replications: int = 20,
    seed: int = 1,
    callbacks: Sequence[ScheduledCallback] = (),
    workers: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    handling_cv: float | None = None,
) -> ImpactResult:
    """Simulate the scenario against the same day without it; the outage's own cost with 95% CIs.

    `handling_cv` switches handling times from exponential to lognormal with that
    coefficient of variation (same mean `aht_s`). `on_progress(done, total)` is called
    in this process as replications finish.
    """
    _check_run(replications, seed, workers, handling_cv)
    check_scenario(plan, scenario, callbacks)
    effect = resolve(plan, Topology.from_plan(plan), scenario)
    job = impact_job(plan, effect, seed=seed, callbacks=callbacks, handling_cv=handling_cv)
    baseline_day = job.baseline
    results: list[tuple[DayTally, DayTally] | None] = [None] * replications
    processes = _processes(workers, replications, baseline_day)
    if processes == 1:
        for i in range(replications):
            results[i] = replicate(job, i)
            if on_progress is not None:
                on_progress(i + 1, replications)
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            processes, mp_context=context, initializer=start_worker, initargs=(job,)
        ) as pool:
            futures = [pool.submit(replicate_in_worker, i) for i in range(replications)]
            for done, future in enumerate(as_completed(futures), start=1):
                i, baseline, outage = future.result()
                results[i] = (baseline, outage)
                if on_progress is not None:
                    on_progress(done, replications)
    pairs = [r for r in results if r is not None]
    return impact_result(plan, scenario, job, pairs)


def impact_job(
    plan: Plan,
    effect: Effect,
    *,
    seed: int,
    callbacks: Sequence[ScheduledCallback] = (),
    handling_cv: float | None = None,
) -> Job:
    """Both days of an outage's effect, ready to replicate (the scenario already checked)."""
    baseline_day, outage_day = build_days(plan, effect, callbacks)
    index = {q.id: i for i, q in enumerate(plan.queues)}
    tolerance_queues = tuple(
        dict.fromkeys(
            index[t.queue]
            for t in plan.impact_tolerances
            if t.max_unanswered_calls is not None and t.queue in index
        )
    )
    return Job(baseline_day, outage_day, seed, handling_cv, tolerance_queues, effect.happenings)


def impact_result(
    plan: Plan,
    scenario: Scenario,
    job: Job,
    pairs: Sequence[tuple[DayTally, DayTally]],
    baseline: DayOutcome | None = None,
) -> ImpactResult:
    """The replications' pairs of days summed up: the outage's own cost with 95% CIs.

    `baseline` is the normal day's outcome over the same replications, when the caller has it
    (the forecast's options share one normal day).
    """
    baseline_day, outage_day = job.baseline, job.outage
    out = [o for _, o in pairs]
    if baseline is None:
        baseline = day_outcome(baseline_day, [b for b, _ in pairs])
    outage = day_outcome(outage_day, out)

    def paired(field: str) -> Estimate:
        """Outage minus baseline, replication by replication."""
        return estimate([getattr(o, field) - getattr(b, field) for b, o in pairs])

    idle = outage_day.idle_wages - baseline_day.idle_wages
    partner = outage_day.partner_wages - baseline_day.partner_wages
    lost = np.array([o.lost_value - b.lost_value for b, o in pairs])
    cost = Cost(
        idle_wages=Estimate.exact(idle),
        lost_value=estimate(lost),
        total=estimate(lost + idle + partner),
        partner_wages=Estimate.exact(partner),
    )
    extra = np.sum([o.unanswered_by_minute - b.unanswered_by_minute for b, o in pairs], axis=0) / len(pairs)
    found = breaches(plan, baseline_day, outage_day, scenario.at, scenario.ends, extra, job.tolerance_queues)
    back = recovery(baseline, outage, outage_day, scenario.ends)
    names = {q.id: q.name for q in plan.queues}
    story = list(job.happenings)
    for breach in found:
        what = (
            f"out for {breach.limit:.0f} minutes"
            if breach.kind == "max_outage_minutes"
            else f"over {breach.limit:.0f} calls unanswered because of the outage"
        )
        story.append(_happening(breach.minute, f"{names[breach.queue]} {what}: impact tolerance breached"))
    for queue_id, minute in back.items():
        if minute is not None and touched(outage, baseline, queue_id):
            story.append(_happening(minute, f"{names[queue_id]} back on its service level"))
    story.sort(key=lambda h: h.minute)
    return ImpactResult(
        organisation=plan.organisation.name,
        currency=plan.organisation.currency,
        scenario=scenario,
        interval_minutes=baseline_day.grid.interval,
        replications=len(pairs),
        seed=job.seed,
        baseline=baseline,
        outage=outage,
        customers_affected=paired("customers_affected"),
        vulnerable_affected=paired("vulnerable_affected"),
        calls_unanswered=paired("calls_unanswered"),
        callbacks_missed=paired("callbacks_missed"),
        cost=cost,
        recovery=back,
        breaches=tuple(found),
        happenings=tuple(story),
    )


def _happening(minute: int, text: str) -> Happening:
    return Happening(minute, f"{format_clock_time(minute)} {text}")


def touched(outage: DayOutcome, baseline: DayOutcome, queue_id: str) -> bool:
    """Whether the outage changed the queue's day at all (only those get a 'back' line)."""
    return any(
        (o.answered_in_target, o.abandoned, o.unreachable, o.deflected)
        != (b.answered_in_target, b.abandoned, b.unreachable, b.deflected)
        for b, o in zip(baseline.queues[queue_id], outage.queues[queue_id], strict=True)
    )
