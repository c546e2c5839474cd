"""An exercise's objectives as typed, measurable targets, and their measurement.

Pure: what Standby recorded during the exercise comes in as `Observed`; each objective
gives back passed or failed with the evidence that decided it, in words a manager reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from standby.errors import InvalidInput
from standby.plan.schema import Plan


class _Target(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgentsReadyWithin(_Target):
    """So many agents told where to work (relocation texts delivered) within so many minutes."""

    kind: Literal["agents_ready_within"]
    agents: int = Field(gt=0)
    minutes: float = Field(gt=0)


class AcknowledgedWithin(_Target):
    """The on-call page acknowledged within so many minutes of detection."""

    kind: Literal["acknowledged_within"]
    minutes: float = Field(gt=0)


class GroupToldWithin(_Target):
    """A stakeholder group's first message delivered within so many minutes (default: its deadline)."""

    kind: Literal["group_told_within"]
    group: str = Field(min_length=1)
    minutes: float | None = Field(None, gt=0)


class TolerancesKept(_Target):
    """Every impact tolerance of the queues the exercise took down kept."""

    kind: Literal["tolerances_kept"]


Objective = Annotated[
    AgentsReadyWithin | AcknowledgedWithin | GroupToldWithin | TolerancesKept, Field(discriminator="kind")
]
_OBJECTIVES = TypeAdapter(list[Objective])
KINDS = ("agents_ready_within", "acknowledged_within", "group_told_within", "tolerances_kept")


def read_objectives(raw: object, plan: Plan) -> list[Objective]:
    """The objectives from JSON, checked against the plan; InvalidInput says which and why."""
    if not isinstance(raw, list) or not raw:
        raise InvalidInput(
            "objectives: give a list of at least one objective, each with a kind: " + ", ".join(KINDS)
        )
    try:
        objectives = _OBJECTIVES.validate_python(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"][:2])
        raise InvalidInput(f"objectives.{where}: {error['msg']} (kinds: {', '.join(KINDS)})") from None
    groups = {g.id: g for g in plan.stakeholders}
    for i, objective in enumerate(objectives):
        if isinstance(objective, GroupToldWithin):
            group = groups.get(objective.group)
            if group is None:
                raise InvalidInput(
                    f"objectives.{i}.group: no stakeholder group {objective.group!r} in the plan"
                )
            if objective.minutes is None and group.within_minutes is None:
                raise InvalidInput(
                    f"objectives.{i}.minutes: {objective.group} has no deadline in the plan; say within how"
                    " many minutes"
                )
    return objectives


def describe(objective: Objective, plan: Plan) -> str:
    """The objective in words."""
    if isinstance(objective, AgentsReadyWithin):
        return f"{objective.agents} agents told where to work within {objective.minutes:g} minutes"
    if isinstance(objective, AcknowledgedWithin):
        return f"On call acknowledged within {objective.minutes:g} minutes"
    if isinstance(objective, GroupToldWithin):
        return f"{objective.group} told within {_group_minutes(objective, plan):g} minutes"
    return "Every impact tolerance kept"


@dataclass(frozen=True)
class Observed:
    """What Standby recorded of an exercise, the evidence objectives are measured from."""

    started_at: datetime
    finished_at: datetime
    detected_at: datetime | None = None
    """When the exercise's incident was opened; None when none was."""
    acknowledged_at: datetime | None = None
    outage_started_at: datetime | None = None
    outage_ended_at: datetime | None = None
    queues_lost: tuple[str, ...] = ()
    group_told_at: Mapping[str, datetime] = field(default_factory=dict)
    """Each group's first message delivered (sent by the outbox)."""
    spared: tuple[str, ...] = ()
    """Groups the exercise did not tell (outside audiences not named)."""
    agents_told_at: Sequence[datetime] = ()
    """Each agent's relocation text delivered."""


@dataclass(frozen=True)
class Measured:
    """One objective measured: passed or failed, and the evidence."""

    objective: dict[str, Any]
    description: str
    passed: bool
    evidence: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "objective": self.objective,
            "description": self.description,
            "passed": self.passed,
            "evidence": self.evidence,
        }


def measure(objectives: Sequence[Objective], observed: Observed, plan: Plan) -> list[Measured]:
    """Each objective measured from what was observed."""
    return [
        Measured(o.model_dump(exclude_none=True), describe(o, plan), *_measure(o, observed, plan))
        for o in objectives
    ]


def _minutes(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 60:.1f} min"


def _group_minutes(objective: GroupToldWithin, plan: Plan) -> float:
    if objective.minutes is not None:
        return objective.minutes
    group = next((g for g in plan.stakeholders if g.id == objective.group), None)
    return float(group.within_minutes or 0) if group is not None else 0.0


def _measure(objective: Objective, seen: Observed, plan: Plan) -> tuple[bool, str]:
    if seen.detected_at is None:
        return False, "no incident was opened for the exercise's outage"
    if isinstance(objective, AcknowledgedWithin):
        if seen.acknowledged_at is None:
            return False, "nobody acknowledged the page"
        took = seen.acknowledged_at - seen.detected_at
        ok = took <= timedelta(minutes=objective.minutes)
        return ok, f"acknowledged {_minutes(took)} after detection"
    if isinstance(objective, GroupToldWithin):
        limit = timedelta(minutes=_group_minutes(objective, plan))
        told_at = seen.group_told_at.get(objective.group)
        if told_at is None:
            why = (
                "the exercise did not name it in `tell` (outside audiences are not told)"
                if objective.group in seen.spared
                else "no message to it was delivered"
            )
            return False, f"{objective.group} was never told: {why}"
        took = told_at - seen.detected_at
        return took <= limit, f"{objective.group}'s first message delivered {_minutes(took)} after detection"
    if isinstance(objective, AgentsReadyWithin):
        by = seen.started_at + timedelta(minutes=objective.minutes)
        told = sum(1 for at in seen.agents_told_at if at <= by)
        return told >= objective.agents, (
            f"{told} agent(s) had their relocation text delivered within {objective.minutes:g} minutes"
            f" (needed {objective.agents})"
        )
    return _tolerances(seen, plan)


def _tolerances(seen: Observed, plan: Plan) -> tuple[bool, str]:
    if seen.outage_started_at is None:
        return False, "no outage was recorded"
    out = (seen.outage_ended_at or seen.finished_at) - seen.outage_started_at
    applying = [t for t in plan.impact_tolerances if t.queue in seen.queues_lost]
    if not applying:
        return True, "no queue with an impact tolerance was lost"
    broken = [t for t in applying if out > timedelta(minutes=t.max_outage_minutes)]
    said = "; ".join(
        f"{t.queue}: out {_minutes(out)} of {t.max_outage_minutes:g} min allowed" for t in applying
    )
    return not broken, said
