"""Every option simulated for every length weighed, on common random numbers, and summed up. Pure.

One replication simulates the normal day once and every option's outage day at every
length on the same random numbers (`impact.replication.replicate_options`): options
differ only by what they change, never by chance. Each option and length is then summed
up exactly as `standby impact` sums up its scenario (`impact.simulation.impact_result`),
so at the outage's start, with no strategy running, an option's figures are those of
`standby impact` for the same scenario and seed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from standby.forecast.live import LiveState, Option, Span, applicable, carried_out, options, span
from standby.forecast.live_figures import LiveDraws, waiting_now, with_agents_available
from standby.forecast.recommend import recommend
from standby.forecast.records import Forecast, OptionForecast, Outlook, ToleranceOutlook
from standby.impact.aggregate import breach_bounds, day_outcome
from standby.impact.day import DayModel
from standby.impact.draws import Draws
from standby.impact.replication import Job, replicate_options
from standby.impact.results import ImpactResult
from standby.impact.scenario import check_scenario
from standby.impact.simulation import impact_job, impact_result, touched
from standby.impact.strategies import resolve
from standby.impact.tally import DayTally
from standby.plan.schema import Plan
from standby.plan.topology import Topology


def _between(
    minute: int | None, bounds: tuple[int | None, int | None] | None
) -> tuple[int | None, int | None]:
    """The breach minute's 95% interval, around the minute itself (exact without bounds)."""
    if bounds is None:
        return minute, minute
    early, late = bounds
    if minute is not None:  # the mean's own crossing lies within its bounds' (rounding aside)
        early = minute if early is None else min(early, minute)
        late = None if late is None else max(late, minute)
    return early, late


def outlook(
    plan: Plan,
    result: ImpactResult,
    length: Span,
    pairs: Sequence[tuple[DayTally, DayTally]],
    tolerance_queues: tuple[int, ...],
) -> Outlook:
    """One simulated option and length, as the commander weighs it."""
    breached: dict[tuple[str, str], int] = {(b.queue, b.kind): b.minute for b in result.breaches}
    extra = np.array([o.unanswered_by_minute - b.unanswered_by_minute for b, o in pairs])
    bounds = breach_bounds(plan, length.scenario.at, extra, tolerance_queues)
    tolerances = []
    for t in plan.impact_tolerances:
        kind = "max_outage_minutes"
        minute = breached.get((t.queue, kind))
        out = float(t.max_outage_minutes)
        tolerances.append(ToleranceOutlook(t.queue, kind, out, minute, minute, minute))
        if t.max_unanswered_calls is not None:
            kind = "max_unanswered_calls"
            minute = breached.get((t.queue, kind))
            early, late = _between(minute, bounds.get(t.queue))
            limit = float(t.max_unanswered_calls)
            tolerances.append(ToleranceOutlook(t.queue, kind, limit, minute, early, late))
    back = {q: m for q, m in result.recovery.items() if touched(result.outage, result.baseline, q)}
    return Outlook(
        lasting=length.lasting,
        ends=length.scenario.ends,
        cut_at_day_end=length.cut_at_day_end,
        customers_affected=result.customers_affected,
        vulnerable_affected=result.vulnerable_affected,
        callbacks_missed=result.callbacks_missed,
        calls_unanswered=result.calls_unanswered,
        cost=result.cost.total,
        tolerances=tuple(tolerances),
        back_on_target=back,
    )


def _from_the_centre(plan: Plan, state: LiveState, job: Job, ends: int) -> Job:
    """The job with the outage day's agents, from now to the outage's end, those the centre says."""
    if not state.available:
        return job
    index = {q.id: i for i, q in enumerate(plan.queues)}
    available = {index[q]: n for q, n in state.available if q in index}
    teams = {g: t.agents for g, t in enumerate(plan.teams)}  # the teams' groups come first
    day = with_agents_available(job.outage, available, teams, state.now, ends)
    return replace(job, outage=day)


def _joining(plan: Plan, state: LiveState, day: DayModel) -> Callable[[Draws], Draws] | None:
    """How callers the centre says are waiting now, and the replay has not, join the outage days."""
    if not state.waiting:
        return None
    index = {q.id: i for i, q in enumerate(plan.queues)}
    posted = {index[q]: n for q, n in state.waiting if q in index}

    def joined(draws: Draws) -> Draws:
        held = waiting_now(day, draws, state.now)  # the same until now on every option's day
        return LiveDraws(draws, {q: n - int(held[q]) for q, n in posted.items()}, state.now * 60.0)

    return joined


def forecast(
    plan: Plan,
    state: LiveState,
    *,
    replications: int = 20,
    seed: int = 1,
    topology: Topology | None = None,
    between: Callable[[], None] | None = None,
) -> Forecast:
    """Every option for every length, recommended; ScenarioInvalid when the outage cannot be simulated.

    `between()` is called after each replication (the runner keeps to its CPU budget there).
    """
    topology = topology or Topology.from_plan(plan)
    spans = [span(plan, state, n) for n in state.lengths]
    for s in spans:
        check_scenario(plan, s.scenario, state.callbacks, topology)
    choices = options(applicable(plan, topology, state, spans))
    jobs: list[tuple[Option, Span, Job, int]] = []
    distinct: dict[tuple[object, ...], int] = {}  # options that change the same things share their days
    days: list[Job] = []
    for option in choices:
        for s in spans:
            effect = resolve(plan, topology, s.scenario, carried_out(state, option, s.scenario.at))
            key = (s.lasting, effect.moves, tuple(sorted(effect.deflect.items())), effect.deflect_from)
            job = impact_job(plan, effect, seed=seed, callbacks=state.callbacks)
            job = _from_the_centre(plan, state, job, s.scenario.ends)
            if key not in distinct:
                distinct[key] = len(days)
                days.append(job)
            jobs.append((option, s, job, distinct[key]))
    pairs: list[list[tuple[DayTally, DayTally]]] = [[] for _ in days]
    for i in range(replications):
        normal, tallies = replicate_options(
            days[0].baseline,
            [j.outage for j in days],
            seed=seed,
            replication=i,
            handling_cv=None,
            tolerance_queues=days[0].tolerance_queues,
            outage_draws=_joining(plan, state, days[0].outage),
        )
        for found, day in zip(pairs, tallies, strict=True):
            found.append((normal, day))
        if between is not None:
            between()
    names = {s.id: s.name for s in plan.strategies}
    by_option: dict[str, dict[int, Outlook]] = {o.id: {} for o in choices}
    # The normal day is the same for every option (simulated once a replication): summed up once.
    normal_day = day_outcome(days[0].baseline, [b for b, _ in pairs[0]])
    for option, s, job, which in jobs:
        result = impact_result(plan, s.scenario, job, pairs[which], normal_day)
        by_option[option.id][s.lasting] = outlook(plan, result, s, pairs[which], job.tolerance_queues)
    forecasts = tuple(
        OptionForecast(o.id, o.strategies, tuple(names.get(x, x) for x in o.strategies), by_option[o.id])
        for o in choices
    )
    judged = [state.estimate] if state.estimate is not None else list(state.lengths)
    recommended, reason = recommend(plan, forecasts, judged, plan.organisation.currency)
    return Forecast(
        now=state.now,
        since=spans[0].scenario.at,
        down=state.down,
        running=tuple(state.running),
        estimate=state.estimate,
        options=forecasts,
        recommended=recommended,
        reason=reason,
        replications=replications,
        seed=seed,
        currency=plan.organisation.currency,
        calls_waiting=state.waiting,
        agents_available=state.available,
        callbacks_booked=len(state.callbacks),
    )
