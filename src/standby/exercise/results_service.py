"""An exercise's results from Standby's own records: what happened, each objective measured.

Reads the exercise's outage and incident, the outbox's deliveries for its incident (the
groups told, the agents' relocation texts) and gives the pure core (`objectives`) the
evidence. Failed objectives become findings, to be turned into actions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from standby.exercise.audience import ExerciseAudience
from standby.exercise.objectives import Observed, measure, read_objectives
from standby.plan.schema import Plan
from standby.store.tables import ExerciseRow, IncidentRow, MessageRow, OutageRow


def observe(session: Session, row: ExerciseRow, *, plan: Plan) -> Observed:
    """What the records say happened during the exercise."""
    started = row.started_at or row.created_at
    finished = row.finished_at or started
    outage = session.scalars(
        select(OutageRow).where(OutageRow.exercise_id == row.id).order_by(OutageRow.id).limit(1)
    ).first()
    incident = session.scalars(
        select(IncidentRow).where(IncidentRow.exercise_id == row.id).order_by(IncidentRow.id).limit(1)
    ).first()
    spared = ExerciseAudience(row.id, frozenset(row.tell)).spared(plan.stakeholders)
    if incident is None:
        return Observed(started, finished, spared=spared)
    told: dict[str, datetime] = {}
    agents: dict[str, datetime] = {}
    sent = session.execute(
        select(
            MessageRow.idempotency_key, MessageRow.recipient, MessageRow.purpose, MessageRow.sent_at
        ).where(MessageRow.incident_id == incident.id, MessageRow.sent_at.is_not(None))
    )
    for key, recipient, purpose, sent_at in sent:
        if sent_at is None:
            continue
        parts = key.split(":")
        if purpose.startswith("comm-") and len(parts) > 2 and parts[0] == "comm":
            told[parts[2]] = min(told.get(parts[2], sent_at), sent_at)
        elif purpose == "strategy" and ":agent:" in key:
            agents[recipient] = min(agents.get(recipient, sent_at), sent_at)
    lost: tuple[str, ...] = ()
    if outage is not None:
        lost = tuple(dict.fromkeys([*(outage.history or {}).get("queues", []), *outage.queues]))
    return Observed(
        started_at=started,
        finished_at=finished,
        detected_at=incident.detected_at,
        acknowledged_at=incident.acknowledged_at,
        outage_started_at=outage.started_at if outage is not None else None,
        outage_ended_at=outage.ended_at if outage is not None else None,
        queues_lost=lost,
        group_told_at=told,
        spared=spared,
        agents_told_at=tuple(agents.values()),
    )


def results_of(session: Session, row: ExerciseRow, *, plan: Plan) -> dict[str, Any]:
    """Each objective measured, the findings (one per failed objective) and what was linked."""
    observed = observe(session, row, plan=plan)
    measured = measure(read_objectives(row.objectives, plan), observed, plan)
    findings = [
        {"text": f"{m.description}: not met ({m.evidence})", "objective": i}
        for i, m in enumerate(measured)
        if not m.passed
    ]
    ids = session.execute(
        select(IncidentRow.id, IncidentRow.outage_id).where(IncidentRow.exercise_id == row.id).limit(1)
    ).first()
    return {
        "objectives": [m.to_dict() for m in measured],
        "passed": sum(1 for m in measured if m.passed),
        "failed": sum(1 for m in measured if not m.passed),
        "findings": findings,
        "incident_id": ids[0] if ids else None,
        "outage_id": ids[1] if ids else None,
        "spared": list(observed.spared),
    }
