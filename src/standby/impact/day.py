"""The centre's day as the simulation runs it: queues, groups of agents, and what changes when.

Everything here is deterministic; chance lives in `impact.draws`. A day is built twice
from the same plan, once without the outage and once with it, with the same queues and
the same groups of agents in the same order, so both runs can share their random numbers.

- **The day** starts at the earliest forecast start and ends at the latest forecast end
  or shift end, whichever is later (agents still on shift clear the queue). Its
  intervals are the forecasts' own (the greatest common divisor when queues differ).
- **Groups of agents.** Each team is one group at its own site, skilled for its queues
  (those the site takes) in the team's order of priority. Each relocation or partner
  move of `impact.strategies` is a group of its own, empty on the normal day.
- **Capacity** of a group is how many of its agents may be working: the team's agents
  during their shift while their site is available; a move's agents from its start to
  its end (within the team's shift). A site lost at the outage start cuts off the calls
  its agents are on. Everything changes on whole minutes, so the day is held minute by
  minute and the engines are given only the changes.
- **Callbacks.** A queue's `callbacks_per_hour` are booked evenly over its forecast
  window (round(rate x hours) of them, each in the middle of its slot), each for a
  vulnerable customer with the queue's `vulnerable_share`; listed callbacks are added
  as given.
- **Agents on shift, working and idle but paid** (per interval, averaged minute by
  minute): on shift are the teams' rostered agents plus partner agents while active;
  working are those whose group has capacity and at least one reachable queue;
  the rest are idle but paid, and their wages (team `hourly_cost`) are the idle wages.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import reduce
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from standby.impact.results import CentreInterval, ScheduledCallback

if TYPE_CHECKING:  # worker processes import this module: keep the plan's models out of them
    from standby.impact.strategies import Effect
    from standby.plan.schema import Plan

REACH, DEFLECT, FACTOR, CAPACITY = 0, 1, 2, 3

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class QueueSpec:
    """A queue's numbers as the simulation uses them (times in seconds since midnight)."""

    id: str
    name: str
    aht_s: float
    patience_s: float | None
    threshold_s: float
    target: float
    retry_share: float
    retry_delay_s: float
    vulnerable_share: float
    value_per_call: float
    forecast_start_s: float
    interval_s: float
    calls: tuple[float, ...]
    callbacks: tuple[float, ...]


@dataclass(frozen=True)
class GroupSpec:
    """Agents who work together: one team at one site, or a partner's own agents."""

    label: str
    team: str | None
    site: str
    skills: tuple[int, ...]
    hourly_cost: float


@dataclass(frozen=True)
class Change:
    """At `time` (seconds), a queue's reachability, deflection or handling factor, or a group's capacity."""

    time: float
    kind: int
    target: int
    value: float
    cut: bool = False


@dataclass(frozen=True)
class Grid:
    """The reporting intervals: `count` intervals of `interval` minutes from `start`."""

    start: int
    interval: int
    count: int

    @property
    def end(self) -> int:
        """The minute the last interval ends."""
        return self.start + self.interval * self.count

    @property
    def starts(self) -> tuple[int, ...]:
        """The first minute of each interval."""
        return tuple(self.start + i * self.interval for i in range(self.count))


@dataclass(frozen=True, eq=False)
class DayModel:
    """One day to simulate: with or without the outage."""

    queues: tuple[QueueSpec, ...]
    groups: tuple[GroupSpec, ...]
    changes: tuple[Change, ...]
    grid: Grid
    callbacks: tuple[tuple[float, int, bool | None], ...]
    centre: tuple[CentreInterval, ...]
    idle_wages: float
    partner_wages: float
    reach: BoolArray  # [queue, minute]
    answering: IntArray  # [queue, minute]: agents able to take the queue

    @property
    def start_s(self) -> float:
        """When the simulated day starts, in seconds since midnight."""
        return self.grid.start * 60.0

    @property
    def end_s(self) -> float:
        """When the simulated day ends, in seconds since midnight."""
        return self.grid.end * 60.0


def day_grid(plan: Plan) -> Grid:
    """The day's intervals (the plan must have a forecast)."""
    forecasts = [q.forecast for q in plan.queues if q.forecast is not None]
    start = min(f.start for f in forecasts)
    interval = reduce(math.gcd, (f.interval_minutes for f in forecasts))
    end = max(f.start + f.interval_minutes * len(f.calls) for f in forecasts)
    end = max([end] + [t.shift.end for t in plan.teams if t.agents > 0 and t.shift.start < end])
    end = min(end, 24 * 60)
    return Grid(start, interval, math.ceil((end - start) / interval))


def _queue_specs(plan: Plan) -> tuple[QueueSpec, ...]:
    specs = []
    for q in plan.queues:
        f = q.forecast
        callbacks: tuple[float, ...] = ()
        if f is not None and q.callbacks_per_hour > 0:
            window = f.interval_minutes * len(f.calls) * 60.0
            count = round(q.callbacks_per_hour * window / 3600.0)
            callbacks = tuple(f.start * 60.0 + (i + 0.5) * window / count for i in range(count))
        specs.append(
            QueueSpec(
                id=q.id,
                name=q.name,
                aht_s=float(q.aht_s),
                patience_s=None if q.patience_s is None else float(q.patience_s),
                threshold_s=float(q.service_level.answer_within_s),
                target=float(q.service_level.target),
                retry_share=float(q.retry_share),
                retry_delay_s=float(q.retry_delay_s),
                vulnerable_share=float(q.vulnerable_share),
                value_per_call=float(q.value_per_call),
                forecast_start_s=0.0 if f is None else f.start * 60.0,
                interval_s=0.0 if f is None else f.interval_minutes * 60.0,
                calls=() if f is None else tuple(float(c) for c in f.calls),
                callbacks=callbacks,
            )
        )
    return tuple(specs)


def _groups(plan: Plan, effect: Effect) -> tuple[GroupSpec, ...]:
    index = {q.id: i for i, q in enumerate(plan.queues)}
    groups = []
    for team in plan.teams:
        site = plan.sites_by_id[team.site]
        skills = tuple(index[q] for q in team.queues if site.queues is None or q in site.queues)
        groups.append(GroupSpec(team.id, team.id, team.site, skills, float(team.hourly_cost)))
    for move in effect.moves:
        label = f"{move.team or move.site}@{move.site}"
        skills = tuple(index[q] for q in move.skills)
        groups.append(GroupSpec(label, move.team, move.site, skills, move.hourly_cost))
    return tuple(groups)


def build_days(
    plan: Plan, effect: Effect, callbacks: Sequence[ScheduledCallback] = ()
) -> tuple[DayModel, DayModel]:
    """The day without the outage and the day with it, ready to simulate."""
    grid = day_grid(plan)
    queues = _queue_specs(plan)
    groups = _groups(plan, effect)
    index = {q.id: i for i, q in enumerate(plan.queues)}
    listed: list[tuple[float, int, bool | None]] = [
        (c.due * 60.0, index[c.queue], c.vulnerable) for c in callbacks
    ]
    rated: list[tuple[float, int, bool | None]] = [
        (due, i, None) for i, q in enumerate(queues) for due in q.callbacks
    ]
    all_callbacks: tuple[tuple[float, int, bool | None], ...] = tuple(
        sorted(listed + rated, key=lambda c: (c[0], c[1]))
    )
    baseline = _build(plan, effect, grid, queues, groups, all_callbacks, outage=False)
    outage = _build(plan, effect, grid, queues, groups, all_callbacks, outage=True)
    return baseline, outage


def _build(
    plan: Plan,
    effect: Effect,
    grid: Grid,
    queues: tuple[QueueSpec, ...],
    groups: tuple[GroupSpec, ...],
    callbacks: tuple[tuple[float, int, bool | None], ...],
    *,
    outage: bool,
) -> DayModel:
    minutes = max(grid.end, 24 * 60)
    at, ends = effect.scenario.at, effect.scenario.ends
    window = np.zeros(minutes, dtype=np.bool_)
    if outage:
        window[at:ends] = True
    nq, ng = len(queues), len(groups)
    reach = np.ones((nq, minutes), dtype=np.bool_)
    deflect = np.zeros((nq, minutes))
    factor = np.ones((nq, minutes))
    for i, q in enumerate(queues):
        if q.id in effect.unreachable:
            reach[i] &= ~window
        deflect[i][window] = effect.deflect.get(q.id, 0.0)
        if effect.deflect_from is not None:
            deflect[i][: effect.deflect_from] = 0.0
        factor[i][window] = effect.aht_factor.get(q.id, 1.0)

    cap = np.zeros((ng, minutes), dtype=np.int64)
    on_shift = np.zeros(minutes, dtype=np.int64)
    teams = plan.teams_by_id
    team_count = len(plan.teams)
    for g, team in enumerate(plan.teams):
        shift = np.zeros(minutes, dtype=np.bool_)
        shift[team.shift.start : team.shift.end] = True
        on_shift += team.agents * shift
        lost = window if team.site in effect.lost_sites else np.zeros(minutes, dtype=np.bool_)
        cap[g] = team.agents * (shift & ~lost)
    for m, move in enumerate(effect.moves):
        active = np.zeros(minutes, dtype=np.bool_)
        if outage:
            active[move.start : move.end] = True
        if move.team is not None:
            team = teams[move.team]
            active[: team.shift.start] = False
            active[team.shift.end :] = False
        cap[team_count + m] = move.agents * active
        if move.team is None:
            on_shift += cap[team_count + m]

    able = np.zeros((ng, minutes), dtype=np.bool_)
    answering = np.zeros((nq, minutes), dtype=np.int64)
    for g, group in enumerate(groups):
        if group.skills:
            able[g] = reach[list(group.skills)].any(axis=0)
        for skill in group.skills:
            answering[skill] += cap[g]
    working = (cap * able).sum(axis=0)

    idle_wages = 0.0
    partner_wages = 0.0
    for g, group in enumerate(groups):
        if group.team is None:
            partner_wages += float(cap[g].sum()) * group.hourly_cost / 60.0
    clock = np.arange(minutes)
    # Each team's groups, found in one pass: a scan of every group per team took 0.15 s of a
    # 500-queue plan's replication.
    members_of: dict[str, list[int]] = {}
    for g, group in enumerate(groups):
        if group.team is not None:
            members_of.setdefault(group.team, []).append(g)
    for team in plan.teams:
        members = members_of.get(team.id, [])
        paid = team.agents * ((clock >= team.shift.start) & (clock < team.shift.end))
        worked = sum((cap[g] * able[g] for g in members), np.zeros(minutes, dtype=np.int64))
        idle_wages += float(np.clip(paid - worked, 0, None).sum()) * team.hourly_cost / 60.0

    centre = []
    for s in grid.starts:
        span = slice(s, s + grid.interval)
        shift_mean = float(on_shift[span].mean())
        working_mean = float(working[span].mean())
        centre.append(CentreInterval(s, shift_mean, working_mean, max(0.0, shift_mean - working_mean)))

    changes: list[Change] = []
    lost_groups = {g for g, group in enumerate(groups[:team_count]) if group.site in effect.lost_sites}
    for g in range(ng):
        cut_at = at if (outage and g in lost_groups) else -1
        changes += _steps(cap[g], 0, CAPACITY, g, cut_at)
    for i in range(nq):
        changes += _steps(reach[i].astype(np.float64), 1.0, REACH, i, -2)
        changes += _steps(deflect[i], 0.0, DEFLECT, i, -1)
        changes += _steps(factor[i], 1.0, FACTOR, i, -1)
    changes.sort(key=lambda c: (c.time, c.kind == CAPACITY and c.value > 0))
    return DayModel(
        queues=queues,
        groups=groups,
        changes=tuple(changes),
        grid=grid,
        callbacks=callbacks,
        centre=tuple(centre),
        idle_wages=idle_wages,
        partner_wages=partner_wages,
        reach=reach,
        answering=answering,
    )


def _steps(
    values: npt.NDArray[np.int64] | FloatArray, initial: float, kind: int, target: int, cut_at: int
) -> list[Change]:
    """The changes of a minute-by-minute series; cut_at -2 cuts on every drop (reachability)."""
    previous = np.concatenate(([initial], values[:-1]))
    found = []
    for minute in np.flatnonzero(values != previous).tolist():
        value = float(values[minute])
        cut = (cut_at == -2 and value < float(previous[minute])) or minute == cut_at
        found.append(Change(minute * 60.0, kind, target, value, cut))
    return found


def capacity_series(model: DayModel, group: int) -> IntArray:
    """Group `group`'s capacity minute by minute, from the day's changes."""
    series = np.zeros(model.reach.shape[1], dtype=np.int64)
    for change in model.changes:
        if change.kind == CAPACITY and change.target == group:
            series[int(change.time // 60) :] = int(change.value)
    return series


def with_capacity(model: DayModel, capacity: dict[int, IntArray]) -> DayModel:
    """The same day with these groups' capacity (minute by minute) instead of its own.

    A lost site's cut (its agents' calls cut off at the outage's start) is kept; who can
    answer each queue follows. Wages stay those of the roster: what agents not at work are
    paid is not known from how many there are.
    """
    # Built in `_build`'s order (groups' steps by group, then the queues'), then sorted the same
    # way: changes at one moment keep the order they have on the day as built.
    answering = model.answering.copy()
    changes: list[Change] = []
    for g in range(len(model.groups)):
        own = [c for c in model.changes if c.kind == CAPACITY and c.target == g]
        if g in capacity:
            cuts = [c for c in own if c.cut]
            own = _steps(capacity[g], 0, CAPACITY, g, int(cuts[0].time // 60) if cuts else -1)
            for skill in model.groups[g].skills:
                answering[skill] += capacity[g] - capacity_series(model, g)
        changes += own
    changes += [c for c in model.changes if c.kind != CAPACITY]
    changes.sort(key=lambda c: (c.time, c.kind == CAPACITY and c.value > 0))
    return replace(model, changes=tuple(changes), answering=answering)
