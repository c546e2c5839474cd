"""The outage message the IVR plays: the one of the latest continuity strategy running.

Asked by the IVR (GET /api/v1/ivr-message); the strategies' runs are recorded by
`continuity_service`. Reads only, never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from standby.plan.schema import Plan
from standby.respond.continuity import ivr_announcements
from standby.respond.incidents import OPEN_STATES
from standby.store.tables import IncidentRow, StrategyRunRow


@dataclass(frozen=True)
class IvrMessage:
    """The outage message the IVR should play now, and what put it there."""

    text: str
    deflect_share: float
    incident_id: int
    strategy_id: str
    since: datetime


def current_ivr_message(session: Session, *, plan: Plan | None) -> IvrMessage | None:
    """The outage message the IVR should play now, or None.

    Of the strategies running in open incidents whose plan entry has an `ivr_message`,
    the most recently started one's (its first message); a strategy the plan in force no
    longer has plays nothing.
    """
    if plan is None:
        return None
    with_message = {s.id: s for s in plan.strategies if ivr_announcements(s)}
    if not with_message:
        return None
    rows = session.scalars(
        select(StrategyRunRow)
        .join(IncidentRow, IncidentRow.id == StrategyRunRow.incident_id)
        .where(
            StrategyRunRow.state == "running",
            StrategyRunRow.strategy_id.in_(sorted(with_message)),
            IncidentRow.state.in_(OPEN_STATES),
            IncidentRow.exercise_id.is_(None),  # callers never hear an exercise
        )
        .order_by(StrategyRunRow.decided_at.desc(), StrategyRunRow.id.desc())
        .limit(1)
    )
    row = rows.first()
    if row is None:
        return None
    first = ivr_announcements(with_message[row.strategy_id])[0]
    return IvrMessage(
        text=first.text,
        deflect_share=first.deflect_share,
        incident_id=row.incident_id,
        strategy_id=row.strategy_id,
        since=row.decided_at or row.proposed_at,
    )
