"""/api/v1/oncall: who is on call, rotations' shifts, overrides and the iCalendar feed; page acks.

Names are shown to every role that reads outages; contact details (email, phone)
only to roles that may read the plan. The calendar feed opens with a login or with
the `?key=` that `GET /api/v1/oncall/{rotation_id}` gives in `calendar_url`, for
calendar apps that cannot send a token.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from standby.access.roles import Permission
from standby.plan.fields import format_clock_time
from standby.plan.schema import Plan
from standby.plan.versions import current_plan
from standby.respond.ack_links import calendar_key, calendar_key_valid
from standby.respond.ical import rotation_calendar
from standby.respond.oncall import Shift
from standby.respond.oncall_service import (
    MAX_OVERRIDE,
    MAX_REASON,
    AckResult,
    OverrideRecord,
    RotationNow,
    acknowledge_page,
    add_override,
    cancel_override,
    get_override,
    list_overrides,
    rotation_now,
    rotation_of,
    rotation_shifts,
    who_is_on_call,
)
from standby.store.engine import unit_of_work
from standby.web.auth import AcknowledgePages, ManageOncall, ReadOutages, require
from standby.web.context import Context, WebContext
from standby.web.contract import RowId

router = APIRouter(prefix="/api/v1/oncall", tags=["on call"])
pages_router = APIRouter(prefix="/api/v1/pages", tags=["on call"])

PAST_WEEK = timedelta(days=7)


class ShiftOut(BaseModel):
    """A span during which one person holds the rotation's pager; times in UTC."""

    person_id: str
    name: str
    starts_at: datetime
    ends_at: datetime
    override: bool = Field(description="Whether an override (not the rotation's turn) put them there.")
    override_id: int | None
    email: str | None = Field(description="Only for roles that may read the plan; else null.")
    phone: str | None = Field(description="Only for roles that may read the plan; else null.")


class RotationNowOut(BaseModel):
    """A rotation: who is on call now, and the next handoff (null when nobody else takes over)."""

    rotation_id: str
    members: list[str]
    now: ShiftOut
    next: ShiftOut | None


class OnCallOut(BaseModel):
    """Every rotation of the plan in force."""

    at: datetime
    timezone: str
    rotations: list[RotationNowOut]


class OverrideOut(BaseModel):
    """Someone covering a rotation for a while; times in UTC."""

    id: int
    rotation_id: str
    person_id: str
    name: str
    starts_at: datetime
    ends_at: datetime
    reason: str | None
    status: str = Field(description="active, upcoming, ended or cancelled.")
    created_by: str
    created_at: datetime
    cancelled_at: datetime | None


class OverrideList(BaseModel):
    """A rotation's overrides, by start."""

    overrides: list[OverrideOut]


class RotationOut(BaseModel):
    """A rotation, its shifts for the coming weeks (overrides applied), and its calendar feed."""

    rotation_id: str
    members: list[str]
    handoff_weekday: str
    handoff_time: str = Field(description="HH:MM in the plan's time zone.")
    length_days: int
    timezone: str
    now: ShiftOut
    next: ShiftOut | None
    shifts: list[ShiftOut] = Field(description="From the shift now on, up to `weeks` ahead.")
    overrides: list[OverrideOut] = Field(description="Active and upcoming overrides.")
    calendar_url: str | None = Field(
        description="The iCalendar feed, with a key that opens it without logging in; null when"
        " the server has no secret key."
    )


def _parse_time(value: Any) -> Any:
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, str) and len(value) <= 64:
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:80] + "..."
    raise ValueError(
        f"{shown} is not a date and time: write ISO 8601 such as 2026-06-20T09:00:00+01:00"
        " (without an offset it is in the plan's time zone)"
    )


class NewOverride(BaseModel):
    """An override: `person_id` holds the rotation's pager from `starts_at` to `ends_at`."""

    model_config = ConfigDict(extra="forbid")

    person_id: str = Field(max_length=100, description="A person of the plan (not necessarily a member).")
    starts_at: datetime = Field(description="ISO 8601; without an offset, in the plan's time zone.")
    ends_at: datetime = Field(description=f"After starts_at, at most {MAX_OVERRIDE.days} days later.")
    reason: str | None = Field(None, max_length=MAX_REASON, description="Why, such as 'swap with Lin'.")

    @field_validator("starts_at", "ends_at", mode="before")
    @classmethod
    def _iso(cls, value: Any) -> Any:
        return _parse_time(value)


class AckOut(BaseModel):
    """What acknowledging did."""

    page_id: int
    incident_id: int
    person_id: str
    level: int
    round: int
    acknowledged_at: datetime
    already_acknowledged: bool
    incident_state: str
    incident_acknowledged_at: datetime | None
    message: str

    @classmethod
    def of(cls, result: AckResult) -> AckOut:
        """The API shape of an acknowledgement."""
        message = (
            f"page {result.page_id} was already acknowledged at {result.acknowledged_at.isoformat()}"
            if result.already_acknowledged
            else f"page {result.page_id} acknowledged"
        )
        return cls(
            page_id=result.page_id,
            incident_id=result.incident_id,
            person_id=result.person_id,
            level=result.level,
            round=result.round,
            acknowledged_at=result.acknowledged_at,
            already_acknowledged=result.already_acknowledged,
            incident_state=result.incident_state,
            incident_acknowledged_at=result.incident_acknowledged_at,
            message=message,
        )


# --- helpers --------------------------------------------------------------------------


def _plan(context: WebContext) -> Plan | None:
    with unit_of_work(context.session_factory) as session:
        found = current_plan(session)
    return None if found is None else found[1]


def _shift(plan: Plan, shift: Shift, *, contacts: bool) -> ShiftOut:
    person = plan.people_by_id.get(shift.person_id)
    return ShiftOut(
        person_id=shift.person_id,
        name=person.name if person is not None else shift.person_id,
        starts_at=shift.starts,
        ends_at=shift.ends,
        override=shift.override,
        override_id=shift.override_id,
        email=person.email if contacts and person is not None else None,
        phone=person.phone if contacts and person is not None else None,
    )


def _override(plan: Plan | None, record: OverrideRecord) -> OverrideOut:
    person = plan.people_by_id.get(record.person_id) if plan is not None else None
    return OverrideOut(
        id=record.id,
        rotation_id=record.rotation_id,
        person_id=record.person_id,
        name=person.name if person is not None else record.person_id,
        starts_at=record.starts_at,
        ends_at=record.ends_at,
        reason=record.reason,
        status=record.status,
        created_by=record.created_by,
        created_at=record.created_at,
        cancelled_at=record.cancelled_at,
    )


def _now_out(plan: Plan, item: RotationNow, *, contacts: bool) -> RotationNowOut:
    rotation = rotation_of(plan, item.rotation_id)
    return RotationNowOut(
        rotation_id=item.rotation_id,
        members=list(rotation.members),
        now=_shift(plan, item.current, contacts=contacts),
        next=None if item.next is None else _shift(plan, item.next, contacts=contacts),
    )




def calendar_url(context: WebContext, rotation_id: str) -> str | None:
    """The feed's address with its key, on STANDBY_PUBLIC_URL; None without a secret key."""
    secret = context.settings.secret_key
    if not secret:
        return None
    key = calendar_key(secret, rotation_id)
    base = context.settings.base_url.rstrip("/")
    return f"{base}/api/v1/oncall/{quote(rotation_id, safe='')}/calendar.ics?key={key}"


# --- endpoints ------------------------------------------------------------------------


@router.get("", summary="Who is on call")
def get_oncall(principal: ReadOutages, context: Context) -> OnCallOut:
    """Every rotation: who is on call now (overrides applied) and the next handoff."""
    now = context.clock.now()
    plan = _plan(context)
    if plan is None:
        return OnCallOut(at=now, timezone="UTC", rotations=[])
    with unit_of_work(context.session_factory) as session:
        items = who_is_on_call(session, plan=plan, now=now)
    contacts = principal.can(Permission.READ_PLAN)
    return OnCallOut(
        at=now,
        timezone=plan.organisation.timezone,
        rotations=[_now_out(plan, item, contacts=contacts) for item in items],
    )


@router.get(
    "/{rotation_id}",
    summary="One rotation and its coming shifts",
    responses={404: {"description": "No rotation with this id in the plan in force."}},
)
def get_rotation(
    rotation_id: str,
    principal: ReadOutages,
    context: Context,
    weeks: Annotated[int, Query(ge=1, le=26, description="How many weeks of shifts.")] = 4,
) -> RotationOut:
    """The rotation, now and next, its shifts from now for `weeks`, its overrides and calendar feed."""
    now = context.clock.now()
    plan = _plan(context)
    rotation = rotation_of(plan, rotation_id)
    assert plan is not None
    zone = plan.organisation.timezone
    with unit_of_work(context.session_factory) as session:
        shifts = rotation_shifts(
            session, plan=plan, rotation_id=rotation_id, start=now, end=now + timedelta(weeks=weeks)
        )
        current = rotation_now(session, plan=plan, rotation_id=rotation_id, now=now)
        records = list_overrides(session, rotation_id=rotation_id, now=now)
    contacts = principal.can(Permission.READ_PLAN)
    return RotationOut(
        rotation_id=rotation.id,
        members=list(rotation.members),
        handoff_weekday=rotation.handoff.weekday,
        handoff_time=format_clock_time(rotation.handoff.time),
        length_days=rotation.length_days,
        timezone=zone,
        now=_shift(plan, current.current, contacts=contacts),
        next=None if current.next is None else _shift(plan, current.next, contacts=contacts),
        shifts=[_shift(plan, s, contacts=contacts) for s in shifts],
        overrides=[_override(plan, r) for r in records],
        calendar_url=calendar_url(context, rotation.id),
    )


@router.get(
    "/{rotation_id}/calendar.ics",
    summary="A rotation's shifts as an iCalendar feed",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}, "description": "The feed (RFC 5545)."},
        401: {"description": "Neither a login nor a key."},
        403: {"description": "A key that is not this rotation's."},
        404: {"description": "No rotation with this id in the plan in force."},
    },
)
def get_calendar(
    rotation_id: str,
    request: Request,
    context: Context,
    key: Annotated[
        str | None, Query(max_length=100, description="The key from calendar_url, instead of a login.")
    ] = None,
    weeks: Annotated[int, Query(ge=1, le=52, description="How many weeks ahead.")] = 8,
) -> Response:
    """The past week's and the coming weeks' shifts, for calendar apps to subscribe to."""
    if key is None:
        require(Permission.READ_OUTAGES)(request, context)
    else:
        secret = context.settings.secret_key
        if not secret or not calendar_key_valid(secret, rotation_id, key):
            raise HTTPException(
                403,
                "this calendar key does not open this rotation's feed (it is another rotation's,"
                " or the server's secret key changed); GET /api/v1/oncall/{rotation_id} gives the"
                " current calendar_url",
            )
    now = context.clock.now()
    plan = _plan(context)
    rotation_of(plan, rotation_id)
    assert plan is not None
    with unit_of_work(context.session_factory) as session:
        shifts = rotation_shifts(
            session,
            plan=plan,
            rotation_id=rotation_id,
            start=now - PAST_WEEK,
            end=now + timedelta(weeks=weeks),
        )
    text = rotation_calendar(
        rotation_id=rotation_id,
        shifts=shifts,
        names={p.id: p.name for p in plan.people},
        now=now,
        calendar_name=f"On call: {rotation_id} ({plan.organisation.name})",
    )
    return Response(
        text,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f'inline; filename="{rotation_id}.ics"',
            "Cache-Control": "private, max-age=300",
            # The key is in the address: keep it out of other sites' logs.
            "Referrer-Policy": "no-referrer",
        },
    )


@router.get(
    "/{rotation_id}/overrides",
    summary="A rotation's overrides",
    responses={404: {"description": "No rotation with this id in the plan in force."}},
)
def get_overrides(
    rotation_id: str,
    principal: ReadOutages,
    context: Context,
    past: Annotated[bool, Query(description="Also ended and cancelled overrides.")] = False,
) -> OverrideList:
    """Active and upcoming overrides, by start; `?past=true` adds ended and cancelled ones."""
    plan = _plan(context)
    rotation_of(plan, rotation_id)
    with unit_of_work(context.session_factory) as session:
        records = list_overrides(session, rotation_id=rotation_id, now=context.clock.now(), include_past=past)
    return OverrideList(overrides=[_override(plan, r) for r in records])


@router.post(
    "/{rotation_id}/overrides",
    status_code=201,
    summary="Arrange an override",
    responses={
        400: {"description": "A value that cannot be used; the detail says which and why."},
        404: {"description": "No rotation with this id in the plan in force."},
        422: {"description": "A malformed body: a missing field, a time that is not ISO 8601."},
    },
)
def post_override(
    rotation_id: str, body: NewOverride, principal: ManageOncall, context: Context
) -> JSONResponse:
    """Put someone on call for the rotation for a while; where it overlaps an older override, it wins."""
    plan = _plan(context)
    rotation_of(plan, rotation_id)
    assert plan is not None
    with unit_of_work(context.session_factory) as session:
        record = add_override(
            session,
            plan=plan,
            rotation_id=rotation_id,
            person_id=body.person_id,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            reason=body.reason,
            created_by=principal.named,
            now=context.clock.now(),
        )
    return JSONResponse(
        _override(plan, record).model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/api/v1/oncall/{quote(rotation_id, safe='')}/overrides/{record.id}"},
    )


@router.get(
    "/{rotation_id}/overrides/{override_id}",
    summary="One override",
    responses={404: {"description": "No such override of this rotation."}},
)
def get_one_override(
    rotation_id: str, override_id: RowId, principal: ReadOutages, context: Context
) -> OverrideOut:
    """One override of the rotation, cancelled ones too."""
    plan = _plan(context)
    with unit_of_work(context.session_factory) as session:
        record = get_override(
            session, rotation_id=rotation_id, override_id=override_id, now=context.clock.now()
        )
    return _override(plan, record)


@router.delete(
    "/{rotation_id}/overrides/{override_id}",
    summary="Cancel an override",
    responses={404: {"description": "No such override of this rotation."}},
)
def delete_override(
    rotation_id: str, override_id: RowId, principal: ManageOncall, context: Context
) -> OverrideOut:
    """Cancel an override at once; the record stays. Cancelling again changes nothing."""
    plan = _plan(context)
    with unit_of_work(context.session_factory) as session:
        record = cancel_override(
            session, rotation_id=rotation_id, override_id=override_id, now=context.clock.now()
        )
    return _override(plan, record)


@pages_router.post(
    "/{page_id}/ack",
    summary="Acknowledge a page",
    responses={404: {"description": "No page with this id."}},
)
def post_ack(page_id: RowId, principal: AcknowledgePages, context: Context) -> AckOut:
    """Acknowledge a page (anyone who works incidents, for anyone); acknowledging twice is harmless."""
    plan = _plan(context)
    with unit_of_work(context.session_factory) as session:
        result = acknowledge_page(
            session, page_id=page_id, by=principal.named, now=context.clock.now(), plan=plan
        )
    return AckOut.of(result)
