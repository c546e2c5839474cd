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
    """A probe's damped verdict and the run of results behind it.

    `since` is when the state began: the first result of the run that brought it
    (the first failed check of a probe now down, the first good one of a probe now up),
    not the check that confirmed it. `run_since` is when the current run began.
    """

    state: ProbeHealthState = "unknown"
    failures: int = 0
    successes: int = 0
    since: datetime | None = None
    run_since: datetime | None = None


def after_check(
    health: ProbeHealth, ok: bool, *, at: datetime, failures_to_down: int, successes_to_up: int
) -> ProbeHealth:
    """The probe's health after one more check result at `at`."""
    failures = 0 if ok else health.failures + 1
    successes = health.successes + 1 if ok else 0
    # A run is failures or successes in a row; it begins with its first result.
    new_run = (ok and health.successes == 0) or (not ok and health.failures == 0) or health.run_since is None
    run_since = at if new_run else health.run_since
    state = health.state
    if ok and ((state == "down" and successes >= successes_to_up) or state == "unknown"):
        # From unknown one good reply is enough: there is no earlier verdict to protect.
        state = "up"
    elif not ok and state != "down" and failures >= failures_to_down:
        state = "down"
    since = run_since if state != health.state else health.since
    return replace(
        health, state=state, failures=failures, successes=successes, since=since, run_since=run_since
    )


def after_reading(
    health: ProbeHealth, ok: bool, *, at: datetime, evidence_at: datetime | None
) -> ProbeHealth:
    """A pushed probe's health after one more reading at `at` of what was pushed."""
    # Pushed probes already judge over time (silence, a window): no extra damping.
    # Their state begins with its evidence (the heartbeat that came, the moment the
    # next one was overdue), not with the check that read it.
    state: ProbeHealthState = "up" if ok else "down"
    began = min(evidence_at or at, at)
    since = began if state != health.state else health.since
    return ProbeHealth(state, 0 if ok else 1, 1 if ok else 0, since, began)


@dataclass(frozen=True)
class HeartbeatVerdict:
    """What a heartbeat probe's silence says: up, down, or nothing yet, and since when."""

    ok: bool | None
    """True: a heartbeat came in time; False: none came in time; None: none yet, still in grace."""
    evidence_at: datetime
    """When what it says began: the heartbeat that came, or the moment the next one was overdue."""


def heartbeat_verdict(
    last_at: datetime | None, *, every_s: float, watched_since: datetime, now: datetime
) -> HeartbeatVerdict:
    """What a heartbeat probe says at `now`.

    Never up without a heartbeat: before the first one it is nothing (unknown) until the
    grace period after `watched_since` has passed, then down. `watched_since` is when
    watching began, on record, so a takeover or a restart does not start the grace again.
    """
    grace = timedelta(seconds=HEARTBEAT_GRACE * every_s)
    if last_at is not None and now - last_at <= grace:
        return HeartbeatVerdict(True, last_at)
    if last_at is None and now - watched_since <= grace:
        return HeartbeatVerdict(None, now)
    # Silent since the next heartbeat was due, but not before watching began.
    overdue_at = max((last_at or watched_since) + grace, watched_since)
    return HeartbeatVerdict(False, min(overdue_at, now))


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


@dataclass(frozen=True)
class AlertEvidence:
    """An alert firing about a component: its severity, summary, and when it started firing."""

    severity: str
    summary: str
    started_at: datetime


def state_since(
    state: ComponentState,
    *,
    probe: ProbeHealthState | None,
    probe_since: datetime | None,
    alerts: Iterable[AlertEvidence],
    last_resolved_at: datetime | None,
    previous_since: datetime | None,
    now: datetime,
) -> datetime:
    """When a component's new `state` began: its earliest evidence, not when it was written.

    Down and degraded begin at the earliest evidence of it (the probe's first failed
    check, an alert's own start); up begins at the latest of the probe's recovery and
    the last alert clearing, whichever made it up. Never later than `now`. A failure may
    be known to have begun before the state it follows (an alert that Alertmanager tells
    of late, with its own `startsAt`); any other state never begins before what it ends.
    """
    found: datetime | None = None
    if state in ("down", "degraded"):
        severities = DOWN_SEVERITIES if state == "down" else DEGRADED_SEVERITIES
        times = [a.started_at for a in alerts if a.severity in severities]
        if state == "down" and probe == "down" and probe_since is not None:
            times.append(probe_since)
        found = min(times, default=None)
    elif state == "up":
        times = [t for t in (probe_since if probe == "up" else None, last_resolved_at) if t is not None]
        found = max(times, default=None)
    since = min(found, now) if found is not None else now
    if state != "down" and previous_since is not None and since < previous_since:
        since = min(previous_since, now)
    return since
