"""/api/v1/callbacks: the callbacks ledger: imports from the centre's systems, the list, one
callback with its history, and the hand actions (confirm, move, complete, cancel).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from standby.customers.callback_records import LAYOUT, MAX_NOTES
from standby.customers.callback_service import (
    MAX_LIST,
    MAX_REASON,
    CallbackEvent,
    CallbackFilter,
    CallbackRecord,
    cancel_callback,
    complete_callback,
    confirm_callback,
    get_callback,
    import_callbacks,
    list_callbacks,
    move_callback,
)
from standby.errors import Conflict
from standby.intake import Parsed
from standby.plan.schema import Plan
from standby.plan.versions import current_plan
from standby.store.engine import unit_of_work
from standby.store.tables.customers import CALLBACK_STATES
from standby.web.api.imports import Outcome, Taken, receive, upload_body, upload_responses
from standby.web.auth import ImportCustomers, ReadCustomers, WorkCustomers
from standby.web.context import Context
from standby.web.contract import AwareMoment, Position, RowId

router = APIRouter(prefix="/api/v1/callbacks", tags=["callbacks"])

NO_PLAN = (
    "no plan has been loaded yet: a callback belongs to one of the plan's queues, so POST the plan to"
    " /api/v1/plan first"
)
State = Literal[CALLBACK_STATES]  # type: ignore[valid-type]


class CallbackOut(BaseModel):
    """A callback in the ledger."""

    id: int
    external_id: str | None = Field(description="The id in the centre's own system, if it gave one.")
    customer: str
    phone: str = Field(description="International form, such as +447700900123; also the customer's key.")
    email: str | None
    queue: str
    vulnerable: bool
    notes: str | None
    requested_due_at: datetime = Field(description="The time first booked.")
    due_at: datetime = Field(description="The time now promised.")
    window_end: datetime | None = Field(description="The end of the window the customer was told, if any.")
    state: State = Field(description=" | ".join(CALLBACK_STATES))
    outage_id: int | None = Field(description="The outage that stopped its queue at its due time.")
    missed: bool = Field(description="Its due time passed while that outage lasted.")
    moves: int = Field(description="How often its time changed (each change is told once).")
    source: Literal["api", "csv"]
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, record: CallbackRecord) -> CallbackOut:
        """The API shape of a callback record."""
        return cls(**{name: getattr(record, name) for name in cls.model_fields})


class EventOut(BaseModel):
    """One entry of a callback's history."""

    at: datetime
    kind: str = Field(
        description="booked, flagged, rescheduled, moved, told, confirmed, completed, cancelled..."
    )
    actor: str
    text: str
    data: dict[str, Any]

    @classmethod
    def of(cls, event: CallbackEvent) -> EventOut:
        """The API shape of a history entry."""
        return cls(at=event.at, kind=event.kind, actor=event.actor, text=event.text, data=event.data)


class CallbackDetail(CallbackOut):
    """A callback and its history, oldest first."""

    history: list[EventOut]


class CallbackList(BaseModel):
    """Callbacks by id; pass `next_after` as `after` for the next page."""

    callbacks: list[CallbackOut]
    count: int
    next_after: int | None = Field(description="The last id of a full page; null on the last page.")


class Move(BaseModel):
    """A new time for a callback, and why."""

    model_config = ConfigDict(extra="forbid")

    due_at: AwareDatetime = Field(description="ISO 8601 with its offset; not in the past.")
    window_end: AwareDatetime | None = Field(None, description="The end of the window to tell the customer.")
    reason: str = Field(min_length=1, max_length=MAX_REASON)


class Complete(BaseModel):
    """The call was made."""

    model_config = ConfigDict(extra="forbid")

    notes: str | None = Field(None, max_length=MAX_NOTES)


class Cancel(BaseModel):
    """Why the callback is withdrawn."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=MAX_REASON)


@router.get("", summary="The callbacks ledger")
def get_callbacks(
    principal: ReadCustomers,
    context: Context,
    state: Annotated[State | None, Query()] = None,
    queue: Annotated[str | None, Query(max_length=100)] = None,
    vulnerable: Annotated[bool | None, Query()] = None,
    outage_id: Annotated[RowId | None, Query()] = None,
    due_from: Annotated[AwareMoment | None, Query(description="Due at or after (ISO 8601, offset).")] = None,
    due_to: Annotated[AwareMoment | None, Query(description="Due before (ISO 8601, offset).")] = None,
    after: Annotated[Position, Query(description="Only ids above this (paging).")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 100,
) -> CallbackList:
    """Callbacks by id, filtered; page with `after=next_after`."""
    where = CallbackFilter(
        state=state, queue=queue, vulnerable=vulnerable, outage_id=outage_id, due_from=due_from, due_to=due_to
    )
    with unit_of_work(context.session_factory) as session:
        records = list_callbacks(session, where=where, after_id=after, limit=limit)
    full = len(records) == limit
    return CallbackList(
        callbacks=[CallbackOut.of(r) for r in records],
        count=len(records),
        next_after=records[-1].id if full else None,
    )


@router.get("/{callback_id}", summary="One callback and its history")
def get_one_callback(callback_id: RowId, principal: ReadCustomers, context: Context) -> CallbackDetail:
    """A callback with every event of its life, oldest first; 404 when there is none."""
    with unit_of_work(context.session_factory) as session:
        record, events = get_callback(session, callback_id)
    return CallbackDetail(**CallbackOut.of(record).model_dump(), history=[EventOut.of(e) for e in events])


@router.post(
    "",
    summary="Import callbacks",
    responses=upload_responses(
        "Booked the good rows; `refused` lists the others.",
        "Nothing booked: the same shape, with `detail` listing the problems too.",
        model=Taken,
    ),
    openapi_extra=upload_body(LAYOUT, booleans=("vulnerable",)),
)
async def post_callbacks(principal: ImportCustomers, request: Request, context: Context) -> JSONResponse:
    """Book callbacks from CSV or JSON: each row is checked on its own, the good ones booked and
    the bad ones refused with their row, column and reason (a duplicate of a callback already
    booked names it)."""

    def book(session: Session, plan: Plan, parsed: Parsed, now: datetime, by: str, source: str) -> Outcome:
        return import_callbacks(
            session, plan=plan, rows=parsed.rows, now=now, by=by, source=source, unread=parsed.problems
        )

    return await receive(request, context, by=principal.name, layout=LAYOUT, no_plan=NO_PLAN, book=book)


def _plan(session: Session) -> Plan:
    found = current_plan(session)
    if found is None:
        raise Conflict(NO_PLAN)
    return found[1]


@router.post("/{callback_id}/confirm", summary="The customer agreed the time")
def post_confirm(callback_id: RowId, principal: WorkCustomers, context: Context) -> CallbackOut:
    """Mark a scheduled or rescheduled callback confirmed; 409 says why another cannot be."""
    with unit_of_work(context.session_factory) as session:
        record = confirm_callback(
            session, callback_id=callback_id, now=context.clock.now(), by=principal.name
        )
    return CallbackOut.of(record)


@router.post("/{callback_id}/move", summary="Move a callback to a new time")
def post_move(callback_id: RowId, move: Move, principal: WorkCustomers, context: Context) -> CallbackOut:
    """Give the callback a new time (rescheduled) and tell the customer through the outbox;
    400 for a time in the past, 409 when it is already completed or cancelled."""
    with unit_of_work(context.session_factory) as session:
        record = move_callback(
            session,
            plan=_plan(session),
            callback_id=callback_id,
            due_at=move.due_at,
            window_end=move.window_end,
            reason=move.reason,
            now=context.clock.now(),
            by=principal.name,
            data_dir=context.settings.data_dir,
        )
    return CallbackOut.of(record)


@router.post("/{callback_id}/complete", summary="The call was made")
def post_complete(
    callback_id: RowId, principal: WorkCustomers, context: Context, complete: Complete | None = None
) -> CallbackOut:
    """Mark the callback completed (final), with optional notes."""
    with unit_of_work(context.session_factory) as session:
        record = complete_callback(
            session,
            callback_id=callback_id,
            notes=complete.notes if complete else None,
            now=context.clock.now(),
            by=principal.name,
        )
    return CallbackOut.of(record)


@router.post("/{callback_id}/cancel", summary="Withdraw a callback")
def post_cancel(
    callback_id: RowId, cancel: Cancel, principal: WorkCustomers, context: Context
) -> CallbackOut:
    """Cancel the callback (final); the reason goes in its history."""
    with unit_of_work(context.session_factory) as session:
        record = cancel_callback(
            session, callback_id=callback_id, reason=cancel.reason, now=context.clock.now(), by=principal.name
        )
    return CallbackOut.of(record)
