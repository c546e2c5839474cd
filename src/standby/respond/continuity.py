"""Continuity strategies against the live state: which apply now, who moves where, what they are told.

Pure: the plan, its topology, what is down, the open outages' classifications and the
time come in as arguments; nothing here reads the database or the clock.

Decisions:

- **Triggers** are the simulation's (`impact.strategies`), read on the live state: a
  strategy applies when any of its `when` conditions holds. `site_down`: the site is
  unavailable through its dependencies. `component_down`: the component is unavailable,
  down itself or through what it needs. `outage`: an open outage has one of the listed
  classifications. `capacity_below`: the agents on shift now whose site is available,
  over the agents the plan has on shift now, is below the value; shifts are read in the
  plan's time zone, and with nobody planned on shift the capacity is whole (nothing is
  lost), so the condition does not hold.
- **Relocation** is the simulation's own rule (`impact.strategies._relocate`): agents
  move only from a lost site to an available target, to a home site at most each team's
  agents available from home (`readiness.home`: those ready by the home check where the
  team took it recently, else its `home_capable` share), the target's free seats filled team by team in
  plan order; a partner brings its own agents. Live, only teams on shift now move, and
  the target takes calls `activation_minutes` after the strategy runs.
- **The SMS** to a moving agent says which site is down, where to log in, from when the
  calls come, and which queues to take, in one short message.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from standby.impact.results import Scenario
from standby.impact.strategies import (
    DEFAULT_DEFLECT_SHARE,
    _relocate,  # the simulation's relocation rule, reused as is
    _Story,
    join_names,
)
from standby.plan.schema import Plan, Strategy, Team
from standby.plan.topology import Availability, Topology

__all__ = [
    "Capacity",
    "IvrAnnouncement",
    "RelocationPlan",
    "Situation",
    "StrategyTrigger",
    "TeamMove",
    "assess",
    "capacity_now",
    "ivr_announcements",
    "minute_of_day",
    "on_shift",
    "relocation",
    "relocation_sms",
    "triggered",
]

_FAR = 10**6  # minutes: a live outage has no known end, so activation always comes first


@dataclass(frozen=True)
class Capacity:
    """Agents the plan has on shift now, and how many of them are at an available site."""

    planned: int
    able: int

    @property
    def share(self) -> float:
        """able / planned; 1.0 when nobody is planned on shift (nothing is lost)."""
        return self.able / self.planned if self.planned else 1.0


@dataclass(frozen=True)
class Situation:
    """The live state as the strategies see it: what is down and lost, and the capacity."""

    down: tuple[str, ...]
    normal: Availability
    state: Availability
    lost_sites: frozenset[str]
    capacity: Capacity
    minute: int


@dataclass(frozen=True)
class StrategyTrigger:
    """A strategy that applies now, and why, in words."""

    strategy: Strategy
    reasons: tuple[str, ...]

    @property
    def strategy_id(self) -> str:
        """The strategy's id."""
        return self.strategy.id

    @property
    def reason(self) -> str:
        """Every reason it applies, in one sentence."""
        return "; ".join(self.reasons)


@dataclass(frozen=True)
class TeamMove:
    """Agents of one team told to work at the strategy's target site."""

    team_id: str
    from_site: str
    agents: int
    queues: tuple[str, ...]


@dataclass(frozen=True)
class RelocationPlan:
    """Who moves where under one strategy, which queues the target takes, and from when.

    `moves` are the centre's own agents; `partner_agents` are a partner site's own agents
    taking the `queues`. `notes` say why nobody moves, when that is so.
    """

    strategy_id: str
    target: str
    target_kind: str
    ready_at: datetime
    moves: tuple[TeamMove, ...]
    partner_agents: int
    queues: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def agents(self) -> int:
        """How many of the centre's own agents move."""
        return sum(m.agents for m in self.moves)

    def summary(self, plan: Plan) -> str:
        """What the relocation does, in a manager's words."""
        target = plan.sites_by_id[self.target].name if self.target in plan.sites_by_id else self.target
        when = _clock(plan, self.ready_at)
        queues = join_names([_queue_name(plan, q) for q in self.queues])
        if self.partner_agents:
            return f"{target} takes {queues} with {self.partner_agents} agents from {when}"
        if self.moves:
            teams = ", ".join(f"{m.agents} of {m.team_id}" for m in self.moves)
            where = "from home" if self.target_kind == "home" else f"at {target}"
            return f"{self.agents} agents work {where} from {when} ({teams}), taking {queues}"
        return "; ".join(self.notes) or f"nobody can move to {target}"

    def to_dict(self) -> dict[str, object]:
        """A JSON shape, for the timeline and the API."""
        return {
            "strategy": self.strategy_id,
            "target": self.target,
            "target_kind": self.target_kind,
            "ready_at": self.ready_at.isoformat(),
            "agents": self.agents,
            "partner_agents": self.partner_agents,
            "queues": list(self.queues),
            "moves": [
                {"team": m.team_id, "from": m.from_site, "agents": m.agents, "queues": list(m.queues)}
                for m in self.moves
            ],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class IvrAnnouncement:
    """An `ivr_message` action of a strategy: what the IVR plays, and the share it deflects."""

    index: int
    text: str
    deflect_share: float


def minute_of_day(plan: Plan, now: datetime) -> int:
    """Minutes since midnight at `now` in the plan's time zone."""
    local = now.astimezone(ZoneInfo(plan.organisation.timezone))
    return local.hour * 60 + local.minute


def on_shift(team: Team, minute: int) -> bool:
    """Whether the team's shift covers this minute of the day."""
    return team.shift.start <= minute < team.shift.end


def capacity_now(plan: Plan, available_sites: Collection[str], minute: int) -> Capacity:
    """Agents on shift at `minute`, and those of them whose site is available (nobody moved yet)."""
    teams = [t for t in plan.teams if on_shift(t, minute)]
    return Capacity(
        planned=sum(t.agents for t in teams),
        able=sum(t.agents for t in teams if t.site in available_sites),
    )


def assess(plan: Plan, topology: Topology, *, down_components: Iterable[str], now: datetime) -> Situation:
    """The live situation: ids not in the plan are ignored (a component since removed)."""
    known = plan.components_by_id
    down = tuple(dict.fromkeys(c for c in down_components if c in known))
    normal = topology.availability([])
    state = topology.availability(down)
    minute = minute_of_day(plan, now)
    return Situation(
        down=down,
        normal=normal,
        state=state,
        lost_sites=frozenset(normal.sites - state.sites),
        capacity=capacity_now(plan, state.sites, minute),
        minute=minute,
    )


def _article(kind: str) -> str:
    return "an" if kind[:1] in "aeiou" else "a"


def _reasons(plan: Plan, strategy: Strategy, situation: Situation, open_kinds: set[str]) -> list[str]:
    when = strategy.when
    reasons = []
    if when.site_down is not None and when.site_down in situation.lost_sites:
        reasons.append(f"site {when.site_down} is down")
    if when.component_down is not None and when.component_down not in situation.state.components:
        if when.component_down in situation.down:
            reasons.append(f"component {when.component_down} is down")
        else:
            reasons.append(f"component {when.component_down} is unavailable: something it needs is down")
    if when.outage is not None:
        kinds = [k for k in dict.fromkeys(when.outage) if k in open_kinds]
        if len(kinds) == 1:
            reasons.append(f"{_article(kinds[0])} {kinds[0]} outage is open")
        elif kinds:
            reasons.append(f"{join_names(kinds)} outages are open")
    capacity = situation.capacity
    if when.capacity_below is not None and capacity.planned and capacity.share < when.capacity_below:
        reasons.append(f"capacity {capacity.share:.0%} of planned agents, below {when.capacity_below:.0%}")
    return reasons


def triggered(
    plan: Plan,
    topology: Topology,
    *,
    down_components: Iterable[str],
    open_outage_classifications: Iterable[str],
    now: datetime,
) -> list[StrategyTrigger]:
    """The plan's strategies that apply now, in plan order, each with its reasons."""
    situation = assess(plan, topology, down_components=down_components, now=now)
    kinds = set(open_outage_classifications)
    found = []
    for strategy in plan.strategies:
        reasons = _reasons(plan, strategy, situation, kinds)
        if reasons:
            found.append(StrategyTrigger(strategy, tuple(reasons)))
    return found


def _teams_on_shift(plan: Plan, minute: int) -> Plan:
    """The plan with only the teams on shift at `minute` (a copy; nothing cached carried over)."""
    values = {name: getattr(plan, name) for name in type(plan).model_fields}
    values["teams"] = [t for t in plan.teams if on_shift(t, minute)]
    return Plan.model_construct(**values)


def relocation(
    plan: Plan,
    topology: Topology,
    strategy: Strategy,
    *,
    down_components: Iterable[str],
    now: datetime,
    before: Sequence[Strategy] = (),
    home_ready: Mapping[str, int] | None = None,
) -> RelocationPlan | None:
    """Who the strategy moves where when it runs at `now`; None when it relocates nothing.

    `before` are strategies already carried out whose moves come first (they took agents
    and seats), in plan order. `home_ready`: agents ready to work from home by team, for
    the teams with recent home checks (`readiness.service.ready_by_team`).
    """
    if strategy.relocate is None:
        return None
    situation = assess(plan, topology, down_components=down_components, now=now)
    live = _teams_on_shift(plan, situation.minute)
    ready = tuple(sorted((home_ready or {}).items()))
    scenario = Scenario(down=situation.down, at=situation.minute, minutes=_FAR, home_ready=ready)
    story = _Story(live, scenario)
    ordered = [s for s in before if s.relocate is not None and s.id != strategy.id] + [strategy]
    moves = [
        m
        for m in _relocate(live, scenario, situation.state, situation.lost_sites, ordered, story)
        if m.strategy == strategy.id
    ]
    target = plan.sites_by_id[strategy.relocate.to]
    prefix = f"{strategy.id}: "
    notes = tuple(h.text.split(prefix, 1)[1] for h in story.happenings if prefix in h.text and not moves)
    if not moves and target.kind != "partner":
        sources = [strategy.relocate.from_] if strategy.relocate.from_ else sorted(situation.lost_sites)
        based = [t for t in plan.teams if t.site in sources and t.site in situation.lost_sites]
        if based and not any(on_shift(t, situation.minute) for t in based):
            names = join_names([plan.sites_by_id[s].name for s in dict.fromkeys(t.site for t in based)])
            notes = (f"nobody is on shift now at {names}",)
    teams = plan.teams_by_id
    own = tuple(TeamMove(m.team, teams[m.team].site, m.agents, m.skills) for m in moves if m.team is not None)
    partner = sum(m.agents for m in moves if m.team is None)
    queues = tuple(dict.fromkeys(q for m in moves for q in m.skills))
    return RelocationPlan(
        strategy_id=strategy.id,
        target=target.id,
        target_kind=target.kind,
        ready_at=now + timedelta(minutes=target.activation_minutes),
        moves=own,
        partner_agents=partner,
        queues=queues,
        notes=notes,
    )


def _clock(plan: Plan, at: datetime) -> str:
    return at.astimezone(ZoneInfo(plan.organisation.timezone)).strftime("%H:%M")


def _queue_name(plan: Plan, queue_id: str) -> str:
    queue = plan.queues_by_id.get(queue_id)
    return queue.name if queue is not None else queue_id


def relocation_sms(plan: Plan, moving: RelocationPlan, move: TeamMove, *, now: datetime) -> str:
    """The SMS to one agent of a moving team: what is down, where to log in, from when, which queues."""
    sites = plan.sites_by_id
    source = sites[move.from_site].name if move.from_site in sites else move.from_site
    target = sites[moving.target]
    needs = [plan.components_by_id[d].name for d in target.depends_on if isinstance(d, str)]
    through = f" ({join_names(needs)})" if needs else ""
    if moving.target_kind == "home":
        where = f"Log in from home now{through}"
    else:
        where = f"Go to {target.name} and log in there{through}"
    when = "" if moving.ready_at <= now else f"; calls reach you from {_clock(plan, moving.ready_at)}"
    queues = join_names([_queue_name(plan, q) for q in move.queues])
    return f"Standby: {source} is down. {where}{when}. Take calls for {queues}."


def ivr_announcements(strategy: Strategy) -> list[IvrAnnouncement]:
    """The strategy's `ivr_message` actions, with their action index and deflect share."""
    return [
        IvrAnnouncement(
            i,
            action.ivr_message,
            DEFAULT_DEFLECT_SHARE if action.deflect_share is None else action.deflect_share,
        )
        for i, action in enumerate(strategy.actions)
        if action.ivr_message is not None
    ]
