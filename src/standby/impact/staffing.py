"""Staffing: the fewest agents that meet a service-level target, and optional limits.

Service level (answered within T over offered, the primary definition in
`impact.erlang`) rises with every agent added, under Erlang C and Erlang A alike;
abandonment and occupancy fall. So "meets every goal" is false up to some number of
agents and true from there on, and that number is found by searching: a guess by
square-root staffing (load + sqrt(load)), steps that double until the answer is
bracketed, then bisection. About 2 log2(sqrt(load)) evaluations: some 15 at 20,000
Erlangs.

Pure: no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from standby.errors import InvalidInput
from standby.impact.erlang import MAX_AGENTS, Performance, Traffic, performance


@dataclass(frozen=True)
class Staffing:
    """The fewest agents meeting every goal, what they achieve, and which goals set the number.

    `limited_by` lists the goals that one agent fewer would miss: "service level",
    "occupancy", "abandonment", or "stability" (Erlang C needs more agents than the
    load before it has any answer).
    """

    agents: int
    performance: Performance
    target: float
    max_occupancy: float | None
    max_abandon: float | None
    limited_by: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record: the goals, the agents, why, and the full performance."""
        return {
            "target": self.target,
            "max_occupancy": self.max_occupancy,
            "max_abandon": self.max_abandon,
            "agents": self.agents,
            "limited_by": list(self.limited_by),
            "performance": self.performance.to_dict(),
        }


def staff(
    traffic: Traffic,
    *,
    target: float,
    max_occupancy: float | None = None,
    max_abandon: float | None = None,
) -> Staffing:
    """The fewest agents whose service level reaches `target`, within the optional limits.

    `max_abandon` (the highest acceptable share of callers who hang up) needs Erlang A,
    that is a `traffic` with a patience. InvalidInput when a goal is out of range or
    would take more than MAX_AGENTS agents.
    """
    target = _share("target", target)
    if max_occupancy is not None:
        max_occupancy = _share("max_occupancy", max_occupancy)
    if max_abandon is not None:
        if traffic.patience_s is None:
            raise InvalidInput(
                "max_abandon needs patience_s: under Erlang C nobody abandons, so give the callers'"
                " mean patience to use Erlang A"
            )
        max_abandon = _share("max_abandon", max_abandon)
    goals = _Goals(traffic, target, max_occupancy, max_abandon)
    load = traffic.offered_load
    floor = traffic.min_stable_agents() if traffic.patience_s is None else 1
    if max_occupancy is not None and traffic.patience_s is None:
        # Erlang C's occupancy is load / agents exactly, so this bound costs no evaluation.
        floor = max(floor, math.ceil(load / max_occupancy))
    if floor > MAX_AGENTS:
        raise InvalidInput(_too_many(traffic))
    guess = min(MAX_AGENTS, max(floor, math.ceil(load + math.sqrt(load))))
    if goals.met(guess):
        high, step = guess, 1
        while high - step >= floor and goals.met(high - step):
            high, step = high - step, 2 * step
        low = max(floor - 1, high - step)  # fails, or is below the floor
    else:
        low, step = guess, 1
        while True:
            if low == MAX_AGENTS:
                raise InvalidInput(_too_many(traffic))
            candidate = min(MAX_AGENTS, low + step)
            if goals.met(candidate):
                high = candidate
                break
            low, step = candidate, 2 * step
    while high - low > 1:
        middle = (low + high) // 2
        if goals.met(middle):
            high = middle
        else:
            low = middle
    return Staffing(
        agents=high,
        performance=goals.at(high),
        target=target,
        max_occupancy=max_occupancy,
        max_abandon=max_abandon,
        limited_by=goals.missed(high - 1),
    )


class _Goals:
    """The goals of one staffing question, with each agent count evaluated once."""

    def __init__(
        self, traffic: Traffic, target: float, max_occupancy: float | None, max_abandon: float | None
    ) -> None:
        self.traffic = traffic
        self.target = target
        self.max_occupancy = max_occupancy
        self.max_abandon = max_abandon
        self.seen: dict[int, Performance] = {}

    def at(self, agents: int) -> Performance:
        found = self.seen.get(agents)
        if found is None:
            found = self.seen[agents] = performance(self.traffic, agents)
        return found

    def missed(self, agents: int) -> tuple[str, ...]:
        """The goals `agents` miss (all of them are "stability" when Erlang C has no answer)."""
        if agents < 1:
            return ()
        if self.traffic.patience_s is None and agents < self.traffic.min_stable_agents():
            return ("stability",)
        result = self.at(agents)
        missed = []
        if result.service_level < self.target:
            missed.append("service level")
        if self.max_occupancy is not None and result.occupancy > self.max_occupancy:
            missed.append("occupancy")
        if self.max_abandon is not None and result.p_abandon > self.max_abandon:
            missed.append("abandonment")
        return tuple(missed)

    def met(self, agents: int) -> bool:
        return not self.missed(agents)


def _share(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 < value <= 1.0:
        raise InvalidInput(f"{name} must be a share above 0 and at most 1 (such as 0.8), got {value!r}")
    return float(value)


def _too_many(traffic: Traffic) -> str:
    return (
        f"meeting these goals for an offered load of {traffic.offered_load:,.4g} Erlangs would take more"
        f" than {MAX_AGENTS:,} agents, the most Standby computes"
    )
