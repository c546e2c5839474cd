"""Correlation as a service: component states and outage records from what the probes,
alerts and maintenance windows say. One transaction, serialised by the detection lock,
so however many workers correlate at once there is one outage per root cause.

Most passes change nothing, so a worker first looks without the lock (`outage_look`:
reads only, which on SQLite takes no write lock) and correlates under it only when
something would change. Both judge from the same reading (`evidence`).
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
    Reconciliation,
    interruption,
    reconcile,
    worse,
)
from standby.detect.evidence import Evidence, current_states, read_evidence
from standby.detect.health import Verdict
from standby.detect.leases import lock_detection
from standby.exercise.records import Injection
from standby.store.tables import ComponentStateRow, OutageRow, StateChangeRow


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
    reading = read_evidence(session, correlator=correlator, maintenance=maintenance, now=now)
    changes, states = _write_states(session, reading.verdicts, reading.evidence, now)
    shapes = correlator.outages(reading.failing, maintenance=reading.in_maintenance)
    opened, changed, ended, waiting = _write_outages(
        session,
        correlator,
        shapes,
        now=now,
        plan_version_id=plan_version_id,
        unsure=reading.unsure,
        states=states,
        injected=reading.injected,
    )
    return CorrelationResult(
        state_changes=tuple(changes),
        opened=tuple(opened),
        changed=tuple(changed),
        ended=tuple(ended),
        failing=frozenset(reading.failing),
        waiting_on=waiting,
    )


def _write_states(
    session: Session,
    verdicts: Mapping[str, Verdict],
    evidence: Evidence,
    now: datetime,
) -> tuple[list[tuple[str, str, str]], dict[str, tuple[str, datetime]]]:
    """Write the states that changed; (changes, every state with its since, after the write)."""
    current = current_states(session)
    states = {cid: (state, since) for cid, (state, since, _) in current.items()}
    changes: list[tuple[str, str, str]] = []
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
                    session.execute(
                        update(ComponentStateRow)
                        .where(ComponentStateRow.component_id == component_id)
                        .values(detail=verdict.detail, updated_at=now)
                    )
                continue
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
) -> tuple[list[int], list[int], list[int], dict[str, datetime]]:
    open_rows, result = reconcile_open(session, shapes)
    plan = correlator.plan
    since = failing_since(states)
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
        started, exercise_id, unjudged = opening(shape, correlator, unsure, since, injected, now)
        if unjudged:
            for above in unjudged:
                waiting[above] = min(waiting.get(above, started), started)
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


def reconcile_open(
    session: Session, shapes: list[OutageShape]
) -> tuple[dict[int, OutageRow], Reconciliation]:
    """The open outages on record by id, and how the outages found now differ from them."""
    open_rows = {r.id: r for r in session.scalars(select(OutageRow).where(OutageRow.ended_at.is_(None)))}
    result = reconcile(
        [OpenOutage(r.id, frozenset(r.causes), frozenset(r.components)) for r in open_rows.values()],
        shapes,
    )
    return open_rows, result


def failing_since(states: Mapping[str, tuple[str, datetime]]) -> dict[str, datetime]:
    """When each component down or in maintenance became so."""
    return {cid: at for cid, (state, at) in states.items() if state in ("down", "maintenance")}


def opening(
    shape: OutageShape,
    correlator: Correlator,
    unsure: Mapping[str, tuple[datetime | None, float]],
    since: Mapping[str, datetime],
    injected: Mapping[str, Injection],
    now: datetime,
) -> tuple[datetime, int | None, set[str]]:
    """A new outage's start, its exercise (if one alone caused it) and the probes it waits for."""
    started = min((since[c] for c in shape.causes if c in since), default=now)
    # Injected by one exercise alone: an exercise's outage, sure at once (nothing to wait for).
    exercises = {injected[c].exercise_id if c in injected else None for c in shape.causes}
    exercise_id = exercises.pop() if len(exercises) == 1 else None
    unjudged = _hold(shape, correlator, unsure, started, now) if exercise_id is None else set()
    return started, exercise_id, unjudged


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


def seen_changed(open_rows: Mapping[int, OutageRow], result: Reconciliation, correlator: Correlator) -> bool:
    """Whether an open outage ends, or changes in anything people see, without touching its record."""
    return bool(result.ended) or any(
        _facts(open_rows[i]) != _facts_of(i, shape, open_rows[i], correlator) for i, shape in result.updated
    )


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
