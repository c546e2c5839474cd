"""The centre during an outage, queue by queue, as of now. Pure: the plan, what works and the time
come in as arguments; nothing here reads the database or the clock.

For each queue the outage hits (lost, slowed, lost at some time while it lasted, or answered
by a site it took down), `centre_now` says:

- **reachable / answered**: the topology's availability for the outage (calls reach the
  queue; some available site that takes it has a team for it).
- **agents able to work now**: the teams on shift now (the plan's time zone) whose site
  is available, plus the agents of running strategies' relocations that have arrived
  (`ready_at` passed) at a site still available, a partner's own agents included. A team
  skilled for several queues is counted on one of them: its first skill, in its order of
  priority, that calls still reach (the skill it takes first); the target site's `queues`
  narrow a relocated team's skills, as in the simulation.
- **expected service level, ASA and abandonment** for the current forecast interval:
  Erlang A (`impact.erlang`; Erlang C when the queue has no patience) on the interval's
  forecast calls, the queue's handling time (times the `aht_factor` of each slowing
  component that is down) and those agents. None with a reason when it cannot be said:
  no calls reach the queue, no forecast covers the interval, or nobody is able to work it
  (every call goes unanswered).
- **impact tolerance**: the plan's `max_outage_minutes` for the queue against the time
  since the outage hit it (from the outage's start to now, or to its end), and the time
  left before it is breached.
- **sites lost**: the sites that normally answer the queue and are lost now.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from standby.errors import InvalidInput, Unstable
from standby.impact.erlang import Traffic, performance
from standby.plan.schema import Plan, Queue
from standby.plan.topology import Availability
from standby.respond.continuity import minute_of_day, on_shift

__all__ = ["Arrival", "Forecast", "QueueNow", "Tolerance", "centre_now", "forecast_now", "queues_hit"]


@dataclass(frozen=True)
class Arrival:
    """Agents a running strategy moved: which team (None: a partner's own), how many, where, from when."""

    strategy_id: str
    team_id: str | None
    site_id: str
    agents: int
    queues: tuple[str, ...]
    ready_at: datetime


@dataclass(frozen=True)
class Forecast:
    """The forecast interval `now` falls in: its calls, and when it starts and ends (minutes of the day)."""

    calls: float
    start: int
    minutes: int


@dataclass(frozen=True)
class Tolerance:
    """How long the queue may be out, how long it has been, and how long is left (negative: breached)."""

    max_minutes: float
    out_minutes: float

    @property
    def left_minutes(self) -> float:
        """Minutes before the tolerance is breached; zero or less once it is."""
        return self.max_minutes - self.out_minutes

    @property
    def breached(self) -> bool:
        """Whether the queue has been out longer than it may be."""
        return self.out_minutes >= self.max_minutes


@dataclass(frozen=True)
class QueueNow:
    """One queue the outage hits, as the centre stands now."""

    queue_id: str
    name: str
    reachable: bool
    answered: bool
    agents: int
    agents_moved: int
    planned_agents: int
    forecast: Forecast | None
    aht_s: float
    service_level: float | None
    target: float
    answer_within_s: float
    asa_s: float | None
    abandonment: float | None
    unstable: bool
    why_not: str
    tolerance: Tolerance | None
    sites_lost: tuple[str, ...]


def queues_hit(
    plan: Plan,
    *,
    queues: Iterable[str],
    sites: Collection[str],
    answering: Mapping[str, Collection[str]],
) -> list[str]:
    """The queues an outage hits, in plan order: those it names, and those a site it took down answers."""
    named = set(queues)
    return [q.id for q in plan.queues if q.id in named or set(answering.get(q.id, ())) & set(sites)]


def forecast_now(queue: Queue, minute: int) -> Forecast | None:
    """The forecast interval covering `minute` of the day; None outside the forecast."""
    forecast = queue.forecast
    if forecast is None or minute < forecast.start:
        return None
    index = (minute - forecast.start) // forecast.interval_minutes
    if index >= len(forecast.calls):
        return None
    start = forecast.start + index * forecast.interval_minutes
    return Forecast(forecast.calls[index], start, forecast.interval_minutes)


def _agents(
    plan: Plan, state: Availability, minute: int, arrivals: Sequence[Arrival], now: datetime
) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """Agents able to work each queue now, those of them who moved, and the plan's agents for it."""
    able: dict[str, int] = {}
    moved: dict[str, int] = {}
    planned: dict[str, int] = {}
    sites = plan.sites_by_id

    def first_reachable(skills: Iterable[str], site_id: str) -> str | None:
        takes = sites[site_id].queues if site_id in sites else None
        for q in skills:
            if q in state.queues_reachable and (takes is None or q in takes):
                return q
        return None

    for team in plan.teams:
        if not on_shift(team, minute):
            continue
        if team.queues:
            planned[team.queues[0]] = planned.get(team.queues[0], 0) + team.agents
        if team.site not in state.sites:
            continue
        queue = first_reachable(team.queues, team.site)
        if queue is not None:
            able[queue] = able.get(queue, 0) + team.agents
    for arrival in arrivals:
        if arrival.ready_at > now or arrival.site_id not in state.sites:
            continue
        queue = first_reachable(arrival.queues, arrival.site_id)
        if queue is not None:
            able[queue] = able.get(queue, 0) + arrival.agents
            moved[queue] = moved.get(queue, 0) + arrival.agents
    return able, moved, planned


def _aht(queue: Queue, state: Availability) -> float:
    factor = 1.0
    for slow in queue.degraded_by:
        if slow.component not in state.components:
            factor *= slow.aht_factor
    return queue.aht_s * factor


def centre_now(
    plan: Plan,
    state: Availability,
    *,
    hit: Sequence[str],
    lost_sites: Collection[str],
    answering: Mapping[str, Collection[str]],
    arrivals: Sequence[Arrival],
    started_at: datetime,
    ended_at: datetime | None,
    now: datetime,
) -> list[QueueNow]:
    """Each queue of `hit` now: reach, agents, expected service, tolerance and sites lost.

    `state` is the availability while the outage lasts; `answering` the sites that answer
    each queue on a normal day (`Topology.sites_answering`).
    """
    minute = minute_of_day(plan, now)
    able, moved, planned = _agents(plan, state, minute, arrivals, now)
    tolerances = {t.queue: t.max_outage_minutes for t in plan.impact_tolerances}
    out_minutes = max(((ended_at or now) - started_at) / timedelta(minutes=1), 0.0)
    shown = []
    for queue_id in hit:
        queue = plan.queues_by_id[queue_id]
        reachable = queue_id in state.queues_reachable
        agents = able.get(queue_id, 0)
        forecast = forecast_now(queue, minute)
        aht = _aht(queue, state)
        level = asa = abandonment = None
        unstable = False
        why_not = ""
        if not reachable:
            why_not = "calls do not reach the queue"
        elif forecast is None:
            why_not = "no forecast for this time of day"
        elif forecast.calls <= 0:
            why_not = "no calls forecast in this interval"
        elif agents == 0:
            level, asa, abandonment = 0.0, None, 1.0
            why_not = "nobody is able to answer it"
        else:
            level, asa, abandonment, unstable = _expected(queue, forecast, aht, agents)
        tolerance = tolerances.get(queue_id)
        shown.append(
            QueueNow(
                queue_id=queue_id,
                name=queue.name,
                reachable=reachable,
                answered=queue_id in state.queues_answered,
                agents=agents,
                agents_moved=moved.get(queue_id, 0),
                planned_agents=planned.get(queue_id, 0),
                forecast=forecast,
                aht_s=aht,
                service_level=level,
                target=queue.service_level.target,
                answer_within_s=queue.service_level.answer_within_s,
                asa_s=asa,
                abandonment=abandonment,
                unstable=unstable,
                why_not=why_not,
                tolerance=Tolerance(tolerance, out_minutes) if tolerance is not None else None,
                sites_lost=tuple(s for s in answering.get(queue_id, ()) if s in lost_sites),
            )
        )
    return shown


def _expected(
    queue: Queue, forecast: Forecast, aht_s: float, agents: int
) -> tuple[float, float | None, float, bool]:
    """(service level, ASA, abandonment, unstable) from Erlang A (Erlang C without a patience)."""
    traffic = Traffic.over_interval(
        calls=forecast.calls,
        interval_minutes=forecast.minutes,
        aht_s=aht_s,
        answer_within_s=queue.service_level.answer_within_s,
        patience_s=queue.patience_s,
    )
    try:
        result = performance(traffic, agents)
    except Unstable:  # Erlang C past capacity: callers who never hang up wait without end
        return 0.0, None, 0.0, True
    except InvalidInput:  # a load beyond what the formulas take: as good as nobody answering
        return 0.0, None, 1.0, True
    return result.service_level, result.asa_s, result.p_abandon, False
