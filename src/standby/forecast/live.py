"""The live state a forecast starts from, and the options it weighs. Pure: time comes in as minutes.

- **The scenario.** The components down since the outage's start (`since`, a minute of the
  plan's day) stay down for `now - since` minutes already passed plus the minutes it may
  still last. The day is simulated from its start, so what the queues have already lost
  is the outage replayed from its start on the same random numbers as what is to come.
  An outage that began before the forecast day is taken from the day's start; one that
  would outlast the day is cut at its end (`Outlook.cut_at_day_end` says so).
- **Strategies running** act from the minute they were started, their agents arriving
  their target's activation later (`impact.strategies.resolve(carried_out=...)`).
- **Options.** Doing nothing more (`none`); each strategy that applies (its trigger holds
  for the outage at one of the lengths weighed) and is not yet running, started now; all
  of them together when more than two apply (the plan as written, what `standby impact`
  carries out); and the pairs of them, in the plan's order, while the options stay within `MAX_OPTIONS`
  (the plan has no money budget for strategies: the budget is the forecast's own work,
  each option being simulated for every length and replication).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from standby.errors import ScenarioInvalid
from standby.impact.results import Scenario, ScheduledCallback
from standby.impact.scenario import forecast_day
from standby.impact.strategies import resolve
from standby.plan.fields import format_clock_time
from standby.plan.schema import Plan
from standby.plan.topology import Topology

LASTING = (30, 60, 120)
"""The lengths weighed, in more minutes from now, besides the commander's own estimate."""
MAX_OPTIONS = 12
"""At most this many options, doing nothing more included (see the module docstring)."""
NONE = "none"


@dataclass(frozen=True)
class LiveState:
    """An open outage as of now: minutes of the plan's day, the strategies running and since when."""

    down: tuple[str, ...]
    since: int
    now: int
    running: Mapping[str, int] = field(default_factory=dict)
    estimate: int | None = None  # the commander's estimate of the minutes it still lasts
    home_ready: tuple[tuple[str, int], ...] = ()
    """Agents ready to work from home by team, where teams took the home check lately."""
    callbacks: tuple[ScheduledCallback, ...] = ()
    """The callbacks booked for the rest of the day (besides the queues' `callbacks_per_hour`)."""
    waiting: tuple[tuple[str, int], ...] = ()
    """Calls waiting now by queue, as the centre posts them (`forecast.live_figures`)."""
    available: tuple[tuple[str, int], ...] = ()
    """Agents available now by queue, as the centre posts them."""

    @property
    def lengths(self) -> tuple[int, ...]:
        """The lengths weighed: 30, 60 and 120 more minutes, and the commander's estimate."""
        if self.estimate is None or self.estimate in LASTING:
            return LASTING
        return tuple(sorted({*LASTING, self.estimate}))


@dataclass(frozen=True)
class Option:
    """What the commander could do now: start these strategies (none: carry on as things are)."""

    strategies: tuple[str, ...]

    @property
    def id(self) -> str:
        """'none', or the strategy ids joined by '+'."""
        return "+".join(self.strategies) or NONE


@dataclass(frozen=True)
class Span:
    """The outage as simulated for one length: from its start (in the day) to its end."""

    lasting: int
    scenario: Scenario
    cut_at_day_end: bool


def span(plan: Plan, state: LiveState, lasting: int) -> Span:
    """The scenario for the outage lasting `lasting` more minutes; ScenarioInvalid when the day is over."""
    day = forecast_day(plan)
    if day is None:
        raise ScenarioInvalid("no queue in the plan has a forecast: there is no day to forecast")
    first, last = day
    if state.now >= last:
        raise ScenarioInvalid(
            f"it is {format_clock_time(state.now)}:"
            f" the plan's forecast day ended at {format_clock_time(last)}"
        )
    if state.now < first:
        raise ScenarioInvalid(
            f"it is {format_clock_time(state.now)}: the plan's forecast day starts at"
            f" {format_clock_time(first)}"
        )
    since = max(first, min(state.since, state.now))
    ends = state.now + lasting
    cut = ends > last
    scenario = Scenario(state.down, since, min(ends, last) - since, home_ready=state.home_ready)
    return Span(lasting, scenario, cut)


def carried_out(state: LiveState, option: Option, since: int) -> dict[str, int]:
    """Strategy id -> the minute it acts from: those running since they started, the option's from now."""
    started = {s: max(since, m) for s, m in state.running.items()}
    for strategy in option.strategies:
        started.setdefault(strategy, state.now)
    return started


def applicable(plan: Plan, topology: Topology, state: LiveState, spans: Sequence[Span]) -> list[str]:
    """The strategies that apply to the outage at any length weighed and are not running, in plan order."""
    found: set[str] = set()
    for s in spans:
        found.update(resolve(plan, topology, s.scenario).triggered)
    return [s.id for s in plan.strategies if s.id in found and s.id not in state.running]


def options(strategies: Sequence[str], limit: int = MAX_OPTIONS) -> list[Option]:
    """Doing nothing more, each strategy alone, all of them (more than two), then pairs within `limit`."""
    found = [Option(())] + [Option((s,)) for s in strategies]
    if len(strategies) > 2:
        found.append(Option(tuple(strategies)))  # the plan as written: what `standby impact` carries out
    for pair in combinations(strategies, 2):
        if len(found) >= limit:
            break
        found.append(Option(pair))
    return found[: max(1, limit)]
