"""Continuity strategies for an incident: proposed or run, their actions carried out, runbooks ticked.

A strategy run (`StrategyRunRow`, one per incident and strategy) goes proposed -> running
-> done, or proposed -> declined. `evaluate` records the strategies the live state
triggers (running at once when the plan marks them `automatic`); `approve` runs a
proposed one; running carries out its actions through the outbox:

- a webhook action: one webhook message (key `strategy:INCIDENT:STRATEGY:action:I`),
  the plan's body with the incident's facts added under keys the body does not use;
- an `ivr_message` action: published, that is recorded on the timeline; the IVR asks
  `ivr_message.current_ivr_message` (GET /api/v1/ivr-message), which serves the message of the
  most recently started strategy still running in an open incident;
- a relocation: one SMS per agent told to move (key `strategy:INCIDENT:STRATEGY:agent:ID`):
  the active agents of each moving team who have a phone, by `external_id`, at most as
  many as the team moves.

Every decision, action and tick is on the timeline with who and when. Calling any of
these again changes nothing: transitions are compare-and-set updates, new runs are
inserted with ON CONFLICT DO NOTHING, and the outbox keeps one message per key. A
strategy already proposed or running in another open incident is not proposed again,
so two incidents never move the same agents twice.

Reading runs (`list_runs`, `get_run`, `live_triggers`) is `strategy_runs`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from standby.errors import Conflict, NotFound
from standby.plan.schema import Plan, Strategy
from standby.plan.topology import Topology
from standby.readiness.service import ready_by_team
from standby.respond.continuity import relocation, triggered
from standby.respond.incidents import OPEN_STATES
from standby.respond.strategy_actions import carry_out, down_components, incident_row
from standby.respond.strategy_runs import (
    StrategyRunRecord,
    get_run,
    open_classifications,
    run_row,
    strategy_or_none,
)
from standby.respond.timeline import SYSTEM, add_entry
from standby.store.tables import IncidentRow, StrategyRunRow

__all__ = ["approve", "complete", "decline", "evaluate", "tick"]

ACTIVE_STATES = ("proposed", "running")


def _fresh(
    session: Session, plan: Plan | None, row: StrategyRunRow, now: datetime, topology: Topology | None = None
) -> StrategyRunRecord:
    session.flush()
    session.refresh(row)
    return get_run(
        session,
        incident_id=row.incident_id,
        strategy_id=row.strategy_id,
        plan=plan,
        now=now,
        topology=topology,
    )


# ---- proposing -------------------------------------------------------------------------


def _steps(strategy: Strategy) -> list[dict[str, Any]]:
    return [{"step": step, "done_at": None, "by": None} for step in strategy.runbook]


def _insert_run(session: Session, values: dict[str, Any]) -> bool:
    """Insert a run unless one exists for the incident and strategy; whether this call made it."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    result = session.execute(
        insert(StrategyRunRow)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["incident_id", "strategy_id"])
    )
    return bool(getattr(result, "rowcount", 0))


def evaluate(
    session: Session,
    *,
    plan: Plan,
    incident_id: int,
    now: datetime,
    actor: str = SYSTEM,
    topology: Topology | None = None,
) -> list[StrategyRunRecord]:
    """Record the strategies the live state triggers now and this incident has not seen.

    Each is proposed to the commander, or run at once (its actions carried out) when the
    plan marks it `automatic`. Returns the runs this call created; calling again every
    few seconds creates nothing new. A closed incident gets nothing; a strategy already
    proposed or running in another open incident is left to that incident.
    """
    incident = incident_row(session, incident_id)
    if incident.state not in OPEN_STATES:
        return []
    topology = topology or Topology.from_plan(plan)
    down = down_components(session, plan)
    found = triggered(
        plan,
        topology,
        down_components=down,
        open_outage_classifications=open_classifications(session),
        now=now,
    )
    if not found:
        return []
    seen = set(
        session.scalars(select(StrategyRunRow.strategy_id).where(StrategyRunRow.incident_id == incident_id))
    )
    elsewhere = set(
        session.scalars(
            select(StrategyRunRow.strategy_id)
            .join(IncidentRow, IncidentRow.id == StrategyRunRow.incident_id)
            .where(
                StrategyRunRow.incident_id != incident_id,
                StrategyRunRow.state.in_(ACTIVE_STATES),
                IncidentRow.state.in_(OPEN_STATES),
            )
        )
    )
    made: list[StrategyRunRow] = []
    for trigger in found:
        strategy = trigger.strategy
        if strategy.id in seen or strategy.id in elsewhere:
            continue
        values = {
            "incident_id": incident_id,
            "strategy_id": strategy.id,
            "state": "running" if strategy.automatic else "proposed",
            "proposed_at": now,
            "decided_at": now if strategy.automatic else None,
            "decided_by": actor if strategy.automatic else None,
            "steps": _steps(strategy),
        }
        if not _insert_run(session, values):
            continue  # another worker recorded it first
        ready = ready_by_team(session, plan=plan, now=now)
        preview = relocation(plan, topology, strategy, down_components=down, now=now, home_ready=ready)
        verb = "Run automatically" if strategy.automatic else "Proposed"
        add_entry(
            session,
            incident_id=incident_id,
            at=now,
            kind="strategy",
            actor=actor,
            text=f"{verb}: {strategy.name} ({trigger.reason})"
            + (f"; {preview.summary(plan)}" if preview is not None else ""),
            data={
                "strategy": strategy.id,
                "event": "proposed",
                "reason": trigger.reason,
                "automatic": strategy.automatic,
                "relocation": preview.to_dict() if preview is not None else None,
            },
        )
        row = run_row(session, incident_id, strategy.id)
        if strategy.automatic:
            carry_out(session, plan=plan, topology=topology, row=row, strategy=strategy, by=actor, now=now)
        made.append(row)
    return [_fresh(session, plan, row, now, topology) for row in made]


# ---- deciding --------------------------------------------------------------------------


def _transition(
    session: Session,
    row: StrategyRunRow,
    *,
    to: str,
    from_: Sequence[str],
    values: dict[str, Any] | None = None,
) -> bool:
    """Compare-and-set: move the run to `to` only if it is still in one of `from_`."""
    result = session.execute(
        update(StrategyRunRow)
        .where(StrategyRunRow.id == row.id, StrategyRunRow.state.in_(from_))
        .values(state=to, **(values or {}))
        .execution_options(synchronize_session=False)
    )
    changed = bool(getattr(result, "rowcount", 0))
    session.refresh(row)
    return changed


def _check_open(incident: IncidentRow, doing: str) -> None:
    if incident.state not in OPEN_STATES:
        raise Conflict(f"incident {incident.id} is {incident.state}: a strategy cannot be {doing} now")


def _strategy(plan: Plan, strategy_id: str) -> Strategy:
    strategy = strategy_or_none(plan, strategy_id)
    if strategy is None:
        raise Conflict(f"the plan in force has no strategy {strategy_id!r} any more: it cannot be run")
    return strategy


def approve(
    session: Session,
    *,
    plan: Plan,
    incident_id: int,
    strategy_id: str,
    by: str,
    now: datetime,
    topology: Topology | None = None,
) -> StrategyRunRecord:
    """Run a proposed strategy: its actions are carried out. Approving a running one changes nothing.

    NotFound for no incident or no such run; Conflict for a declined or done one, a
    closed incident, or a strategy the plan no longer has.
    """
    row = run_row(session, incident_id, strategy_id, lock=True)
    topology = topology or Topology.from_plan(plan)
    if row.state in ("running", "done"):
        return _fresh(session, plan, row, now, topology)
    if row.state == "declined":
        raise Conflict(
            f"strategy {strategy_id!r} was declined by {row.decided_by} for incident {incident_id}:"
            " it cannot be approved"
        )
    _check_open(incident_row(session, incident_id), "approved")
    strategy = _strategy(plan, strategy_id)
    if _transition(
        session, row, to="running", from_=("proposed",), values={"decided_at": now, "decided_by": by}
    ):
        add_entry(
            session,
            incident_id=incident_id,
            at=now,
            kind="strategy",
            actor=by,
            text=f"Approved by {by}: {strategy.name}",
            data={"strategy": strategy_id, "event": "approved"},
        )
        carry_out(
            session,
            plan=plan,
            topology=topology,
            row=row,
            strategy=strategy,
            by=by,
            now=now,
        )
    return _fresh(session, plan, row, now, topology)


def decline(
    session: Session,
    *,
    incident_id: int,
    strategy_id: str,
    by: str,
    now: datetime,
    plan: Plan | None = None,
    reason: str | None = None,
    topology: Topology | None = None,
) -> StrategyRunRecord:
    """Decline a proposed strategy: it is not run and not proposed again for this incident.

    Declining again changes nothing; Conflict for one already running or done.
    """
    row = run_row(session, incident_id, strategy_id, lock=True)
    if row.state in ("running", "done"):
        raise Conflict(
            f"strategy {strategy_id!r} is already {row.state} for incident {incident_id}:"
            " it can no longer be declined"
        )
    if _transition(
        session, row, to="declined", from_=("proposed",), values={"decided_at": now, "decided_by": by}
    ):
        name = _name(plan, strategy_id)
        add_entry(
            session,
            incident_id=incident_id,
            at=now,
            kind="strategy",
            actor=by,
            text=f"Declined by {by}: {name}" + (f" ({reason})" if reason else ""),
            data={"strategy": strategy_id, "event": "declined", "reason": reason},
        )
    return _fresh(session, plan, row, now, topology)


def complete(
    session: Session,
    *,
    incident_id: int,
    strategy_id: str,
    by: str,
    now: datetime,
    plan: Plan | None = None,
    topology: Topology | None = None,
) -> StrategyRunRecord:
    """Mark a running strategy done (its IVR message stops). Again changes nothing; Conflict unless run."""
    row = run_row(session, incident_id, strategy_id, lock=True)
    if row.state in ("proposed", "declined"):
        raise Conflict(
            f"strategy {strategy_id!r} is {row.state} for incident {incident_id}: only a running"
            " strategy can be completed"
        )
    if _transition(session, row, to="done", from_=("running",)):
        open_steps = [s for s in row.steps or [] if not s.get("done_at")]
        left = f"; {len(open_steps)} of {len(row.steps)} runbook steps not ticked off" if open_steps else ""
        add_entry(
            session,
            incident_id=incident_id,
            at=now,
            kind="strategy",
            actor=by,
            text=f"Completed by {by}: {_name(plan, strategy_id)}{left}",
            data={"strategy": strategy_id, "event": "completed", "steps_open": len(open_steps)},
        )
    return _fresh(session, plan, row, now, topology)


def tick(
    session: Session,
    *,
    incident_id: int,
    strategy_id: str,
    step_index: int,
    by: str,
    now: datetime,
    done: bool = True,
    plan: Plan | None = None,
    topology: Topology | None = None,
) -> StrategyRunRecord:
    """Tick a runbook step off (who and when), or untick it with `done=False`.

    Steps are numbered from 0. Ticking a ticked step keeps who ticked it first; only a
    running or done strategy's steps can change (Conflict otherwise); NotFound for a
    step the runbook does not have.
    """
    row = run_row(session, incident_id, strategy_id, lock=True)
    steps = [dict(s) for s in row.steps or []]
    if not 0 <= step_index < len(steps):
        have = f"steps 0 to {len(steps) - 1}" if steps else "no steps"
        raise NotFound(f"strategy {strategy_id!r} has {have} in its runbook; there is no step {step_index}")
    if row.state not in ("running", "done"):
        raise Conflict(
            f"strategy {strategy_id!r} is {row.state} for incident {incident_id}: its runbook is"
            " ticked off once it runs"
        )
    step = steps[step_index]
    if bool(step.get("done_at")) == done:
        return _fresh(session, plan, row, now, topology)
    step["done_at"] = now.isoformat() if done else None
    step["by"] = by if done else None
    row.steps = steps
    verb = "Ticked off" if done else "Unticked"
    add_entry(
        session,
        incident_id=incident_id,
        at=now,
        kind="runbook",
        actor=by,
        text=f"{verb} by {by}: step {step_index + 1} of {_name(plan, strategy_id)}: {step['step']}",
        data={"strategy": strategy_id, "event": "tick" if done else "untick", "step": step_index},
    )
    return _fresh(session, plan, row, now, topology)


def _name(plan: Plan | None, strategy_id: str) -> str:
    strategy = strategy_or_none(plan, strategy_id)
    return strategy.name if strategy is not None else strategy_id
