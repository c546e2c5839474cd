"""The impact part of a review: the outage as it really ran, simulated, beside the live forecasts
made during it, and each impact tolerance kept or breached. Pure: no database; time passed in.

The simulation reuses Impact (`impact.simulation.run_impact`): the outage's root causes go
down at the minute of the day it started (in the plan's time zone) for as many minutes as
it lasted, and the plan's strategies run as the plan says. A handful of replications with
a fixed seed: the same records give the same figures.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from standby.detect.history import OutageRecord
from standby.errors import ScenarioInvalid
from standby.impact.report import Labels, happening_text, headline, queue_figures
from standby.impact.results import ImpactResult, Scenario
from standby.impact.simulation import run_impact
from standby.plan.fields import format_clock_time
from standby.plan.schema import Plan
from standby.review.draft import Forecast, ImpactPart, Simulation, Tolerance
from standby.review.measures import duration_words

REPLICATIONS = 5
SEED = 1


def scenario_of(outage: OutageRecord, *, timezone: str, now: datetime) -> Scenario:
    """The outage as a scenario: its causes down from its local start for its length in whole minutes."""
    local = outage.started_at.astimezone(ZoneInfo(timezone))
    minutes = max(1, math.ceil(outage.duration_s(now) / 60))
    return Scenario(tuple(outage.causes), local.hour * 60 + local.minute, minutes)


def simulate(plan: Plan, outage: OutageRecord, *, now: datetime) -> tuple[ImpactResult | None, str | None]:
    """The simulated outage, or None and why it could not be simulated."""
    if not outage.causes:
        return None, "the outage names no root cause to take down"
    scenario = scenario_of(outage, timezone=plan.organisation.timezone, now=now)
    try:
        return run_impact(plan, scenario, replications=REPLICATIONS, seed=SEED, workers=1), None
    except ScenarioInvalid as refused:
        return None, f"the outage could not be simulated on the plan: {refused}"


def simulation_of(result: ImpactResult, labels: Labels) -> Simulation:
    """What the review says of a simulated outage."""
    return Simulation(
        down=tuple(labels.component(c) for c in result.scenario.down),
        at=format_clock_time(result.scenario.at),
        minutes=result.scenario.minutes,
        headline=headline(result, labels),
        customers_affected=round(result.customers_affected.mean, 1),
        calls_unanswered=round(result.calls_unanswered.mean, 1),
        callbacks_missed=round(result.callbacks_missed.mean, 1),
        cost=round(result.cost.total.mean, 2),
        currency=result.currency,
        happenings=tuple(happening_text(h) for h in result.happenings),
    )


def forecasts_of(entries: Iterable[tuple[datetime, dict[str, Any]]]) -> tuple[Forecast, ...]:
    """The live forecasts the timeline holds (entries of kind "forecast"), oldest first."""
    found = []
    for at, data in entries:
        found.append(
            Forecast(
                as_of=str(data.get("as_of") or at.isoformat()),
                recommended=str(data.get("recommended") or ""),
                reason=str(data.get("reason") or ""),
            )
        )
    return tuple(found)


def tolerances(
    plan: Plan, outage: OutageRecord, result: ImpactResult | None, *, now: datetime
) -> tuple[Tolerance, ...]:
    """Each impact tolerance of a queue the outage stopped: kept or breached, and by how much.

    The outage's length is the record's (start to end); unanswered calls are the
    simulation's extra unanswered calls for the queue (unknown without a simulation).
    """
    hit = set(outage.queues) | set(outage.ever.get("queues", ()))
    minutes = outage.duration_s(now) / 60
    extra: dict[str, float] = {}
    if result is not None:
        for f in queue_figures(result, Labels.of(plan)):
            extra[f.queue] = (f.offered[0] - f.answered[0]) - (f.offered[1] - f.answered[1])
    found: list[Tolerance] = []
    for tolerance in plan.impact_tolerances:
        if tolerance.queue not in hit:
            continue
        limit = float(tolerance.max_outage_minutes)
        found.append(_judged(tolerance.queue, "max_outage_minutes", limit, minutes, "min"))
        if tolerance.max_unanswered_calls is not None:
            calls = extra.get(tolerance.queue)
            found.append(
                _judged(
                    tolerance.queue,
                    "max_unanswered_calls",
                    float(tolerance.max_unanswered_calls),
                    calls,
                    "calls",
                )
            )
    return tuple(found)


def _judged(queue: str, kind: str, limit: float, actual: float | None, unit: str) -> Tolerance:
    if actual is None:
        return Tolerance(
            queue, kind, limit, None, None, None, f"unknown: no simulation ({limit:g} {unit} allowed)"
        )
    actual = round(actual, 1)
    kept = actual <= limit
    by = round(abs(actual - limit), 1)

    def shown(value: float) -> str:
        return duration_words(value * 60) if unit == "min" else f"{value:,.0f} calls"

    if kept:
        text = f"kept: {shown(actual)} of {shown(limit)} allowed ({shown(by)} to spare)"
    else:
        text = f"breached by {shown(by)}: {shown(actual)} against {shown(limit)} allowed"
    return Tolerance(queue, kind, limit, actual, kept, by, text)


def impact_part(
    plan: Plan | None,
    outage: OutageRecord | None,
    forecast_entries: Sequence[tuple[datetime, dict[str, Any]]],
    *,
    now: datetime,
    simulated: tuple[ImpactResult | None, str | None] | None = None,
) -> ImpactPart:
    """The review's impact part; `simulated` is a simulation already run (else it is run here)."""
    forecasts = forecasts_of(forecast_entries)
    if outage is None or plan is None:
        why = "declared by hand: no outage was recorded to simulate" if outage is None else "no plan in force"
        return ImpactPart(None, why, forecasts, ())
    result, not_simulated = simulated if simulated is not None else simulate(plan, outage, now=now)
    simulation = simulation_of(result, Labels.of(plan)) if result is not None else None
    return ImpactPart(simulation, not_simulated, forecasts, tolerances(plan, outage, result, now=now))
