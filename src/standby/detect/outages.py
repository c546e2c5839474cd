"""Correlation as a service: component states and outage records from what the probes,
alerts and maintenance windows say. One transaction, serialised by the detection lock,
so however many workers correlate at once there is one outage per root cause.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
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
from standby.detect.health import HEARTBEAT_GRACE, ProbeHealthState, Verdict, component_state
from standby.detect.leases import lock_detection
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
    plan = correlator.plan
    in_maintenance = set(maintenance)
    probes: dict[str, tuple[ProbeHealthState, str | None]] = {}
    unsure: dict[str, tuple[datetime | None, float]] = {}
    # When the probe saw the change: a worker cut off from the database writes later.
    observed_at: dict[str, tuple[str, datetime]] = {}
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
            observed_at[component_id] = (health, min(since, now))
    alerts: dict[str, list[tuple[str, str]]] = {}
    for alert in session.scalars(select(AlertRow).where(AlertRow.status != "resolved")):
        alerts.setdefault(alert.component_id, []).append((alert.severity, alert.summary))
    verdicts: dict[str, Verdict] = {}
    failing: set[str] = set()
    for component in plan.components:
        probe_state, detail = probes.get(component.id, (None, None))
        if probe_state is None and component.alerts is not None:
            # Watched by alerts alone: quiet alerts mean it is up.
            probe_state, detail = "up", "no alert firing"
        verdict, fails = component_state(
            probe_state,
            detail,
            alerts.get(component.id, ()),
            in_maintenance=component.id in in_maintenance,
        )
        verdicts[component.id] = verdict
        if fails:
            failing.add(component.id)
    changes, states = _write_states(session, verdicts, observed_at, now)
    shapes = correlator.outages(failing, maintenance=in_maintenance)
    opened, changed, ended = _write_outages(
        session,
        correlator,
        shapes,
        now=now,
        plan_version_id=plan_version_id,
        unsure=unsure,
        states=states,
    )
    return CorrelationResult(
        state_changes=tuple(changes),
        opened=tuple(opened),
        changed=tuple(changed),
        ended=tuple(ended),
        failing=frozenset(failing),
    )


def _write_states(
    session: Session,
    verdicts: Mapping[str, Verdict],
    observed_at: Mapping[str, tuple[str, datetime]],
    now: datetime,
) -> tuple[list[tuple[str, str, str]], dict[str, tuple[str, datetime]]]:
    """Write the states that changed; (changes, every state with its since, after the write)."""
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
    for component_id, verdict in verdicts.items():
        found = current.get(component_id)
        before = found[0] if found is not None else "unknown"
        if found is None and verdict.state == "unknown":
            continue
        if found is not None and before == verdict.state:
            if found[2] != verdict.detail:
                session.execute(
                    update(ComponentStateRow)
                    .where(ComponentStateRow.component_id == component_id)
                    .values(detail=verdict.detail, updated_at=now)
                )
            continue
        seen = observed_at.get(component_id)
        since = seen[1] if seen is not None and seen[0] == verdict.state else now
        values = {"state": verdict.state, "since": since, "updated_at": now, "detail": verdict.detail}
        if found is None:
            session.execute(insert(ComponentStateRow).values(component_id=component_id, **values))
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
) -> tuple[list[int], list[int], list[int]]:
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
    for outage_id, shape in result.updated:
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
        row.ended_at, row.updated_at, row.merged_into = now, now, merged_into
        minutes = (now - row.started_at).total_seconds() / 60
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
    for shape in result.opened:
        started = min((since[c] for c in shape.causes if c in since), default=now)
        if _hold(shape, correlator, unsure, started, now):
            continue
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
    return opened, changed, ended


def _hold(
    shape: OutageShape,
    correlator: Correlator,
    unsure: Mapping[str, tuple[datetime | None, float]],
    started: datetime,
    now: datetime,
) -> bool:
    """Whether to wait before opening this outage: what its causes depend on is not yet judged.

    When a platform dies, the things above it often fail their checks before its own
    probe has confirmed it (their intervals differ). Opening an outage for each of them
    would page for symptoms. So a new outage waits while a probe upstream of a cause is
    confirming a failure, or has not been checked since the cause failed, but never
    longer than that probe's interval and timeout: then it opens as it stands.
    """
    waited = (now - started).total_seconds()
    for cause in shape.causes:
        for above in correlator.upstream(cause):
            found = unsure.get(above)
            if found is None:
                continue
            last_checked, patience = found
            if (last_checked is None or last_checked < started) and waited < patience:
                return True
    return False


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
    }
