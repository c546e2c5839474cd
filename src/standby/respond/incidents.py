"""The incident's steps, severity and timings. Pure: no I/O, time passed in.

DESIGN.md, "Incident steps": detected -> acknowledged -> diagnosing -> recovering ->
verifying -> resolved -> reviewed. An incident moves forward, possibly skipping steps
(an outage that mends itself goes from acknowledged to verifying); it may go back
from verifying to recovering (the fix did not hold) and be reopened from resolved to
diagnosing. Reviewed is the end.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from standby.errors import InvalidInput
from standby.plan.schema import Plan
from standby.review.measures import seconds_of

IncidentState = Literal[
    "detected", "acknowledged", "diagnosing", "recovering", "verifying", "resolved", "reviewed"
]
STATES: tuple[IncidentState, ...] = (
    "detected",
    "acknowledged",
    "diagnosing",
    "recovering",
    "verifying",
    "resolved",
    "reviewed",
)
OPEN_STATES = frozenset(STATES[:5])
_BACKWARDS = {("verifying", "recovering"), ("resolved", "diagnosing")}
ROLES = ("commander", "communications_lead", "technical_lead")

SEVERITY_WORDS = {1: "SEV1 (critical)", 2: "SEV2 (major)", 3: "SEV3 (minor)", 4: "SEV4 (low)"}


def check_transition(current: str, to: str) -> IncidentState:
    """The state `to` if an incident in `current` may move there; InvalidInput saying why not."""
    if to not in STATES:
        raise InvalidInput(f"unknown incident state {to!r}: use one of {', '.join(STATES)}")
    order: tuple[str, ...] = STATES
    target = STATES[order.index(to)]
    if current == to:
        raise InvalidInput(f"the incident is already {to}")
    if current == "reviewed":
        raise InvalidInput("the incident has been reviewed: it is closed; declare a new one")
    if order.index(to) > order.index(current) or (current, to) in _BACKWARDS:
        return target
    allowed: list[str] = [s for s in order if order.index(s) > order.index(current)]
    allowed += [b for a, b in _BACKWARDS if a == current]
    raise InvalidInput(
        f"an incident cannot go from {current} to {to}: from {current} it goes to {', '.join(allowed)}"
    )


def severity(plan: Plan, classification: str, queues: Iterable[str]) -> int:
    """SEV1 to SEV4 from the outage's class and the queues it hits.

    Total is SEV1. Partial is SEV1 when it hits a queue whose impact tolerance is an
    hour or less (an emergency line), else SEV2. Degraded is SEV3; an interruption SEV4.
    """
    if classification == "total":
        return 1
    if classification == "partial":
        tolerances = {t.queue: t.max_outage_minutes for t in plan.impact_tolerances}
        if any(tolerances.get(q, float("inf")) <= 60 for q in queues):
            return 1
        return 2
    if classification == "degraded":
        return 3
    return 4


@dataclass(frozen=True)
class Timings:
    """Time to detect, acknowledge and resolve, in seconds (None until it happened)."""

    to_detect_s: float | None
    to_acknowledge_s: float | None
    to_resolve_s: float | None


def timings(
    *,
    started_at: datetime | None,
    detected_at: datetime,
    acknowledged_at: datetime | None,
    resolved_at: datetime | None,
) -> Timings:
    """The incident's timings, as the review defines them (`review.measures`): detection from the
    outage's start, the rest from detection."""
    times = {"started": started_at, "detected": detected_at}
    times |= {"acknowledged": acknowledged_at, "resolved": resolved_at}
    return Timings(
        to_detect_s=seconds_of("time_to_detect_s", times),
        to_acknowledge_s=seconds_of("time_to_acknowledge_s", times),
        to_resolve_s=seconds_of("time_to_resolve_s", times),
    )
