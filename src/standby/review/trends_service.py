"""The reviews across incidents, read from the database: the closed incidents' measures by quarter,
outages per component and vendor, and the actions open and overdue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from standby.detect.history import OutageRecord, get_outage
from standby.plan.schema import Plan
from standby.respond.incident_service import get_incident
from standby.respond.timeline import entries
from standby.review.draft_service import named_times
from standby.review.measures import MEASURES, seconds_of
from standby.review.trends import Count, Quarter, outages_per_part, quarterly
from standby.store.tables import ActionRow, IncidentRow, OutageRow, ReviewRow

SINCE = timedelta(days=2 * 366)
"""How far back the trends look: eight quarters."""
MOST = 2000
"""The most incidents the trends read (the newest)."""


@dataclass(frozen=True)
class ReviewLine:
    """A closed incident in the list of reviews."""

    incident_id: int
    title: str
    state: str
    detected_at: datetime
    signed_off_at: datetime | None


@dataclass(frozen=True)
class Trends:
    """Everything the reviews page shows."""

    quarters: list[Quarter]
    by_component: list[Count]
    by_vendor: list[Count]
    actions_open: int
    actions_overdue: int
    actions_closed: int
    reviews: list[ReviewLine]


def trends(session: Session, *, plan: Plan | None, now: datetime) -> Trends:
    """The trends over the closed incidents of the last eight quarters, and the actions as they stand."""
    rows = list(
        session.scalars(
            select(IncidentRow)
            .where(IncidentRow.state.in_(("resolved", "reviewed")), IncidentRow.detected_at >= now - SINCE)
            .order_by(IncidentRow.detected_at.desc())
            .limit(MOST)
        )
    )
    figures = []
    for row in rows:
        incident = get_incident(session, row.id)
        outage: OutageRecord | None = (
            get_outage(session, row.outage_id) if row.outage_id is not None else None
        )
        times, _ = named_times(session, incident, outage, entries(session, row.id, kind="state"))
        figures.append((row.detected_at, {m.name: seconds_of(m.name, times) for m in MEASURES}))
    causes = session.scalars(
        select(OutageRow.causes).where(
            OutageRow.started_at >= now - SINCE,
            OutageRow.merged_into.is_(None),
            OutageRow.in_maintenance.is_(False),
        )
    )
    by_component, by_vendor = outages_per_part(plan, [list(c or ()) for c in causes])
    counts: dict[str, int] = {
        state: int(n)
        for state, n in session.execute(select(ActionRow.state, func.count()).group_by(ActionRow.state))
    }
    overdue = session.scalar(select(func.count()).where(ActionRow.state == "open", ActionRow.due_at <= now))
    signed: dict[int, datetime | None] = {
        incident_id: at
        for incident_id, at in session.execute(
            select(ReviewRow.incident_id, ReviewRow.signed_off_at).where(
                ReviewRow.incident_id.in_([r.id for r in rows[:100]])
            )
        )
    }
    return Trends(
        quarters=quarterly(figures),
        by_component=by_component,
        by_vendor=by_vendor,
        actions_open=int(counts.get("open", 0)),
        actions_overdue=int(overdue or 0),
        actions_closed=int(counts.get("closed", 0)),
        reviews=[ReviewLine(r.id, r.title, r.state, r.detected_at, signed.get(r.id)) for r in rows[:100]],
    )
