"""Checking an outage scenario against the plan before simulating it.

Every problem is a `ScenarioInvalid` whose message says what is wrong and where, in
the words of the command line (`--down`, `--at`, `--minutes`) and of the plan.

A scenario that no continuity strategy covers is **not** rejected: showing what an
uncovered outage costs is the point of the exercise, and the result says that no
strategy covered it. What is rejected as meaningless is a scenario that changes
nothing the simulated day can see: no queue unreachable, no site with agents lost,
no handling slowed (such as a statistics feed nothing depends on). Its answer would
be "the same day, at no cost", which is more likely a mistaken id than a question.
"""

from __future__ import annotations

from collections.abc import Sequence

from standby.errors import ScenarioInvalid
from standby.impact.results import Scenario, ScheduledCallback
from standby.impact.strategies import join_names, resolve
from standby.plan.fields import format_clock_time
from standby.plan.rules import suggest
from standby.plan.schema import Plan
from standby.plan.topology import Topology


def _clock(minute: int) -> str:
    return format_clock_time(minute) if 0 <= minute <= 24 * 60 else f"minute {minute}"


def forecast_day(plan: Plan) -> tuple[int, int] | None:
    """The first and last minute the plan's forecasts cover, or None without a forecast."""
    forecasts = [q.forecast for q in plan.queues if q.forecast is not None]
    if not forecasts:
        return None
    start = min(f.start for f in forecasts)
    end = max(f.start + f.interval_minutes * len(f.calls) for f in forecasts)
    return start, end


def _check_plan(plan: Plan) -> tuple[int, int]:
    if not plan.teams or not any(t.agents > 0 for t in plan.teams):
        raise ScenarioInvalid(
            "the plan has no teams with agents: with nobody to answer, there is no day to simulate"
        )
    day = forecast_day(plan)
    if day is None:
        raise ScenarioInvalid(
            "no queue in the plan has a forecast: add `forecast: {interval_minutes, start, calls}`"
            " to the queues so the simulation knows how many calls to expect"
        )
    return day


def _check_down(plan: Plan, down: Sequence[str]) -> None:
    if not down:
        raise ScenarioInvalid("--down names no component: give at least one component id, such as 'acd'")
    known = plan.components_by_id
    for cid in down:
        if cid in known:
            continue
        if cid in plan.sites_by_id:
            needs = [
                m
                for d in plan.sites_by_id[cid].depends_on
                for m in (d.any_of if not isinstance(d, str) else [d])
            ]
            hint = f"; take down what it depends on, such as {needs[0]!r}" if needs else ""
            raise ScenarioInvalid(f"--down: {cid!r} is a site, not a component{hint}")
        raise ScenarioInvalid(f"--down: the plan has no component {cid!r}{suggest(cid, known)}")


def _check_times(scenario: Scenario, day: tuple[int, int]) -> None:
    start, end = day
    span = f"{format_clock_time(start)} to {format_clock_time(end)}"
    if scenario.minutes <= 0:
        raise ScenarioInvalid(f"--minutes: the outage must last at least one minute, got {scenario.minutes}")
    if not start <= scenario.at < end:
        raise ScenarioInvalid(
            f"--at: the outage starts at {_clock(scenario.at)}, outside the forecast day ({span})"
        )
    if scenario.ends > end:
        raise ScenarioInvalid(
            f"--minutes: an outage of {scenario.minutes} minutes from {format_clock_time(scenario.at)}"
            f" ends after the forecast day ({span}); at most {end - scenario.at} minutes fit"
        )


def _check_callbacks(plan: Plan, callbacks: Sequence[ScheduledCallback], day: tuple[int, int]) -> None:
    start, end = day
    for n, callback in enumerate(callbacks, start=1):
        where = f"callback {n} (due {_clock(callback.due)})"
        if callback.queue not in plan.queues_by_id:
            hint = suggest(callback.queue, plan.queues_by_id)
            raise ScenarioInvalid(f"{where}: the plan has no queue {callback.queue!r}{hint}")
        if not start <= callback.due < end:
            raise ScenarioInvalid(
                f"{where}: due outside the forecast day"
                f" ({format_clock_time(start)} to {format_clock_time(end)})"
            )


def check_covered(plan: Plan, scenario: Scenario) -> None:
    """Raise ScenarioInvalid when no strategy of the plan would act on this outage.

    The command line and the API refuse such a scenario unless asked (`--uncovered`): the
    question "what does this outage cost?" usually means "with our plan", and a plan with
    nothing to say about it is what the manager needs to hear first. The simulation
    itself runs it either way.
    """
    effect = resolve(plan, Topology.from_plan(plan), scenario)
    if effect.triggered or effect.classification is None:
        return
    down = join_names([plan.components_by_id[c].name for c in dict.fromkeys(scenario.down)])
    raise ScenarioInvalid(
        f"--down: no strategy in the plan covers losing {down} (a {effect.classification} outage):"
        " add one to the plan's strategies, or pass --uncovered to see what it costs uncovered"
    )


def check_scenario(
    plan: Plan,
    scenario: Scenario,
    callbacks: Sequence[ScheduledCallback] = (),
    topology: Topology | None = None,
) -> None:
    """Raise ScenarioInvalid, saying what and where, unless the scenario can be simulated on the plan.

    `topology` is the plan's, when the caller has it already (building it is most of the check's cost
    on a large plan).
    """
    day = _check_plan(plan)
    _check_down(plan, scenario.down)
    _check_times(scenario, day)
    _check_callbacks(plan, callbacks, day)
    effect = resolve(plan, topology or Topology.from_plan(plan), scenario)
    if not effect.touches_the_day(plan):
        down = join_names([plan.components_by_id[c].name for c in dict.fromkeys(scenario.down)])
        also = ""
        if effect.failed - set(scenario.down):
            also = f" (nor does what fails with it: {join_names(sorted(effect.failed - set(scenario.down)))})"
        raise ScenarioInvalid(
            f"--down: losing {down} makes no queue unreachable, loses no site with agents and slows no"
            f" handling{also}: the day would be the same as without it"
        )
