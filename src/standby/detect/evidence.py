"""What correlation reads: each component's verdict from its probe, alerts and exercises.

Read the same way by the look before the lock (`detect.outage_look`) and by the
correlation that writes (`detect.outages`), so that both judge from the same evidence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from standby.detect.correlation import Correlator
from standby.detect.health import (
    HEARTBEAT_GRACE,
    AlertEvidence,
    ComponentState,
    ProbeHealthState,
    Verdict,
    component_state,
    state_since,
)
from standby.exercise.records import Injection, failing_now, injections
from standby.plan.probes import HeartbeatProbe
from standby.plan.schema import Component
from standby.store.tables import AlertRow, ComponentStateRow, ProbeRow


@dataclass(frozen=True)
class Reading:
    """What one correlation read: the verdicts, what fails, and the evidence behind them."""

    verdicts: dict[str, Verdict]
    failing: set[str]
    in_maintenance: set[str]
    unsure: dict[str, tuple[datetime | None, float]]
    """Probes not down: (when last checked, None while confirming a failure; how long a verdict takes)."""
    evidence: Evidence
    injected: Mapping[str, Injection]


def read_evidence(
    session: Session, *, correlator: Correlator, maintenance: Iterable[str], now: datetime
) -> Reading:
    """Read the probes, alerts and exercises on record and judge each component of the plan."""
    plan = correlator.plan
    in_maintenance = set(maintenance)
    probes: dict[str, tuple[ProbeHealthState, str | None]] = {}
    unsure: dict[str, tuple[datetime | None, float]] = {}
    # When each probe's state began, as the check that began it saw it: a worker cut
    # off from the database writes later, and a state begins at its first evidence.
    probe_since: dict[str, datetime] = {}
    # Plain columns, not ORM objects: this runs every few seconds over every probe.
    columns = (
        ProbeRow.component_id,
        ProbeRow.health,
        ProbeRow.warning,
        ProbeRow.last_detail,
        ProbeRow.failures,
        ProbeRow.last_checked_at,
        ProbeRow.health_since,
    )
    components = plan.components_by_id
    for component_id, health, warning, last_detail, failures, last_checked, since in session.execute(
        select(*columns).where(ProbeRow.enabled)
    ):
        # The detail of a healthy probe (its round trip) changes at every check; only a
        # warning or the reason for a failure is worth keeping with the state.
        probes[component_id] = (health, warning or (last_detail if health == "down" else None))  # type: ignore[assignment]
        if health != "down":
            unsure[component_id] = (
                None if failures else last_checked,
                _patience(components.get(component_id)),
            )
        if since is not None:
            probe_since[component_id] = min(since, now)
    alerts: dict[str, list[AlertRow]] = {}
    for alert in session.scalars(select(AlertRow).where(AlertRow.status != "resolved")):
        alerts.setdefault(alert.component_id, []).append(alert)
    # An exercise's scenario is one more source, read like the alerts: its components
    # fail for its minutes, and the outage opens and is answered as a real one would be.
    scenarios = injections(session, now)
    injected = failing_now(scenarios, now)
    verdicts: dict[str, Verdict] = {}
    failing: set[str] = set()
    for component in plan.components:
        probe_state, detail = probes.get(component.id, (None, None))
        if probe_state is None and component.alerts is not None:
            # Watched by alerts alone: quiet alerts mean it is up.
            probe_state, detail = "up", "no alert firing"
        said = [(a.severity, a.summary) for a in alerts.get(component.id, ())]
        if (injection := injected.get(component.id)) is not None:
            said.append(("critical", injected_summary(injection)))
        verdict, fails = component_state(
            probe_state,
            detail,
            said,
            in_maintenance=component.id in in_maintenance,
        )
        verdicts[component.id] = verdict
        if fails:
            failing.add(component.id)
    evidence = Evidence(
        {cid: state for cid, (state, _) in probes.items()}, probe_since, alerts, injected, scenarios
    )
    return Reading(verdicts, failing, in_maintenance, unsure, evidence, injected)


def current_states(session: Session) -> dict[str, tuple[str, datetime, str | None]]:
    """Every component state on record: (state, since, detail) by component id."""
    return {
        cid: (state, since, detail)
        for cid, state, since, detail in session.execute(
            select(
                ComponentStateRow.component_id,
                ComponentStateRow.state,
                ComponentStateRow.since,
                ComponentStateRow.detail,
            )
        )
    }


@dataclass(frozen=True)
class Evidence:
    """What correlation read about each component: its probe's state and since, its alerts."""

    probe: Mapping[str, ProbeHealthState]
    probe_since: Mapping[str, datetime]
    alerts: Mapping[str, list[AlertRow]]
    injected: Mapping[str, Injection]
    scenarios: list[Injection]
    resolved: dict[str, list[AlertRow]] = field(default_factory=dict)
    """Cleared alerts of the components coming up in this pass (`read_resolved`)."""

    def read_resolved(self, session: Session, coming_up: Mapping[str, datetime | None]) -> None:
        """Read at once the cleared alerts of every component coming up (to its previous since).

        One query for them all: a query each made the first pass over 5,000 components
        (all coming up) take 15 s on PostgreSQL, with the write lock held.
        """
        ids = sorted(coming_up)
        if not ids:
            return
        previous = list(coming_up.values())
        oldest = None if any(p is None for p in previous) else min(p for p in previous if p is not None)
        for start in range(0, len(ids), 900):  # SQLite's limit on a statement's parameters
            query = select(AlertRow).where(
                AlertRow.component_id.in_(ids[start : start + 900]), AlertRow.status == "resolved"
            )
            if oldest is not None:
                query = query.where(AlertRow.resolved_at >= oldest)
            for alert in session.scalars(query):
                self.resolved.setdefault(alert.component_id, []).append(alert)

    def since(
        self,
        component_id: str,
        state: ComponentState,
        previous: datetime | None,
        now: datetime,
    ) -> datetime:
        """When `component_id`'s new `state` began (see `health.state_since`)."""
        firing = [
            AlertEvidence(a.severity, a.summary, alert_started_at(a, previous, now))
            for a in self.alerts.get(component_id, ())
        ]
        if (injection := self.injected.get(component_id)) is not None:
            firing.append(AlertEvidence("critical", injected_summary(injection), injection.started_at))
        resolved = (
            _last_resolved(self.resolved.get(component_id, ()), previous, now) if state == "up" else None
        )
        if state == "up":
            # An exercise's scenario ending is the component's recovery, as an alert clearing is.
            ends = [
                i.ends_at
                for i in self.scenarios
                if component_id in i.down and i.ends_at <= now and (previous is None or i.ends_at >= previous)
            ]
            resolved = max([*ends, *([resolved] if resolved is not None else [])], default=None)
        return state_since(
            state,
            probe=self.probe.get(component_id),
            probe_since=self.probe_since.get(component_id),
            alerts=firing,
            last_resolved_at=resolved,
            previous_since=previous,
            now=now,
        )


def injected_summary(injection: Injection) -> str:
    return f"EXERCISE {injection.exercise_id}: {injection.title}"


def alert_started_at(alert: AlertRow, previous: datetime | None, now: datetime) -> datetime:
    """When an alert started firing: its sender's own time (Alertmanager's `startsAt`, an
    event's `timestamp`) when it gave one, else when Standby first heard of it.

    A start before the component's current state began (an Events v2 alert triggered
    again after it was resolved keeps its first post's time) says nothing of this firing:
    then the latest post is the evidence.
    """
    payload = alert.payload or {}
    told = payload.get("startsAt") if alert.source == "alertmanager" else _event_timestamp(payload)
    started = _moment(told) or alert.first_at
    if previous is not None and started < previous:
        started = alert.updated_at if _moment(told) is None else started
    return min(started, now)


def _event_timestamp(payload: Mapping[str, Any]) -> object:
    inner = payload.get("payload")
    return inner.get("timestamp") if isinstance(inner, Mapping) else None


def _moment(value: object) -> datetime | None:
    """A sender's ISO 8601 time, or None when absent, unreadable or a placeholder (year 1)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None or moment.year < 2000:
        return None
    return moment.astimezone(UTC)


def _last_resolved(resolved: Iterable[AlertRow], previous: datetime | None, now: datetime) -> datetime | None:
    """When the last of a component's cleared alerts that cleared since `previous` stopped firing.

    Alertmanager's `endsAt` when it gave one (its notice comes a little later), else when
    Standby heard it cleared.
    """
    latest: datetime | None = None
    for alert in resolved:
        if alert.resolved_at is None or (previous is not None and alert.resolved_at < previous):
            continue
        ended = alert.resolved_at
        told = _moment((alert.payload or {}).get("endsAt")) if alert.source == "alertmanager" else None
        if told is not None and (previous is None or told >= previous):
            ended = min(told, ended)
        latest = ended if latest is None else max(latest, ended)
    return min(latest, now) if latest is not None else None


def _patience(component: Component | None) -> float:
    """How long a verdict on a component's probe can take: one interval, one timeout, a second."""
    probe = component.probe if component is not None else None
    if isinstance(probe, HeartbeatProbe):
        return HEARTBEAT_GRACE * probe.every_s + 1
    return float(getattr(probe, "interval_s", 30.0)) + float(getattr(probe, "timeout_s", 5.0)) + 1
