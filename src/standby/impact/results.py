"""What the impact simulation reports: immutable records shared by the simulation and its reports.

Every figure is a mean over replications. Totals carry a 95% confidence interval.
The outage's own cost is the difference between two days simulated on the same random
numbers (the same callers, handling times and patience): the day with the outage
and the same day without it. Minutes are minutes since midnight in the plan's time zone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

BreachKind = Literal["max_outage_minutes", "max_unanswered_calls"]


@dataclass(frozen=True)
class Estimate:
    """A mean over replications with its 95% confidence interval (low == high == mean for one)."""

    mean: float
    low: float
    high: float

    @classmethod
    def exact(cls, value: float) -> Estimate:
        """An estimate with no spread, such as a figure from a single replication."""
        return cls(value, value, value)


@dataclass(frozen=True)
class QueueInterval:
    """One queue in one interval of the day.

    `offered` counts every attempt that reached the centre's number, first calls and
    retries alike; each attempt ends as exactly one of answered, abandoned, unreachable
    or deflected (or is still waiting, `backlog`, at the interval's end).
    Service level is answered within the queue's threshold over offered, the strict
    definition (abandoned calls count against it); see `impact.erlang` for the others.
    """

    start: int
    offered: float
    answered: float
    answered_in_target: float
    abandoned: float
    unreachable: float
    deflected: float
    service_level: float | None
    asa_s: float | None
    backlog: float
    agents_busy: float


@dataclass(frozen=True)
class CentreInterval:
    """The agents in one interval: rostered, able to take calls, and paid while unable to."""

    start: int
    agents_on_shift: float
    agents_working: float
    agents_idle_paid: float


@dataclass(frozen=True)
class Cost:
    """What a day costs beyond the calls answered: wages paid for no work, value of calls lost.

    `partner_wages` is what an overflow partner's agents cost while a strategy has them
    working (the plan has no price for them: they are counted at the agent-weighted
    average hourly cost of the teams skilled for the queues they take); `total` is the
    sum of the three.
    """

    idle_wages: Estimate
    lost_value: Estimate
    total: Estimate
    partner_wages: Estimate = Estimate(0.0, 0.0, 0.0)


@dataclass(frozen=True)
class DayOutcome:
    """One simulated day, baseline or with the outage, averaged over replications.

    A customer is affected when any of their attempts met a dead line, was deflected,
    abandoned, was answered later than the queue's service-level threshold, was cut off
    by the outage, or was still waiting when the day ended; a customer who calls three
    times is one customer. A customer whose callback was missed is affected too. A callback is missed when it
    could not be made within its grace period of its due time.
    """

    queues: Mapping[str, tuple[QueueInterval, ...]]
    centre: tuple[CentreInterval, ...]
    customers_affected: Estimate
    vulnerable_affected: Estimate
    calls_unanswered: Estimate
    callbacks_due: Estimate
    callbacks_missed: Estimate
    cost: Cost


@dataclass(frozen=True)
class ToleranceBreach:
    """An impact tolerance the outage breached, and the minute of the day it was breached."""

    queue: str
    kind: BreachKind
    limit: float
    minute: int


@dataclass(frozen=True)
class Happening:
    """Something the scenario did at a minute of the day, in a manager's words."""

    minute: int
    text: str


@dataclass(frozen=True)
class Scenario:
    """Components down from a minute of the day for a number of minutes."""

    down: tuple[str, ...]
    at: int
    minutes: int
    home_ready: tuple[tuple[str, int], ...] = ()
    """Agents ready to work from home by team (team id, agents), for the teams whose agents
    took the home check recently; other teams send their `home_capable` share."""

    @property
    def ends(self) -> int:
        """The minute the components are back."""
        return self.at + self.minutes


@dataclass(frozen=True)
class ScheduledCallback:
    """A callback promised to a customer: due at a minute of the day, made by a queue's agents."""

    due: int
    queue: str
    vulnerable: bool = False


@dataclass(frozen=True)
class ImpactResult:
    """The outage against the same day without it, and what the difference costs."""

    organisation: str
    currency: str
    scenario: Scenario
    interval_minutes: int
    replications: int
    seed: int
    baseline: DayOutcome
    outage: DayOutcome
    customers_affected: Estimate
    vulnerable_affected: Estimate
    calls_unanswered: Estimate
    callbacks_missed: Estimate
    cost: Cost
    recovery: Mapping[str, int | None] = field(default_factory=dict)
    breaches: tuple[ToleranceBreach, ...] = ()
    happenings: tuple[Happening, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The whole result as JSON-ready data (what `standby impact --json` prints)."""
        plain: dict[str, Any] = plain_data(self)
        ready = plain["scenario"].pop("home_ready")
        if ready:  # shown only when home checks changed who can work from home
            plain["scenario"]["home_ready"] = dict(ready)
        return plain


def plain_data(value: Any) -> Any:
    """Records (dataclasses), mappings and sequences as JSON-ready data; times in ISO 8601."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain_data(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [plain_data(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
