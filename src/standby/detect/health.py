"""Flap damping and what a component's state is made of. Pure: no I/O, time passed in.

A probe is down after `failures_to_down` consecutive failed checks and up again after
`successes_to_up` consecutive good ones (DESIGN.md, "Detection"); one stray failure
or one lucky reply changes nothing. A component's state then combines its probe, the
alerts firing about it and the maintenance windows covering it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

ProbeHealthState = Literal["up", "down", "unknown"]
ComponentState = Literal["up", "degraded", "down", "maintenance", "unknown"]

# Alert severities that take a component down, and those that only degrade it.
DOWN_SEVERITIES = frozenset({"critical", "error"})
DEGRADED_SEVERITIES = frozenset({"warning"})
HEARTBEAT_GRACE = 1.5
"""A heartbeat probe is down when none came for this many times `every_s`."""


@dataclass(frozen=True)
class ProbeHealth:
    """A probe's damped verdict and the run of results behind it."""

    state: ProbeHealthState = "unknown"
    failures: int = 0
    successes: int = 0
    since: datetime | None = None


def after_check(
    health: ProbeHealth, ok: bool, *, at: datetime, failures_to_down: int, successes_to_up: int
) -> ProbeHealth:
    """The probe's health after one more check result at `at`."""
    failures = 0 if ok else health.failures + 1
    successes = health.successes + 1 if ok else 0
    state = health.state
    if ok and ((state == "down" and successes >= successes_to_up) or state == "unknown"):
        # From unknown one good reply is enough: there is no earlier verdict to protect.
        state = "up"
    elif not ok and state != "down" and failures >= failures_to_down:
        state = "down"
    since = at if state != health.state else health.since
    return replace(health, state=state, failures=failures, successes=successes, since=since)


def heartbeat_ok(last_at: datetime | None, *, every_s: float, started_at: datetime, now: datetime) -> bool:
    """Whether a heartbeat probe is healthy at `now`.

    Before the first heartbeat, silence counts from when watching started, so a
    platform that never posts is noticed, but a restart does not raise an alarm.
    """
    reference = last_at if last_at is not None else started_at
    return now - reference <= timedelta(seconds=HEARTBEAT_GRACE * every_s)


def metric_ok(values: Iterable[float], *, above: float | None, below: float | None) -> tuple[bool, str]:
    """Whether the average of a metric's values over its window is within bounds, and why."""
    collected = list(values)
    if not collected:
        return True, "no values in the window"
    average = sum(collected) / len(collected)
    shown = f"average {average:.4g} over {len(collected)} value{'s' if len(collected) != 1 else ''}"
    if above is not None and average > above:
        return False, f"{shown}, above {above:g}"
    if below is not None and average < below:
        return False, f"{shown}, below {below:g}"
    return True, shown


@dataclass(frozen=True)
class Verdict:
    """A component's state and a short reason for it."""

    state: ComponentState
    detail: str | None


def component_state(
    probe: ProbeHealthState | None,
    probe_detail: str | None,
    alert_severities: Iterable[tuple[str, str]],
    *,
    in_maintenance: bool,
) -> tuple[Verdict, bool]:
    """What a component's state is, and whether it counts as failing.

    `alert_severities` are (severity, summary) of the alerts firing about it. Failing
    is kept apart from the state shown: a component in maintenance still fails (the
    outage is recorded), it only raises nothing.
    """
    down_reasons: list[str] = []
    degraded_reasons: list[str] = []
    if probe == "down":
        down_reasons.append(probe_detail or "probe failing")
    for severity, summary in alert_severities:
        if severity in DOWN_SEVERITIES:
            down_reasons.append(f"alert: {summary}")
        elif severity in DEGRADED_SEVERITIES:
            degraded_reasons.append(f"alert: {summary}")
    failing = bool(down_reasons)
    if in_maintenance:
        reason = "in a maintenance window" + (f"; {down_reasons[0]}" if down_reasons else "")
        return Verdict("maintenance", reason), failing
    if down_reasons:
        return Verdict("down", "; ".join(down_reasons)), True
    if degraded_reasons:
        return Verdict("degraded", "; ".join(degraded_reasons)), False
    if probe == "up":
        return Verdict("up", probe_detail), False
    return Verdict("unknown", probe_detail), False
