"""Change events (PagerDuty's /v2/change/enqueue): a deploy, a configuration change.

Context for an outage, never a cause: kept as they come, tied to the component they
name when they name one, and listed by when the change happened. A service: functions
take a Session and the time, and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from standby.detect.paging import PageCursor, after_cursor
from standby.detect.payloads import ChangeEventV2
from standby.plan.schema import Plan
from standby.store.tables import ChangeEventRow


@dataclass(frozen=True)
class ChangeEventInfo:
    """A change event as kept."""

    id: int
    receiver: str
    summary: str
    source: str | None
    component_id: str | None
    at: datetime
    received_at: datetime
    payload: dict[str, Any]


def record_change_event(
    session: Session, *, event: ChangeEventV2, plan: Plan | None, receiver: str, now: datetime
) -> ChangeEventInfo:
    """Keep a change event, tied to the component it names (if any); its time is the event's, else now."""
    payload = event.payload
    component = component_of(plan, event) if plan is not None else None
    document = event.model_dump(mode="json", exclude={"routing_key"}, exclude_none=True)
    row = ChangeEventRow(
        receiver=receiver[:100],
        summary=payload.summary,
        source=payload.source,
        component_id=component,
        at=payload.timestamp if payload.timestamp is not None else now,
        received_at=now,
        payload=document,
    )
    session.add(row)
    session.flush()
    return _change_info(row)


def list_change_events(
    session: Session, *, component_id: str | None = None, limit: int = 100, after: PageCursor | None = None
) -> list[ChangeEventInfo]:
    """Change events, the latest change first; `after` (an `at` and id) to page on."""
    query = select(ChangeEventRow).order_by(ChangeEventRow.at.desc(), ChangeEventRow.id.desc())
    if component_id is not None:
        query = query.where(ChangeEventRow.component_id == component_id)
    if after is not None:
        query = query.where(after_cursor(ChangeEventRow.at, ChangeEventRow.id, after))
    return [_change_info(row) for row in session.scalars(query.limit(limit))]


def component_of(plan: Plan, event: ChangeEventV2) -> str | None:
    """The component a change event names (as a trigger would), or None: a change need not name one."""
    payload = event.payload
    by_id = plan.components_by_id
    details = payload.custom_details or {}
    for named in (details.get("standby_component"), details.get("component"), payload.source):
        if isinstance(named, str) and named in by_id:
            return named
    for component in plan.components:
        if component.alerts is not None and payload.source in component.alerts.sources:
            return component.id
    return None


def _change_info(row: ChangeEventRow) -> ChangeEventInfo:
    return ChangeEventInfo(
        id=row.id,
        receiver=row.receiver,
        summary=row.summary,
        source=row.source,
        component_id=row.component_id,
        at=row.at,
        received_at=row.received_at,
        payload=dict(row.payload),
    )
