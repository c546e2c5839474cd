"""Reading continuity strategy runs: one incident's, listed or one by one, as people see them.

A service beside `continuity_service` (which proposes, decides and ticks): the records
the API, the incident room and the review read, and the live triggers they are
judged against. Functions take a session and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from standby.detect.history import list_outages
from standby.errors import NotFound
from standby.plan.schema import Plan, Strategy
from standby.plan.topology import Topology
from standby.respond.continuity import StrategyTrigger, ivr_announcements, triggered
from standby.respond.strategy_actions import down_components, incident_row, shown_url
from standby.respond.timeline import entries
from standby.store.tables import StrategyRunRow


@dataclass(frozen=True)
class StepRecord:
    """One runbook step: ticked off by whom and when, or not yet."""

    index: int
    step: str
    done_at: datetime | None
    by: str | None

    @property
    def done(self) -> bool:
        """Whether the step is ticked off."""
        return self.done_at is not None


@dataclass(frozen=True)
class StrategyRunRecord:
    """A strategy proposed or run for an incident, as the API and the orchestration see it.

    `reason` is why it was proposed; `applies_now` whether its trigger still holds;
    `relocation` is what was carried out (running or done) or what would be (proposed).
    """

    incident_id: int
    strategy_id: str
    name: str
    state: str
    automatic: bool
    reason: str | None
    applies_now: bool
    proposed_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    completed_at: datetime | None
    completed_by: str | None
    steps: tuple[StepRecord, ...]
    relocation: dict[str, Any] | None
    ivr_messages: tuple[str, ...]
    webhooks: tuple[str, ...]
    in_plan: bool


def run_row(session: Session, incident_id: int, strategy_id: str, *, lock: bool = False) -> StrategyRunRow:
    """The run; with `lock`, held until the unit of work ends, so that deciders take turns.

    The lock is taken by writing first (an UPDATE that changes nothing): a row lock on
    PostgreSQL, the write lock on SQLite, where a read would not hold anything.
    """
    incident_row(session, incident_id)
    which = (StrategyRunRow.incident_id == incident_id, StrategyRunRow.strategy_id == strategy_id)
    query = select(StrategyRunRow).where(*which)
    if lock:
        session.execute(
            update(StrategyRunRow)
            .where(*which)
            .values(state=StrategyRunRow.state)
            .execution_options(synchronize_session=False)
        )
        query = query.execution_options(populate_existing=True)
    row = session.scalars(query).first()
    if row is None:
        raise NotFound(f"strategy {strategy_id!r} has not been proposed for incident {incident_id}")
    return row


def open_classifications(session: Session) -> set[str]:
    """The classifications of the open outages that count (neither in maintenance nor merged)."""
    return {
        o.classification
        for o in list_outages(session, open_only=True, limit=1000)
        if not o.in_maintenance and o.merged_into is None
    }


def live_triggers(
    session: Session, *, plan: Plan, now: datetime, topology: Topology | None = None
) -> list[StrategyTrigger]:
    """The plan's strategies the live state triggers now: component states and open outages."""
    return triggered(
        plan,
        topology or Topology.from_plan(plan),
        down_components=down_components(session, plan),
        open_outage_classifications=open_classifications(session),
        now=now,
    )


def _events(session: Session, incident_id: int) -> dict[str, dict[str, Any]]:
    """The latest data of each strategy event on the timeline, by 'strategy/event'."""
    found: dict[str, dict[str, Any]] = {}
    for entry in entries(session, incident_id, kind="strategy") + entries(
        session, incident_id, kind="action"
    ):
        if "strategy" in entry.data:
            data = dict(entry.data, at=entry.at, actor=entry.actor)
            found[f"{entry.data['strategy']}/{entry.data.get('event', entry.kind)}"] = data
    return found


def _as_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return None


def _record(
    row: StrategyRunRow,
    plan: Plan | None,
    events: dict[str, dict[str, Any]],
    applying: set[str],
) -> StrategyRunRecord:
    strategy = strategy_or_none(plan, row.strategy_id)
    key = row.strategy_id
    proposed = events.get(f"{key}/proposed", {})
    completed = events.get(f"{key}/completed")
    carried = events.get(f"{key}/relocation")
    moved = carried if carried is not None and row.state in ("running", "done") else None
    relocation_data = moved.get("relocation") if moved is not None else proposed.get("relocation")
    return StrategyRunRecord(
        incident_id=row.incident_id,
        strategy_id=row.strategy_id,
        name=strategy.name if strategy is not None else row.strategy_id,
        state=row.state,
        automatic=bool(strategy is not None and strategy.automatic),
        reason=proposed.get("reason"),
        applies_now=row.strategy_id in applying,
        proposed_at=row.proposed_at,
        decided_at=row.decided_at,
        decided_by=row.decided_by,
        completed_at=completed["at"] if completed is not None else None,
        completed_by=completed["actor"] if completed is not None else None,
        steps=tuple(
            StepRecord(i, str(s.get("step", "")), _as_time(s.get("done_at")), s.get("by"))
            for i, s in enumerate(row.steps or [])
        ),
        relocation=relocation_data,
        ivr_messages=tuple(a.text for a in ivr_announcements(strategy)) if strategy is not None else (),
        webhooks=tuple(shown_url(a.webhook) for a in strategy.actions if a.webhook)
        if strategy is not None
        else (),
        in_plan=strategy is not None,
    )


def strategy_or_none(plan: Plan | None, strategy_id: str) -> Strategy | None:
    """The plan's strategy with this id; None without a plan or such a strategy."""
    if plan is None:
        return None
    return next((s for s in plan.strategies if s.id == strategy_id), None)


def _applying(session: Session, plan: Plan | None, now: datetime, topology: Topology | None) -> set[str]:
    if plan is None:
        return set()
    return {t.strategy_id for t in live_triggers(session, plan=plan, now=now, topology=topology)}


def list_runs(
    session: Session,
    *,
    incident_id: int,
    plan: Plan | None,
    now: datetime,
    topology: Topology | None = None,
) -> list[StrategyRunRecord]:
    """The strategies proposed or run for an incident, in the plan's order (NotFound for no incident)."""
    incident_row(session, incident_id)
    rows = list(
        session.scalars(
            select(StrategyRunRow)
            .where(StrategyRunRow.incident_id == incident_id)
            .order_by(StrategyRunRow.proposed_at, StrategyRunRow.id)
        )
    )
    applying = _applying(session, plan, now, topology)
    events = _events(session, incident_id)
    order = {s.id: i for i, s in enumerate(plan.strategies)} if plan is not None else {}
    rows.sort(key=lambda r: order.get(r.strategy_id, len(order)))
    return [_record(r, plan, events, applying) for r in rows]


def get_run(
    session: Session,
    *,
    incident_id: int,
    strategy_id: str,
    plan: Plan | None,
    now: datetime,
    topology: Topology | None = None,
) -> StrategyRunRecord:
    """One strategy run of an incident; NotFound naming what is missing."""
    row = run_row(session, incident_id, strategy_id)
    return _record(row, plan, _events(session, incident_id), _applying(session, plan, now, topology))
