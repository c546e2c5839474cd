"""What an outage does to the centre, and what the plan's continuity strategies do about it.

Pure and deterministic: the same plan and scenario give the same effect. The simulation
turns the effect into agents and calls (`impact.day`); this module decides who moves
where and when, and says so in a manager's words.

Decisions, in the order a manager would ask about them:

- **What fails.** The scenario's components are down from `at` for `minutes`; what
  depends on them fails with them (`Topology.availability`). A queue whose dependencies
  fail is *unreachable*: callers meet a dead line. A site whose dependencies fail is
  *lost*: its agents are paid but cannot work, and the calls they were on are cut off.
  A queue's `degraded_by` component that fails multiplies its handling time by its
  `aht_factor` (several slow components multiply together).
- **Classification** (DESIGN.md): *total* when no queue that is answered on a normal day
  is answered, *partial* when some queue or site is lost but not all, *degraded* when
  only `degraded_by` components fail; an outage no longer than the organisation's
  `interruption_max_minutes` also matches `interruption`.
- **Triggers** are evaluated once, at the outage start, on the outage before any
  strategy acts: `site_down` when that site is lost; `component_down` when that
  component fails (directly or through what it depends on); `outage` when the
  classification is listed; `capacity_below` when the share of agents whose shift
  overlaps the outage and whose site is still available is below the value. Every
  triggered strategy is carried out, whether `automatic` or proposed to the commander:
  the simulation shows the plan as written, followed.
- **Relocation to an office or home site.** Agents move only from a site the outage has
  lost (from `from`, or from every lost site when it is omitted), to a target that is
  itself available, once the target's `activation_minutes` have passed since the outage
  start. To a `home` site, each team sends at most its agents available from home
  (`readiness.home.agents_available_from_home`: those who passed the home check when
  the team's agents took it recently, `scenario.home_ready`; else its `home_capable`
  share, rounded down); to an office, any agent. The target's seats, less the agents
  of teams based there, are filled team by team in plan order. Moved agents keep their
  skills (narrowed to the relocation's and the target's `queues`) and go back when the
  outage ends, finishing the call they are on.
- **A partner site** (kind `partner`) brings agents of its own: its seats, less any
  team based there, from its activation until the outage ends, taking the relocation's
  `queues` (else the site's `queues`, else every queue) in that order of priority.
  The plan has no price for them: they are counted at the agent-weighted average
  `hourly_cost` of the teams skilled for those queues, as `partner_wages`.
- **Carried out by a person, at a time** (`resolve(..., carried_out=...)`, what the live
  forecast asks): exactly the strategies named are carried out, whatever their triggers,
  each from the minute it was started (agents arrive its target's activation later; the
  outage message plays from the earliest start of a strategy that sets one).
- **The IVR's outage message** plays while the outage lasts if an `ivr` component is
  still available, to callers of the queues whose dependencies include an `ivr`
  component (their calls pass through it); a plan with no `ivr` component has the
  platform play it to every queue. A `deflect_share` (0.1 when omitted) of those
  callers hang up on hearing it; several messages take the largest share.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from standby.impact.results import Happening, Scenario
from standby.plan.fields import format_clock_time
from standby.plan.schema import AnyOf, Plan, Site, Strategy, Team
from standby.plan.topology import Availability, Topology
from standby.readiness.home import agents_available_from_home

DEFAULT_DEFLECT_SHARE = 0.1


@dataclass(frozen=True)
class Move:
    """Agents working somewhere else because of a strategy, from `start` to `end` (minutes)."""

    strategy: str
    team: str | None  # None: the partner's own agents
    site: str
    agents: int
    skills: tuple[str, ...]
    start: int
    end: int
    hourly_cost: float


@dataclass(frozen=True)
class Effect:
    """The outage's effect on the centre, with the strategies the plan carries out."""

    scenario: Scenario
    failed: frozenset[str]
    lost_sites: frozenset[str]
    unreachable: frozenset[str]
    unanswered: frozenset[str]
    aht_factor: dict[str, float]
    classification: str | None
    triggered: tuple[str, ...]
    moves: tuple[Move, ...]
    deflect: dict[str, float]
    happenings: tuple[Happening, ...] = field(default=())
    deflect_from: int | None = None  # the outage message plays from this minute; None: the outage start

    def touches_the_day(self, plan: Plan) -> bool:
        """Whether the outage changes anything a simulated day can see."""
        staffed = {t.site for t in plan.teams if t.agents > 0}
        return bool(self.unreachable or self.aht_factor or self.lost_sites & staffed)


def join_names(names: Sequence[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _at(minute: int, text: str) -> Happening:
    return Happening(minute, f"{format_clock_time(minute)} {text}")


def _overlaps(team: Team, start: int, end: int) -> bool:
    # Minutes past 24:00 (a live outage late in the evening) are tomorrow's: only a team on
    # around the clock is still on then; a shift ending at midnight has ended.
    if team.shift.round_the_clock:
        return start < end
    return team.shift.start < end and start < team.shift.end


def _site_takes(site: Site, queues: Iterable[str]) -> tuple[str, ...]:
    return tuple(q for q in queues if site.queues is None or q in site.queues)


def _ivr_queues(plan: Plan) -> tuple[set[str], set[str]]:
    """The ivr components, and the queues whose calls pass through one of them."""
    ivrs = {c.id for c in plan.components if c.kind == "ivr"}
    needs: dict[str, set[str]] = {}
    for component in plan.components:
        needs[component.id] = {m for d in component.depends_on for m in _members(d)}
    # Whether a component reaches an ivr through depends_on, each component worked out once
    # (a walk per queue costs a large plan seconds); a cycle, which the plan refuses, counts as no.
    reaches: dict[str, bool] = {}

    def through(node: str) -> bool:
        stack = [(node, iter(needs.get(node, ())))]
        reaches[node] = node in ivrs
        while stack:
            top, below = stack[-1]
            if reaches[top]:
                stack.pop()
                if stack:
                    reaches[stack[-1][0]] = True
                continue
            nxt = next(below, None)
            if nxt is None:
                stack.pop()
                if stack and reaches[top]:
                    reaches[stack[-1][0]] = True
            elif nxt not in reaches:
                reaches[nxt] = nxt in ivrs
                stack.append((nxt, iter(needs.get(nxt, ()))))
            elif reaches[nxt]:
                reaches[top] = True
        return reaches[node]

    heard = {
        q.id
        for q in plan.queues
        if any(reaches[m] if m in reaches else through(m) for d in q.depends_on for m in _members(d))
    }
    return ivrs, heard


def _members(dependency: str | AnyOf) -> list[str]:
    return dependency.any_of if isinstance(dependency, AnyOf) else [dependency]


def classify(plan: Plan, normal: Availability, state: Availability) -> str | None:
    """DESIGN.md's classification of an outage, or None when it loses and slows nothing."""
    answered = normal.queues_answered
    lost_queues = answered - state.queues_answered
    lost_sites = normal.sites - state.sites
    if answered and not (answered & state.queues_answered):
        kind: str | None = "total"
    elif lost_queues or lost_sites:
        kind = "partial"
    elif any(d.component not in state.components for q in plan.queues for d in q.degraded_by):
        kind = "degraded"
    else:
        kind = None
    return kind


def _triggers(
    strategy: Strategy,
    state: Availability,
    lost_sites: frozenset[str],
    kinds: set[str],
    capacity: float,
) -> bool:
    when = strategy.when
    return (
        (when.site_down is not None and when.site_down in lost_sites)
        or (when.component_down is not None and when.component_down not in state.components)
        or (when.outage is not None and bool(kinds & set(when.outage)))
        or (when.capacity_below is not None and capacity < when.capacity_below)
    )


def capacity_share(plan: Plan, scenario: Scenario, lost_sites: frozenset[str]) -> float:
    """Share of the agents on shift during the outage whose site is still available."""
    planned = [t for t in plan.teams if _overlaps(t, scenario.at, scenario.ends)]
    total = sum(t.agents for t in planned)
    able = sum(t.agents for t in planned if t.site not in lost_sites)
    return able / total if total else 1.0


def resolve(
    plan: Plan, topology: Topology, scenario: Scenario, carried_out: Mapping[str, int] | None = None
) -> Effect:
    """The scenario's effect on the centre and what the plan's strategies do about it.

    `carried_out` (strategy id -> minute it was started) replaces the triggers: exactly
    those strategies act, each from its own minute rather than the outage start.
    """
    normal = topology.availability([])
    state = topology.availability(scenario.down)
    failed = frozenset(normal.components - state.components)
    lost_sites = frozenset(normal.sites - state.sites)
    unreachable = frozenset(normal.queues_reachable - state.queues_reachable)
    unanswered = frozenset(normal.queues_answered - state.queues_answered - unreachable)
    factors: dict[str, float] = {}
    for queue in plan.queues:
        factor = 1.0
        for slow in queue.degraded_by:
            if slow.component in failed:
                factor *= slow.aht_factor
        if factor != 1.0 and queue.id not in unreachable:
            factors[queue.id] = factor
    kind = classify(plan, normal, state)
    kinds = {kind} if kind else set()
    if kind and scenario.minutes <= plan.organisation.interruption_max_minutes:
        kinds.add("interruption")
    capacity = capacity_share(plan, scenario, lost_sites)
    if carried_out is None:
        triggered = [s for s in plan.strategies if _triggers(s, state, lost_sites, kinds, capacity)]
        started = {s.id: scenario.at for s in triggered}
    else:
        triggered = [s for s in plan.strategies if s.id in carried_out]
        started = {s.id: max(scenario.at, carried_out[s.id]) for s in triggered}
    story = _Story(plan, scenario)
    story.failure(failed, lost_sites, unreachable, unanswered, factors, kind)
    moves = _relocate(plan, scenario, state, lost_sites, triggered, story, started)
    deflect = _deflect(plan, state, unreachable, triggered, story, started)
    messages = [started[s.id] for s in triggered if any(a.ivr_message is not None for a in s.actions)]
    deflect_from = min(messages) if deflect and messages and min(messages) > scenario.at else None
    if not triggered and kind is not None:
        story.add(scenario.at, "no strategy in the plan covers this outage")
    story.recovery(moves)
    return Effect(
        scenario=scenario,
        failed=failed,
        lost_sites=lost_sites,
        unreachable=unreachable,
        unanswered=unanswered,
        aht_factor=factors,
        classification=kind,
        triggered=tuple(s.id for s in triggered),
        moves=tuple(moves),
        deflect=deflect,
        happenings=tuple(story.happenings),
        deflect_from=deflect_from,
    )


def _relocate(
    plan: Plan,
    scenario: Scenario,
    state: Availability,
    lost_sites: frozenset[str],
    triggered: Sequence[Strategy],
    story: _Story,
    started: Mapping[str, int] | None = None,
) -> list[Move]:
    moves: list[Move] = []
    moved: dict[str, int] = {}  # team -> agents already moved by an earlier strategy
    ready = dict(scenario.home_ready)
    for strategy in triggered:
        relocation = strategy.relocate
        if relocation is None:
            continue
        target = plan.sites_by_id[relocation.to]
        begun = scenario.at if started is None else started[strategy.id]
        start = begun + math.ceil(target.activation_minutes)  # the day is held minute by minute
        if target.id not in state.sites:
            story.add(begun, f"{strategy.id}: cannot move to {target.name}, which is down too")
            continue
        if start >= scenario.ends:
            story.add(
                begun,
                f"{strategy.id}: {target.name} needs {target.activation_minutes:g} minutes to activate;"
                " the outage is over first",
            )
            continue
        wanted = relocation.queues or target.queues or [q.id for q in plan.queues]
        based_there = sum(t.agents for t in plan.teams if t.site == target.id)
        seats = max(0, target.seats - based_there - sum(m.agents for m in moves if m.site == target.id))
        if target.kind == "partner":
            skills = _site_takes(target, wanted)
            takers = [t for t in plan.teams if set(t.queues) & set(skills)]
            weight = sum(t.agents for t in takers)
            cost = sum(t.hourly_cost * t.agents for t in takers) / weight if weight else 0.0
            if seats and skills:
                moves.append(Move(strategy.id, None, target.id, seats, skills, start, scenario.ends, cost))
                names = [plan.queues_by_id[q].name for q in skills]
                story.add(
                    start, f"{strategy.id}: {target.name} takes {join_names(names)} with {seats} agents"
                )
            continue
        sources = [relocation.from_] if relocation.from_ else sorted(lost_sites)
        here = 0
        for team in plan.teams:
            if team.site not in sources or team.site not in lost_sites or team.site == target.id:
                continue
            if not _overlaps(team, start, scenario.ends):
                continue  # off shift from their arrival to the outage's end: nobody moves, no seat taken
            skills = _site_takes(target, [q for q in team.queues if relocation.queues is None or q in wanted])
            able = (
                agents_available_from_home(team, ready.get(team.id)) if target.kind == "home" else team.agents
            )
            count = min(able - moved.get(team.id, 0), seats)
            if count <= 0 or not skills:
                continue
            moved[team.id] = moved.get(team.id, 0) + count
            seats -= count
            here += count
            moves.append(
                Move(strategy.id, team.id, target.id, count, skills, start, scenario.ends, team.hourly_cost)
            )
        where = "from home" if target.kind == "home" else f"at {target.name}"
        if here:
            story.add(start, f"{strategy.id}: {here} agents working {where}")
        else:
            story.add(begun, f"{strategy.id}: nobody can move to {target.name}")
    return moves


def _deflect(
    plan: Plan,
    state: Availability,
    unreachable: frozenset[str],
    triggered: Sequence[Strategy],
    story: _Story,
    started: Mapping[str, int] | None = None,
) -> dict[str, float]:
    deflect: dict[str, float] = {}
    ivrs, heard = _ivr_queues(plan)
    for strategy in triggered:
        for action in strategy.actions:
            if action.ivr_message is None:
                continue
            share = DEFAULT_DEFLECT_SHARE if action.deflect_share is None else action.deflect_share
            at = story.scenario.at if started is None else started[strategy.id]
            if ivrs and not ivrs & state.components:
                names = join_names([plan.components_by_id[c].name for c in sorted(ivrs)])
                story.add(at, f"{strategy.id}: the outage message cannot play: {names} down")
                continue
            queues = [q.id for q in plan.queues if q.id not in unreachable and (not ivrs or q.id in heard)]
            for q in queues:
                deflect[q] = max(deflect.get(q, 0.0), share)
            if queues:
                names = join_names([plan.queues_by_id[q].name for q in queues])
                story.add(
                    at,
                    f"{strategy.id}: the outage message plays; about {share:.0%} of callers to"
                    f" {names} hang up on hearing it",
                )
    return deflect


class _Story:
    """The happenings of the outage, in a manager's words."""

    def __init__(self, plan: Plan, scenario: Scenario) -> None:
        self.plan = plan
        self.scenario = scenario
        self.happenings: list[Happening] = []

    def add(self, minute: int, text: str) -> None:
        """One happening at a minute of the day."""
        self.happenings.append(_at(minute, text))

    def _component_names(self, ids: Iterable[str]) -> list[str]:
        return [self.plan.components_by_id[c].name for c in ids]

    def failure(
        self,
        failed: frozenset[str],
        lost_sites: frozenset[str],
        unreachable: frozenset[str],
        unanswered: frozenset[str],
        factors: dict[str, float],
        kind: str | None,
    ) -> None:
        """What fails at the outage start, in one sentence."""
        plan, at = self.plan, self.scenario.at
        down = list(dict.fromkeys(self.scenario.down))
        text = f"{join_names(self._component_names(down))} down"
        also = [c.id for c in plan.components if c.id in failed and c.id not in down]
        if also:
            text += f" (and with it {join_names(self._component_names(also))})"
        parts = []
        if unreachable:
            parts.append(f"{join_names([q.name for q in plan.queues if q.id in unreachable])} unreachable")
        for site in plan.sites:
            if site.id in lost_sites:
                agents = sum(
                    t.agents for t in plan.teams if t.site == site.id and t.shift.start <= at < t.shift.end
                )
                parts.append(f"{site.name} lost ({agents} agents on shift cannot work)")
        if unanswered:
            parts.append(f"{join_names([q.name for q in plan.queues if q.id in unanswered])} unanswered")
        for q in plan.queues:
            if q.id in factors:
                parts.append(f"handling on {q.name} slower (x{factors[q.id]:.2g})")
        if parts:
            text += ": " + "; ".join(parts)
        if kind:
            text += f"; a {kind} outage"
        else:
            text += "; no queue, site or handling time is affected"
        self.add(at, text)

    def recovery(self, moves: Sequence[Move]) -> None:
        """What comes back at the outage end."""
        back = f"{join_names(self._component_names(dict.fromkeys(self.scenario.down)))} back"
        if any(m.team is not None for m in moves):
            back += "; agents go back to their own sites"
        partners = {m.site for m in moves if m.team is None}
        if partners:
            names = join_names([self.plan.sites_by_id[s].name for s in sorted(partners)])
            back += f"; {names} stands down"
        self.add(self.scenario.ends, back)
