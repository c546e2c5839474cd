"""Finding incidents: by step, severity, class and words of the title, open ones first.

Read-only: what the incidents list shows, a page at a time, and which incident each
outage opened (for the outages list).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from standby.respond.incident_service import IncidentRecord, incident_record
from standby.respond.incidents import OPEN_STATES, STATES
from standby.store.open_first import PageMark, cut, open_first
from standby.store.tables import IncidentRow, OutageRow
from standby.store.tables.detect import CLASSIFICATIONS

STATE_CHOICES: tuple[str, ...] = ("all", "open", "closed", *STATES)
"""What the step filter takes: everything, the open or closed ones, or one step."""
CLASS_CHOICES: tuple[str, ...] = CLASSIFICATIONS
SEVERITY_CHOICES: tuple[int, ...] = (1, 2, 3, 4)
MAX_TEXT = 200


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    """Which incidents to list; the edge checks each value against the choices above."""

    state: str = "all"
    severity: int | None = None
    classification: str | None = None
    text: str = ""


@dataclass(frozen=True, slots=True)
class ListedIncident:
    """An incident as listed, with when it started: its outage's start, else when it was declared."""

    record: IncidentRecord
    started_at: datetime


def find_incidents(
    session: Session, *, where: IncidentFilter, after: PageMark | None = None, limit: int = 50
) -> tuple[list[ListedIncident], PageMark | None]:
    """A page of incidents: open ones first, then the rest, each newest first; and the next page's mark."""
    is_open = IncidentRow.state.in_(OPEN_STATES)
    query = select(IncidentRow, OutageRow.started_at).outerjoin(
        OutageRow, OutageRow.id == IncidentRow.outage_id
    )
    if where.state == "open":
        query = query.where(is_open)
    elif where.state == "closed":
        query = query.where(~is_open)
    elif where.state != "all":
        query = query.where(IncidentRow.state == where.state)
    if where.severity is not None:
        query = query.where(IncidentRow.severity == where.severity)
    if where.classification is not None:
        query = query.where(IncidentRow.classification == where.classification)
    if where.text.strip():
        query = query.where(IncidentRow.title.icontains(where.text.strip(), autoescape=True))
    query = open_first(query, is_open=is_open, row_id=IncidentRow.id, after=after, limit=limit)
    listed = [
        ListedIncident(incident_record(row, started), started or row.detected_at)
        for row, started in session.execute(query)
    ]
    return cut(listed, limit, lambda i: PageMark(i.record.open, i.record.id))


def incidents_of_outages(session: Session, outage_ids: Iterable[int]) -> dict[int, int]:
    """The incident each of these outages opened, by outage id (an outage without one is left out)."""
    ids = sorted(set(outage_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(IncidentRow.outage_id, IncidentRow.id).where(IncidentRow.outage_id.in_(ids))
    )
    return {outage_id: incident_id for outage_id, incident_id in rows if outage_id is not None}
