"""/api/v1/maintenance: maintenance windows, the plan's and those declared here.

Outages of the components a window covers are recorded while it is active, but page
nobody. Keys: `plan:ID` for the plan's windows, `api:NUMBER` for declared ones.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from standby.detect.maintenance_service import (
    MAX_DURATION,
    MAX_REASON,
    Status,
    WindowRecord,
    cancel_window,
    declare_window,
    get_window,
    list_windows,
)
from standby.errors import Conflict
from standby.plan.schema import Plan
from standby.plan.versions import current_plan
from standby.store.engine import unit_of_work
from standby.web.auth import ManageMaintenance, ReadOutages
from standby.web.context import Context, WebContext

router = APIRouter(prefix="/api/v1/maintenance", tags=["maintenance"])

MAX_DAYS = MAX_DURATION.days
NO_PLAN = (
    "no plan has been loaded yet: a maintenance window covers the plan's components, so"
    " POST the plan to /api/v1/plan first"
)


class WindowOut(BaseModel):
    """A maintenance window and its current occurrence (when active) or next one; times in UTC."""

    key: str = Field(description="plan:ID for the plan's windows, api:NUMBER for declared ones.")
    source: str = Field(description="plan or api.")
    reason: str
    components: list[str] = Field(description="Component ids covered; empty covers every component.")
    starts_at: datetime = Field(description="When it (first) starts.")
    minutes: float = Field(description="How long each occurrence lasts.")
    repeat: str | None = Field(description="The RFC 5545 recurrence rule, or null for a one-off.")
    timezone: str = Field(description="IANA zone whose wall clock the recurrence follows.")
    status: Status
    active: bool
    occurrence_start: datetime | None
    occurrence_end: datetime | None
    created_by: str | None
    created_at: datetime | None
    cancelled_at: datetime | None
    cancelled_by: str | None
    problem: str | None = Field(description="Why the recurrence cannot be used (it then never occurs).")

    @classmethod
    def of(cls, record: WindowRecord) -> WindowOut:
        """The API shape of a window record."""
        return cls(
            key=record.key,
            source=record.source,
            reason=record.reason,
            components=list(record.components),
            starts_at=record.starts_at,
            minutes=record.minutes,
            repeat=record.recurrence,
            timezone=record.timezone,
            status=record.status,
            active=record.active,
            occurrence_start=record.occurrence_start,
            occurrence_end=record.occurrence_end,
            created_by=record.created_by,
            created_at=record.created_at,
            cancelled_at=record.cancelled_at,
            cancelled_by=record.cancelled_by,
            problem=record.problem,
        )


class WindowList(BaseModel):
    """Maintenance windows, active first, then by their next occurrence."""

    windows: list[WindowOut]


def _parse_time(value: Any) -> datetime:
    if isinstance(value, str) and len(value) <= 64:
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:80] + "..."
    raise ValueError(
        f"{shown} is not a date and time: write ISO 8601 such as 2026-06-20T22:00:00+01:00"
        " (without an offset it is in the window's time zone)"
    )


class NewWindow(BaseModel):
    """A maintenance window to declare: give `ends_at` or `minutes`, not both."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=MAX_REASON, description="What the work is, for the on-call engineer.")
    components: list[str] = Field(
        default_factory=list, max_length=1000, description="Component ids; empty covers every component."
    )
    starts_at: datetime = Field(
        description="ISO 8601; without an offset, in `timezone` (by default the plan's time zone)."
    )
    ends_at: datetime | None = Field(None, description="When the (first) occurrence ends.")
    minutes: float | None = Field(
        None, allow_inf_nan=False, description=f"How long each occurrence lasts, at most {MAX_DAYS} days."
    )
    repeat: str | None = Field(
        None, max_length=500, description="An RFC 5545 RRULE such as 'FREQ=WEEKLY;BYDAY=SU'."
    )
    timezone: str | None = Field(
        None, max_length=64, description="IANA zone whose wall clock it follows; the plan's by default."
    )

    @field_validator("starts_at", "ends_at", mode="before")
    @classmethod
    def _iso(cls, value: Any) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value
        return _parse_time(value)


def _plan(context: WebContext) -> Plan | None:
    with unit_of_work(context.session_factory) as session:
        found = current_plan(session)
    return None if found is None else found[1]


@router.get("", summary="Maintenance windows")
def get_windows(
    principal: ReadOutages,
    context: Context,
    active: Annotated[bool, Query(description="Only the windows active now.")] = False,
    past: Annotated[bool, Query(description="Also ended and cancelled windows.")] = False,
) -> WindowList:
    """The plan's and the declared windows, each with its current or next occurrence."""
    plan = _plan(context)
    with unit_of_work(context.session_factory) as session:
        records = list_windows(session, plan=plan, now=context.clock.now(), include_past=past)
    return WindowList(windows=[WindowOut.of(r) for r in records if r.active or not active])


@router.post(
    "",
    status_code=201,
    summary="Declare a maintenance window",
    responses={
        400: {"description": "A value that cannot be used; the detail says which and why."},
        409: {"description": "No plan has been loaded yet."},
        422: {"description": "A malformed body: a missing field, a time that is not ISO 8601."},
    },
)
def post_window(body: NewWindow, principal: ManageMaintenance, context: Context) -> JSONResponse:
    """Declare a one-off or recurring window; outages it covers are recorded but raise nothing."""
    plan = _plan(context)
    if plan is None:
        raise Conflict(NO_PLAN)
    with unit_of_work(context.session_factory) as session:
        record = declare_window(
            session,
            reason=body.reason,
            components=body.components,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            minutes=body.minutes,
            recurrence=body.repeat,
            timezone=body.timezone,
            created_by=principal.name if principal.kind == "user" else f"token:{principal.name}",
            now=context.clock.now(),
            plan=plan,
        )
    return JSONResponse(
        WindowOut.of(record).model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/api/v1/maintenance/{record.key}"},
    )


@router.get(
    "/{key}",
    summary="One maintenance window",
    responses={404: {"description": "No window with this key."}},
)
def get_one(key: str, principal: ReadOutages, context: Context) -> WindowOut:
    """One window by key, cancelled ones too."""
    plan = _plan(context)
    with unit_of_work(context.session_factory) as session:
        record = get_window(session, key=key, plan=plan, now=context.clock.now())
    return WindowOut.of(record)


@router.delete(
    "/{key}",
    summary="Cancel a maintenance window",
    responses={
        404: {"description": "No window with this key."},
        409: {"description": "A plan window: change the plan instead."},
    },
)
def delete_window(key: str, principal: ManageMaintenance, context: Context) -> WindowOut:
    """Cancel a declared window at once; the record stays. Cancelling again changes nothing."""
    plan = _plan(context)
    with unit_of_work(context.session_factory) as session:
        record = cancel_window(session, key=key, now=context.clock.now(), by=principal.name, plan=plan)
    return WindowOut.of(record)
