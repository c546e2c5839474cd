"""Callback capacity after recovery: how many agent-seconds each team can give callbacks, when.

Pure: the plan, the recovery time and what is already booked come in; nothing is read.

- **Time.** From recovery (rounded up to the next unit) for `HORIZON_DAYS`, in *units*
  of the greatest common divisor of the queues' forecast intervals (30 minutes when no
  queue has a forecast). Units follow the organisation's wall clock (they start on
  local multiples of their length) but are counted in real time: on the night the
  clocks go forward the missing hour has no units, and on the night they go back the
  repeated hour has two sets, each with the agents on shift at that wall-clock time.
- **Slots.** A queue's callbacks are booked into slots of its own forecast interval
  (30 minutes without a forecast), each one or more consecutive units; the slot is the
  window the customer is told. The first slot after recovery may be shorter.
- **Agents.** The plan has no weekdays, so every day is alike: a team has its agents
  for the part of each unit inside its shift. Each queue's inbound forecast for the
  interval needs `impact.staffing.staff` agents to meet its service level (Erlang A
  with the queue's patience, else Erlang C); they are taken from the teams skilled for
  it, team priority first (every team's first queue, then every team's second...). What
  a team has left over is its spare, in agent-seconds per unit.
- **Callbacks** of a queue take the queue's `aht_s` agent-seconds, each from one team
  skilled for it (those with the queue first in their priority before the others), from
  the units of its slot in order. Callbacks already booked take
  their share before any is placed (`book`).
- **Backlog.** Callers who gave up during the outage call again: `retry_share` of the
  calls forecast for each lost queue while it was down (`backlog_calls`) arrive as
  extra inbound calls spread over the first hour after recovery, so the first slots
  keep agents for them instead of filling with callbacks. It is cheap (one more
  staffing figure per queue) and it is what happens on the floor after an outage.

No allowance is made for breaks or after-call work beyond the forecast's handling time:
the plan's `agents` are taken as the agents working.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce
from zoneinfo import ZoneInfo

from standby.errors import InvalidInput
from standby.impact.erlang import MIN_LOAD_ERLANGS, Traffic
from standby.impact.staffing import staff
from standby.plan.schema import Plan, Queue

HORIZON_DAYS = 14
DEFAULT_SLOT_MINUTES = 30
BACKLOG_MINUTES = 60
"""Callers who gave up during the outage call back within this long after recovery."""


@dataclass(frozen=True)
class QueueSlots:
    """One queue's slots: `bounds[k]` is the first unit of slot k (the last entry ends the last slot)."""

    queue: str
    aht_s: float
    teams: tuple[int, ...]
    bounds: tuple[int, ...]

    @property
    def count(self) -> int:
        """How many slots the queue has."""
        return len(self.bounds) - 1


@dataclass
class Capacity:
    """Spare agent-seconds per team and unit from `start`, and each queue's slots.

    Mutable on purpose: booking a callback takes from `spare`. Use `copy()` to keep the original.
    """

    start: datetime
    unit_s: int
    teams: tuple[str, ...]
    spare: list[list[float]]
    queues: dict[str, QueueSlots]

    @property
    def units(self) -> int:
        """How many units the horizon holds."""
        return len(self.spare[0]) if self.spare else 0

    def copy(self) -> Capacity:
        """A copy whose spare can be taken from without touching this one."""
        return Capacity(self.start, self.unit_s, self.teams, [list(s) for s in self.spare], self.queues)

    def slot_times(self, queue: str, slot: int) -> tuple[datetime, datetime]:
        """When slot `slot` of `queue` starts and ends (UTC)."""
        bounds = self.queues[queue].bounds
        unit = timedelta(seconds=self.unit_s)
        return self.start + bounds[slot] * unit, self.start + bounds[slot + 1] * unit

    def slot_at(self, queue: str, when: datetime) -> int | None:
        """The slot of `queue` holding `when`, or None outside the horizon."""
        unit = int((when - self.start).total_seconds() // self.unit_s)
        slots = self.queues.get(queue)
        if slots is None or unit < 0 or unit >= self.units:
            return None
        low, high = 0, slots.count - 1
        while low < high:  # the last slot starting at or before `unit`
            middle = (low + high + 1) // 2
            if slots.bounds[middle] <= unit:
                low = middle
            else:
                high = middle - 1
        return low

    def take(self, queue: str, slot: int) -> int | None:
        """Book one callback of `queue` in `slot`: the team index that takes it, or None when none can."""
        slots = self.queues[queue]
        need = slots.aht_s
        first, end = slots.bounds[slot], slots.bounds[slot + 1]
        spare = self.spare
        if end - first == 1:  # a slot of one unit, as when every queue's slots are alike: no sums
            for team in slots.teams:
                row = spare[team]
                if row[first] >= need:
                    row[first] -= need
                    return team
            return None
        for team in slots.teams:
            row = spare[team]
            if sum(row[first:end]) >= need:
                for unit in range(first, end):
                    used = min(row[unit], need)
                    row[unit] -= used
                    need -= used
                    if need <= 0:
                        break
                return team
        return None

    def book(self, queue: str, when: datetime) -> None:
        """Take a callback already booked at `when`: from a team that can, else from what is left."""
        slot = self.slot_at(queue, when)
        if slot is None or self.take(queue, slot) is not None:
            return
        slots = self.queues[queue]
        need = slots.aht_s
        # Booked beyond capacity already (by hand): it still uses what is there.
        for team in slots.teams:
            row = self.spare[team]
            for unit in range(slots.bounds[slot], slots.bounds[slot + 1]):
                used = min(row[unit], need)
                row[unit] -= used
                need -= used


def unit_minutes(plan: Plan) -> int:
    """The unit: the greatest common divisor of the queues' slot lengths."""
    return reduce(math.gcd, (_slot_minutes(q) for q in plan.queues), 0) or DEFAULT_SLOT_MINUTES


def first_unit(plan: Plan, at: datetime) -> datetime:
    """The first unit boundary (on the local wall clock) at or after `at`."""
    zone = ZoneInfo(plan.organisation.timezone)
    unit = unit_minutes(plan) * 60
    # Offsets are whole quarter hours, so a boundary in UTC seconds is found by steps of 60 s at most.
    moment = at.replace(microsecond=0) + timedelta(seconds=1 if at.microsecond else 0)
    moment += timedelta(seconds=(-moment.second) % 60)
    while _local_minute(moment, zone) * 60 % unit:
        moment += timedelta(minutes=1)
    return moment


def backlog_calls(
    plan: Plan, queues: Iterable[str], started_at: datetime, ended_at: datetime
) -> dict[str, float]:
    """Calls that come back after recovery: `retry_share` of those forecast for `queues` while down."""
    zone = ZoneInfo(plan.organisation.timezone)
    found: dict[str, float] = {}
    for queue_id in queues:
        queue = plan.queues_by_id.get(queue_id)
        if queue is None or queue.forecast is None or queue.retry_share <= 0:
            continue
        minutes = math.ceil((ended_at - started_at).total_seconds() / 60)
        interval = queue.forecast.interval_minutes
        lost = 0.0
        for step in range(minutes):  # minute by minute: an outage is hours, not weeks
            calls = _forecast_calls(queue, _local_minute(started_at + timedelta(minutes=step), zone))
            lost += calls / interval
        if lost > 0:
            found[queue_id] = lost * queue.retry_share
    return found


def callback_capacity(
    plan: Plan,
    *,
    recovery: datetime,
    booked: Iterable[tuple[str, datetime]] = (),
    backlog: Mapping[str, float] | None = None,
    horizon_days: int = HORIZON_DAYS,
) -> Capacity:
    """The callback capacity from `recovery` (rounded up to a unit) for `horizon_days`.

    `booked` are callbacks already due (queue, due time) that keep their time; `backlog`
    extra inbound calls per queue in the first hour (see `backlog_calls`).
    """
    zone = ZoneInfo(plan.organisation.timezone)
    unit_min = unit_minutes(plan)
    start = first_unit(plan, recovery)
    count = horizon_days * 24 * 60 // unit_min
    teams = plan.teams
    skills = _skills(plan)
    staffing = _Staffing()
    backlog = dict(backlog or {})
    backlog_units = math.ceil(BACKLOG_MINUTES / unit_min)
    spare: list[list[float]] = [[0.0] * count for _ in teams]
    minutes: list[int] = []
    for unit in range(count):
        minute = _local_minute(start + timedelta(minutes=unit * unit_min), zone)
        minutes.append(minute)
        on_shift = [
            team.agents
            * max(0, min(minute + unit_min, team.shift.end) - max(minute, team.shift.start))
            / unit_min
            for team in teams
        ]
        left = list(on_shift)
        needs: dict[str, float] = {}
        for queue in plan.queues:
            calls = _forecast_calls(queue, minute)
            extra = backlog.get(queue.id, 0.0)
            if extra and unit < backlog_units:
                calls += extra * _slot_minutes(queue) / (backlog_units * unit_min)
            needs[queue.id] = staffing.agents(queue, calls)
        for level in range(max((len(s) for s in skills), default=0)):
            for t, team_skills in enumerate(skills):
                if level < len(team_skills) and left[t] > 0:
                    queue_id = team_skills[level]
                    given = min(left[t], needs[queue_id])
                    left[t] -= given
                    needs[queue_id] -= given
        for t in range(len(teams)):
            spare[t][unit] = left[t] * unit_min * 60.0
    slots = {
        q.id: QueueSlots(
            queue=q.id,
            aht_s=float(q.aht_s),
            teams=_teams_for(skills, q.id),
            bounds=_bounds(minutes, _slot_minutes(q), count),
        )
        for q in plan.queues
    }
    capacity = Capacity(start, unit_min * 60, tuple(t.id for t in teams), spare, slots)
    for queue_id, when in booked:
        if queue_id in slots:
            capacity.book(queue_id, when)
    return capacity


def _bounds(minutes: list[int], slot_minutes: int, count: int) -> tuple[int, ...]:
    starts = [u for u, minute in enumerate(minutes) if u == 0 or minute % slot_minutes == 0]
    return (*starts, count)


def _teams_for(skills: list[list[str]], queue_id: str) -> tuple[int, ...]:
    """The teams skilled for a queue, those who put it first before those who put it second..."""
    found = [(s.index(queue_id), t) for t, s in enumerate(skills) if queue_id in s]
    return tuple(t for _, t in sorted(found))


def _skills(plan: Plan) -> list[list[str]]:
    """Each team's queues in priority order, less those its site cannot take."""
    found = []
    for team in plan.teams:
        site = plan.sites_by_id.get(team.site)
        allowed = None if site is None else site.queues
        found.append([q for q in team.queues if allowed is None or q in allowed])
    return found


def _slot_minutes(queue: Queue) -> int:
    return queue.forecast.interval_minutes if queue.forecast is not None else DEFAULT_SLOT_MINUTES


def _local_minute(when: datetime, zone: ZoneInfo) -> int:
    local = when.astimezone(zone)
    return local.hour * 60 + local.minute


def _forecast_calls(queue: Queue, minute: int) -> float:
    """Calls the queue's forecast gives for the interval holding `minute` (0 outside it)."""
    forecast = queue.forecast
    if forecast is None or minute < forecast.start:
        return 0.0
    index = (minute - forecast.start) // forecast.interval_minutes
    return float(forecast.calls[index]) if index < len(forecast.calls) else 0.0


class _Staffing:
    """Agents needed per queue and calls: the same forecast repeats every day, so each is found once."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, float], float] = {}

    def agents(self, queue: Queue, calls: float) -> float:
        key = (queue.id, calls)
        found = self.seen.get(key)
        if found is None:
            found = self.seen[key] = self._staff(queue, calls)
        return found

    @staticmethod
    def _staff(queue: Queue, calls: float) -> float:
        if calls * float(queue.aht_s) / (_slot_minutes(queue) * 60.0) < MIN_LOAD_ERLANGS:
            return 0.0  # a forecast of next to nothing needs nobody kept back
        traffic = Traffic.over_interval(
            calls=calls,
            interval_minutes=_slot_minutes(queue),
            aht_s=float(queue.aht_s),
            answer_within_s=float(queue.service_level.answer_within_s),
            patience_s=None if queue.patience_s is None else float(queue.patience_s),
        )
        try:
            return float(staff(traffic, target=float(queue.service_level.target)).agents)
        except InvalidInput:  # more than Standby computes: more than any centre has, so none are spare
            return math.inf
