"""The review of an incident as drafted from the records: its parts, as plain frozen records. Pure.

`review.draft_service` fills it from the database; `review.markdown` and the pages render
it; `as_dict` is its JSON (the API's answer).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from standby.impact.results import plain_data
from standby.review.actions import ActionRecord
from standby.review.measures import Figure


@dataclass(frozen=True)
class NamedTime:
    """One named moment of the incident: when (None: it did not happen), and what it is."""

    name: str
    at: datetime | None
    meaning: str


@dataclass(frozen=True)
class PlanPart:
    """The plan version in force when the incident was detected, and what changed in the plan since."""

    version_id: int | None
    loaded_at: datetime | None
    current_version_id: int | None
    changes_since: tuple[str, ...]


@dataclass(frozen=True)
class TimelineLine:
    """One entry of the timeline, as the review shows it."""

    at: datetime
    kind: str
    actor: str
    text: str


@dataclass(frozen=True)
class Tolerance:
    """An impact tolerance of a queue the outage hit: kept or breached, and by how much."""

    queue: str
    kind: str
    limit: float
    actual: float | None
    kept: bool | None
    by: float | None
    text: str


@dataclass(frozen=True)
class Forecast:
    """A live forecast made during the outage (issue 14's timeline entries of kind "forecast")."""

    as_of: str
    recommended: str
    reason: str


@dataclass(frozen=True)
class Simulation:
    """The outage as it really ran, simulated: what went down, when, for how long, with the strategies."""

    down: tuple[str, ...]
    at: str
    minutes: int
    headline: str
    customers_affected: float
    calls_unanswered: float
    callbacks_missed: float
    cost: float
    currency: str
    happenings: tuple[str, ...]


@dataclass(frozen=True)
class ImpactPart:
    """The simulation (or why there is none), the live forecasts, and the tolerances."""

    simulation: Simulation | None
    not_simulated: str | None
    forecasts: tuple[Forecast, ...]
    tolerances: tuple[Tolerance, ...]


@dataclass(frozen=True)
class Communication:
    """A stakeholder group: its deadline met or missed (the delivery the evidence), and what it was told."""

    group: str
    name: str
    due_by: datetime | None
    state: str | None
    reason: str | None
    evidence_at: datetime | None
    message_id: int | None
    first_told_at: datetime | None
    updates_sent: int
    resolved_told_at: datetime | None


@dataclass(frozen=True)
class StrategyPart:
    """A strategy proposed for the incident: approved when and by whom, and how long it took to take effect.

    `took_s` runs from its proposal to its approval (zero for one the plan runs automatically).
    """

    strategy_id: str
    name: str
    state: str
    automatic: bool
    proposed_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    took_s: float | None


@dataclass(frozen=True)
class Written:
    """What people wrote in the review, and its sign-off."""

    factors: str = ""
    went_well: str = ""
    went_wrong: str = ""
    lucky: str = ""
    updated_at: datetime | None = None
    updated_by: str | None = None
    signed_off_at: datetime | None = None
    signed_off_by: str | None = None


@dataclass(frozen=True)
class Review:
    """An incident's review: drafted from the records, with what people wrote and the actions set."""

    incident_id: int
    title: str
    state: str
    severity_text: str
    classification: str
    outage_id: int | None
    summary: str
    times: tuple[NamedTime, ...]
    measures: tuple[Figure, ...]
    plan: PlanPart
    timeline: tuple[TimelineLine, ...]
    impact: ImpactPart
    customers: Mapping[str, Any]
    customers_headline: str
    communications: tuple[Communication, ...]
    strategies: tuple[StrategyPart, ...]
    written: Written = field(default_factory=Written)
    actions: Sequence[ActionRecord] = ()
    timezone: str = "UTC"

    @property
    def ready(self) -> bool:
        """Whether the incident is resolved (or reviewed): only then is the review drafted in full."""
        return self.state in ("resolved", "reviewed")

    def measure(self, name: str) -> Figure:
        """One measure's figure by name (time_to_detect_s...)."""
        return next(m for m in self.measures if m.name == name)

    def as_dict(self) -> dict[str, Any]:
        """As JSON-ready data: the measures also flat (`time_to_detect_s`...) for scripts."""
        plain: dict[str, Any] = plain_data(self)
        plain["times"] = {t.name: plain_data(t.at) for t in self.times}
        plain["time_meanings"] = {t.name: t.meaning for t in self.times}
        plain.update({m.name: m.seconds for m in self.measures})
        plain["ready"] = self.ready
        return plain
