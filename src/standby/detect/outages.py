"""Correlation as a service: component states and outage records from what the probes,
alerts and maintenance windows say. One transaction, serialised by the detection lock,
so however many workers correlate at once there is one outage per root cause.

Most passes change nothing, so a worker first looks without the lock (`look`: reads
only, which on SQLite takes no write lock) and correlates under it only when something
would change. A correlation of 5,000 components takes seconds of wall time on a loaded
machine; holding the write lock all along made every other writer wait, the worker's
own lease renewals among them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from standby.detect.correlation import (
    Correlator,
    OpenOutage,
    OutageShape,
    interruption,
    reconcile,
    worse,
)
from standby.detect.health import (
    HEARTBEAT_GRACE,
    AlertEvidence,
    ComponentState,
    ProbeHealthState,
    Verdict,
    component_state,
    state_since,
)
from standby.detect.leases import lock_detection
from standby.exercise.records import Injection, failing_now, injections
from standby.plan.probes import HeartbeatProbe
from standby.plan.schema import Component
from standby.store.tables import AlertRow, ComponentStateRow, OutageRow, ProbeRow, StateChangeRow


@dataclass(frozen=True)
class CorrelationResult:
    """What one correlation changed: component states and outages opened, changed and ended."""

    state_changes: tuple[tuple[str, str, str], ...] = ()
    opened: tuple[int, ...] = ()
    changed: tuple[int, ...] = ()
    ended: tuple[int, ...] = ()
    failing: frozenset[str] = field(default_factory=frozenset)
    waiting_on: Mapping[str, datetime] = field(default_factory=dict)
    """Probes a new outage waits for (upstream of its causes), each with the time a check
    of it must be from: when the outage would start."""


class _WouldWrite(Exception):
    """Raised by a look (`write=False`) at the first thing it would have to write."""


def correlate(
    session: Session,
    *,
    correlator: Correlator,
    maintenance: Iterable[str],
    now: datetime,
    holder: str,
    plan_version_id: int | None = None,
) -> CorrelationResult:
    """Bring component states and outages up to date with the probes and alerts on record."""
    lock_detection(session, holder, now)
    return _correlate(
        session, correlator=correlator, maintenance=maintenance, now=now, plan_version_id=plan_version_id
    )


def look(
    session: Session, *, correlator: Correlator, maintenance: Iterable[str], now: datetime
) -> CorrelationResult | None:
    """Correlate without writing or locking: the result when nothing on record would change,
    None when something would (then `correlate`, under the lock, in a transaction of its own)."""
    try:
        return _correlate(session, correlator=correlator, maintenance=maintenance, now=now, write=False)
    except _WouldWrite:
        return None


def _correlate(
    session: Session,
    *,
    correlator: Correlator,
    maintenance: Iterable[str],
    now: datetime,
    plan_version_id: int | None = None,
    write: bool = True,
) -> CorrelationResult:
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
            said.append(("critical", _injected_summary(injection)))
        verdict, fails = component_state(
            probe_state,
            detail,
            said,
            in_maintenance=component.id in in_maintenance,
        )
        verdicts[component.id] = verdict
        if fails:
            failing.add(component.id)
    evidence = _Evidence(
        {cid: state for cid, (state, _) in probes.items()}, probe_since, alerts, injected, scenarios
    )
    changes, states = _write_states(session, verdicts, evidence, now, write=write)
    shapes = correlator.outages(failing, maintenance=in_maintenance)
    opened, changed, ended, waiting = _write_outages(
        session,
        correlator,
        shapes,
        now=now,
        plan_version_id=plan_version_id,
        unsure=unsure,
        states=states,
        injected=injected,
        write=write,
    )
    return CorrelationResult(
        state_changes=tuple(changes),
        opened=tuple(opened),
        changed=tuple(changed),
        ended=tuple(ended),
        failing=frozenset(failing),
        waiting_on=waiting,
    )


@dataclass(frozen=True)
class _Evidence:
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
            firing.append(AlertEvidence("critical", _injected_summary(injection), injection.started_at))
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


def _injected_summary(injection: Injection) -> str:
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


def _write_states(
    session: Session,
    verdicts: Mapping[str, Verdict],
    evidence: _Evidence,
    now: datetime,
    *,
    write: bool = True,
) -> tuple[list[tuple[str, str, str]], dict[str, tuple[str, datetime]]]:
    """Write the states that changed; (changes, every state with its since, after the write).

    Without `write`, _WouldWrite at the first state or detail that changed.
    """
    current: dict[str, tuple[str, datetime, str | None]] = {
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
    states = {cid: (state, since) for cid, (state, since, _) in current.items()}
    changes: list[tuple[str, str, str]] = []
    if write:
        evidence.read_resolved(
            session,
            {
                cid: current[cid][1] if cid in current else None
                for cid, verdict in verdicts.items()
                if verdict.state == "up" and (cid not in current or current[cid][0] != "up")
            },
        )
    new_states: list[dict[str, Any]] = []
    # The feed rows are written together at the end, not one by one before each statement.
    with session.no_autoflush:
        for component_id, verdict in verdicts.items():
            found = current.get(component_id)
            before = found[0] if found is not None else "unknown"
            if found is None and verdict.state == "unknown":
                continue
            if found is not None and before == verdict.state:
                if found[2] != verdict.detail:
                    if not write:
                        raise _WouldWrite
                    session.execute(
                        update(ComponentStateRow)
                        .where(ComponentStateRow.component_id == component_id)
                        .values(detail=verdict.detail, updated_at=now)
                    )
                continue
            if not write:
                raise _WouldWrite
            previous = found[1] if found is not None else None
            since = evidence.since(component_id, verdict.state, previous, now)
            values = {"state": verdict.state, "since": since, "updated_at": now, "detail": verdict.detail}
            if found is None:
                new_states.append({"component_id": component_id, **values})
            else:
                session.execute(
                    update(ComponentStateRow)
                    .where(ComponentStateRow.component_id == component_id)
                    .values(**values)
                )
            states[component_id] = (verdict.state, since)
            changes.append((component_id, before, verdict.state))
            _feed(
                session,
                now,
                "component",
                component_id,
                f"{component_id}: {before} -> {verdict.state}"
                + (f" ({verdict.detail})" if verdict.detail else ""),
                {"from": before, "to": verdict.state, "detail": verdict.detail},
            )
    if new_states:
        # One statement for the components seen for the first time: 5,000 at a first start.
        session.execute(insert(ComponentStateRow), new_states)
    return changes, states


def _patience(component: Component | None) -> float:
    """How long a verdict on a component's probe can take: one interval, one timeout, a second."""
    probe = component.probe if component is not None else None
    if isinstance(probe, HeartbeatProbe):
        return HEARTBEAT_GRACE * probe.every_s + 1
    return float(getattr(probe, "interval_s", 30.0)) + float(getattr(probe, "timeout_s", 5.0)) + 1


def _feed(session: Session, now: datetime, kind: str, ref: str, summary: str, data: dict[str, Any]) -> None:
    session.add(StateChangeRow(at=now, kind=kind, ref=ref, summary=summary[:2000], data=data))


def _write_outages(
    session: Session,
    correlator: Correlator,
    shapes: list[OutageShape],
    *,
    now: datetime,
    plan_version_id: int | None,
    unsure: Mapping[str, tuple[datetime | None, float]],
    states: Mapping[str, tuple[str, datetime]],
    injected: Mapping[str, Injection],
    write: bool = True,
) -> tuple[list[int], list[int], list[int], dict[str, datetime]]:
    open_rows = {r.id: r for r in session.scalars(select(OutageRow).where(OutageRow.ended_at.is_(None)))}
    plan = correlator.plan
    since = {cid: at for cid, (state, at) in states.items() if state in ("down", "maintenance")}
    result = reconcile(
        [OpenOutage(r.id, frozenset(r.causes), frozenset(r.components)) for r in open_rows.values()],
        shapes,
    )
    opened: list[int] = []
    changed: list[int] = []
    ended: list[int] = []
    if not write and (
        result.ended
        or any(
            _facts(open_rows[i]) != _facts_of(i, shape, open_rows[i], correlator)
            for i, shape in result.updated
        )
    ):
        raise _WouldWrite  # before `_apply`: a look leaves no record changed in the session
    # A look found nothing people see changed: `_apply` would only set the same values again.
    for outage_id, shape in result.updated if write else ():
        row = open_rows[outage_id]
        if _apply(row, shape, correlator):
            row.updated_at = now
            changed.append(outage_id)
            _feed(
                session,
                now,
                "outage",
                str(outage_id),
                f"outage {outage_id} changed: {row.summary}",
                {"event": "changed", **_facts(row)},
            )
    for outage_id, merged_into in result.ended:
        row = open_rows[outage_id]
        ended_at = now if merged_into is not None else _recovered_at(row, states, now)
        row.ended_at, row.updated_at, row.merged_into = ended_at, now, merged_into
        minutes = (ended_at - row.started_at).total_seconds() / 60
        if merged_into is None and interruption(
            minutes, interruption_max_minutes=plan.organisation.interruption_max_minutes
        ):
            row.classification = "interruption"
        ended.append(outage_id)
        how = f"merged into outage {merged_into}" if merged_into else f"ended after {minutes:.1f} min"
        _feed(
            session,
            now,
            "outage",
            str(outage_id),
            f"outage {outage_id} {how}",
            {"event": "ended", **_facts(row)},
        )
    waiting: dict[str, datetime] = {}
    for shape in result.opened:
        started = min((since[c] for c in shape.causes if c in since), default=now)
        # Injected by one exercise alone: an exercise's outage, sure at once (nothing to wait for).
        exercises = {injected[c].exercise_id if c in injected else None for c in shape.causes}
        exercise_id = exercises.pop() if len(exercises) == 1 else None
        unjudged = _hold(shape, correlator, unsure, started, now) if exercise_id is None else set()
        if unjudged:
            for above in unjudged:
                waiting[above] = min(waiting.get(above, started), started)
            continue
        if not write:
            raise _WouldWrite
        row = OutageRow(
            started_at=min(started, now),
            detected_at=now,
            classification=shape.classification,
            peak_classification=shape.classification,
            causes=[],
            components=[],
            sites=[],
            queues=[],
            degraded_queues=[],
            history={"components": [], "sites": [], "queues": []},
            in_maintenance=shape.in_maintenance,
            summary="",
            plan_version_id=plan_version_id,
            updated_at=now,
            exercise_id=exercise_id,
        )
        _apply(row, shape, correlator)
        session.add(row)
        session.flush()
        opened.append(row.id)
        _feed(
            session,
            now,
            "outage",
            str(row.id),
            f"outage {row.id} opened: {row.summary}",
            {"event": "opened", **_facts(row)},
        )
    return opened, changed, ended, waiting


def _recovered_at(row: OutageRow, states: Mapping[str, tuple[str, datetime]], now: datetime) -> datetime:
    """When an outage ended: when the last of its components that changed during it recovered.

    Its first healthy evidence (the probe's first good check, the alert clearing), not
    when correlation noticed: a worker cut off from the database writes later.
    """
    recovered = [
        at
        for c in (*row.causes, *row.components)
        if (found := states.get(c)) is not None
        and found[0] not in ("down", "maintenance")
        and (at := found[1]) >= row.started_at
    ]
    return min(max(recovered, default=now), now)


def _hold(
    shape: OutageShape,
    correlator: Correlator,
    unsure: Mapping[str, tuple[datetime | None, float]],
    started: datetime,
    now: datetime,
) -> set[str]:
    """The probes to wait for before opening this outage: what its causes depend on, not yet judged.

    When a platform dies, the things above it often fail their checks before its own
    probe has confirmed it (their intervals differ). Opening an outage for each of them
    would page for symptoms. So a new outage waits while a probe upstream of a cause is
    confirming a failure, or has not been checked since the cause failed, but never
    longer than that probe's interval and timeout: then it opens as it stands. The
    workers check these probes at once (see `detect.worker`).
    """
    waited = (now - started).total_seconds()
    unjudged: set[str] = set()
    for cause in shape.causes:
        for above in correlator.upstream(cause):
            found = unsure.get(above)
            if found is None:
                continue
            last_checked, patience = found
            if (last_checked is None or last_checked < started) and waited < patience:
                unjudged.add(above)
    return unjudged


def _apply(row: OutageRow, shape: OutageShape, correlator: Correlator) -> bool:
    """Copy the shape onto the record; whether anything people see changed."""
    before = _facts(row) if row.summary else None
    row.causes = list(shape.causes)
    row.components = list(shape.components)
    row.sites = list(shape.sites)
    row.queues = list(shape.queues)
    row.degraded_queues = list(shape.degraded_queues)
    row.classification = shape.classification
    row.peak_classification = worse(row.peak_classification or shape.classification, shape.classification)
    row.in_maintenance = shape.in_maintenance
    history = dict(row.history or {})
    for key, values in (("components", shape.components), ("sites", shape.sites), ("queues", shape.queues)):
        seen = list(history.get(key, []))
        seen.extend(v for v in values if v not in seen)
        history[key] = seen
    row.history = history
    row.summary = correlator.describe(shape)
    return before != _facts(row)


def _facts_of(outage_id: int, shape: OutageShape, row: OutageRow, correlator: Correlator) -> dict[str, Any]:
    """What `_facts` would say of the record once `_apply` copied the shape onto it."""
    return {
        "id": outage_id,
        "classification": shape.classification,
        "causes": list(shape.causes),
        "components": list(shape.components),
        "sites": list(shape.sites),
        "queues": list(shape.queues),
        "degraded_queues": list(shape.degraded_queues),
        "in_maintenance": shape.in_maintenance,
        "summary": correlator.describe(shape),
        "exercise_id": row.exercise_id,
    }


def _facts(row: OutageRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "classification": row.classification,
        "causes": list(row.causes),
        "components": list(row.components),
        "sites": list(row.sites),
        "queues": list(row.queues),
        "degraded_queues": list(row.degraded_queues),
        "in_maintenance": row.in_maintenance,
        "summary": row.summary,
        "exercise_id": row.exercise_id,
    }
