"""What the receivers took, read back: alerts, refused alerts and change events, paged by cursor.

Each list is newest first and pages on with `?cursor=` (the page before's `next_cursor`):
an opaque pair of time and id, so pages hold however many records share a time.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field

from standby.detect.change_events import ChangeEventInfo, list_change_events
from standby.detect.paging import PageCursor
from standby.detect.receivers import AlertInfo, get_alert, list_alerts
from standby.detect.refused_alerts import list_refused_alerts
from standby.store.engine import unit_of_work
from standby.web.api.receivers import RefusedOut
from standby.web.auth import ReadOutages
from standby.web.context import Context
from standby.web.contract import RowId

router = APIRouter(prefix="/api/v1", tags=["receivers"])

Cursor = Annotated[str | None, Query(max_length=200, description="The `next_cursor` of the page before.")]
Record = TypeVar("Record")


def next_page(
    found: Sequence[Record], limit: int, key: Callable[[Record], tuple[datetime, int]]
) -> tuple[list[Record], str | None]:
    """The first `limit` of `found` (read as limit + 1) and the cursor after them, if more came."""
    page = list(found[:limit])
    return page, make_cursor(*key(page[-1])) if len(found) > limit else None


class RefusedAlertOut(RefusedOut):
    """A refused alert as kept: who sent it, when, how often, and the alert as it came."""

    source: str
    receiver: str
    group_key: str | None = Field(description="Alertmanager's groupKey of the notification it came in.")
    raw: str = Field(description="The alert as it came, as JSON text, at most 16,384 characters.")
    raw_truncated: bool
    first_at: datetime
    last_at: datetime
    received: int = Field(description="How often this alert was refused for this reason.")


class RefusedAlertList(BaseModel):
    """Refused alerts, the most recently refused first."""

    refused: list[RefusedAlertOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last.")


class ChangeEventOut(BaseModel):
    """A change event as kept."""

    id: int
    receiver: str
    summary: str
    source: str | None
    component_id: str | None = Field(description="The component it names, if any.")
    at: datetime = Field(description="When it changed (the event's timestamp, else when received).")
    received_at: datetime
    payload: dict[str, Any]

    @classmethod
    def of(cls, info: ChangeEventInfo) -> ChangeEventOut:
        """The API shape of a change event."""
        return cls.model_validate(info, from_attributes=True)


class ChangeEventList(BaseModel):
    """Change events, the latest change first."""

    change_events: list[ChangeEventOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last.")


class AlertOut(BaseModel):
    """An alert: where it came from, the component it is about, its status and counts."""

    id: int
    source: str
    dedup_key: str
    component_id: str
    status: str
    severity: str
    summary: str
    receiver: str
    first_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    received: int

    @classmethod
    def of(cls, info: AlertInfo) -> AlertOut:
        """The API shape of an alert record, without its payload."""
        return cls.model_validate(info, from_attributes=True)


class AlertDetail(AlertOut):
    """An alert with the payload it last came with."""

    payload: dict[str, Any]


class AlertList(BaseModel):
    """Alerts, most recently updated first."""

    alerts: list[AlertOut]
    next_cursor: str | None = Field(None, description="Pass as ?cursor= for the next page; null on the last.")


@router.get("/alerts", summary="Alerts received")
def get_alerts(
    principal: ReadOutages,
    context: Context,
    status: Annotated[
        Literal["firing", "acknowledged", "resolved"] | None, Query(description="Only this status.")
    ] = None,
    component: Annotated[str | None, Query(max_length=100, description="Only about this component.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many.")] = 100,
    cursor: Cursor = None,
) -> AlertList:
    """Alerts from Alertmanager and Events v2 sources, most recently updated first.

    Pages on with `?cursor=` (the previous page's `next_cursor`) past the newest 1,000.
    """
    after = read_cursor(cursor) if cursor is not None else None
    with unit_of_work(context.session_factory) as session:
        alerts = list_alerts(session, status=status, component_id=component, limit=limit + 1, after=after)
    page, next_cursor = next_page(alerts, limit, lambda a: (a.updated_at, a.id))
    return AlertList(alerts=[AlertOut.of(a) for a in page], next_cursor=next_cursor)


def make_cursor(at: datetime, record_id: int) -> str:
    """An opaque cursor that continues after the record at this time and id."""
    text = f"{at.isoformat()}|{record_id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def read_cursor(cursor: str) -> PageCursor:
    """The position a cursor names; 422 when it is not one this API gave."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, _, number = text.partition("|")
        at = datetime.fromisoformat(when)
        if at.tzinfo is None or not number.isdigit():
            raise ValueError(text)
        return PageCursor(at, int(number))
    except (ValueError, binascii.Error):
        raise HTTPException(
            422,
            [
                {
                    "location": "query.cursor",
                    "message": "not a cursor this API gave: pass the next_cursor of the page before,"
                    " unchanged",
                }
            ],
        ) from None


@router.get("/refused-alerts", summary="Alerts refused")
def get_refused_alerts(
    principal: ReadOutages,
    context: Context,
    hours: Annotated[
        int | None, Query(ge=1, le=24 * 366, description="Only those refused in the last this many hours.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many.")] = 100,
    cursor: Cursor = None,
) -> RefusedAlertList:
    """Alerts the receivers could not take, the most recently refused first, with why and as they came."""
    since = context.clock.now() - timedelta(hours=hours) if hours is not None else None
    after = read_cursor(cursor) if cursor is not None else None
    with unit_of_work(context.session_factory) as session:
        found = list_refused_alerts(session, since=since, limit=limit + 1, after=after)
    page, next_cursor = next_page(found, limit, lambda r: (r.last_at, r.id))
    return RefusedAlertList(
        refused=[RefusedAlertOut.model_validate(r, from_attributes=True) for r in page],
        next_cursor=next_cursor,
    )


@router.get("/change-events", summary="Change events received")
def get_change_events(
    principal: ReadOutages,
    context: Context,
    component: Annotated[str | None, Query(max_length=100, description="Only about this component.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many.")] = 100,
    cursor: Cursor = None,
) -> ChangeEventList:
    """Change events posted to /v2/change/enqueue, the latest change first."""
    after = read_cursor(cursor) if cursor is not None else None
    with unit_of_work(context.session_factory) as session:
        found = list_change_events(session, component_id=component, limit=limit + 1, after=after)
    page, next_cursor = next_page(found, limit, lambda c: (c.at, c.id))
    return ChangeEventList(change_events=[ChangeEventOut.of(c) for c in page], next_cursor=next_cursor)


@router.get(
    "/alerts/{alert_id}",
    summary="One alert",
    responses={404: {"description": "No alert with this id."}},
)
def get_one_alert(
    alert_id: Annotated[RowId, Path(description="The alert's id.")],
    principal: ReadOutages,
    context: Context,
) -> AlertDetail:
    """One alert with the payload it last came with."""
    with unit_of_work(context.session_factory) as session:
        info = get_alert(session, alert_id)
    return AlertDetail.model_validate(info, from_attributes=True)
