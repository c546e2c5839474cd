"""/api/v1/calls: calls cut off by an outage, pushed by the telephony platform, and the
follow-up worklist agents work them from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from standby.customers.call_records import LAYOUT, WORK_OUTCOMES
from standby.customers.call_service import (
    MAX_LIST,
    MAX_NOTES,
    CallFilter,
    CallRecord,
    count_calls,
    get_call,
    import_calls,
    list_calls,
    work_call,
)
from standby.intake import Parsed
from standby.plan.schema import Plan
from standby.store.engine import unit_of_work
from standby.web.api.imports import Outcome, Taken, receive, upload_body, upload_responses
from standby.web.auth import ImportCustomers, ReadCustomers, WorkCustomers
from standby.web.context import Context
from standby.web.contract import Position, RowId

router = APIRouter(prefix="/api/v1/calls", tags=["calls"])

NO_PLAN = (
    "no plan has been loaded yet: a call belongs to one of the plan's queues, so POST the plan to"
    " /api/v1/plan first"
)


class CallOut(BaseModel):
    """A call cut off, and where its follow-up stands."""

    id: int
    call_id: str = Field(description="The telephony platform's id of the call.")
    customer: str
    phone: str = Field(description="International form, such as +447700900123.")
    queue: str
    agent: str | None = Field(description="The agent on the call when it was cut off.")
    vulnerable: bool
    started_at: datetime
    cut_at: datetime = Field(description="The outage's start once linked; until then, when reported.")
    seconds_into_call: float = Field(description="How long the customer had been on the call.")
    outage_id: int | None
    state: Literal["open", "worked"]
    outcome: str | None = Field(description="The last attempt's outcome.")
    notes: str | None
    worked_by: str | None
    worked_at: datetime | None
    source: str
    created_at: datetime

    @classmethod
    def of(cls, record: CallRecord) -> CallOut:
        """The API shape of a call record."""
        return cls(
            id=record.id,
            call_id=record.call_id,
            customer=record.customer,
            phone=record.phone,
            queue=record.queue,
            agent=record.agent,
            vulnerable=record.vulnerable,
            started_at=record.started_at,
            cut_at=record.cut_at,
            seconds_into_call=record.seconds_into_call,
            outage_id=record.outage_id,
            state=record.state,
            outcome=record.outcome,
            notes=record.notes,
            worked_by=record.worked_by,
            worked_at=record.worked_at,
            source=record.source,
            created_at=record.created_at,
        )


class CallList(BaseModel):
    """The worklist: open calls first, vulnerable customers first, then the earliest cut off."""

    calls: list[CallOut]
    open: int = Field(description="Calls still waiting for their follow-up (of the outage, if one is given).")
    worked: int


class Work(BaseModel):
    """An attempt at a call's follow-up."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal[tuple(WORK_OUTCOMES)] = Field(  # type: ignore[valid-type]
        description="called_back, resolved, not_needed and complaint_logged close the call;"
        " no_answer and left_message keep it on the worklist."
    )
    notes: str | None = Field(None, max_length=MAX_NOTES)


@router.get("", summary="Calls cut off: the follow-up worklist")
def get_calls(
    principal: ReadCustomers,
    context: Context,
    state: Annotated[Literal["open", "worked"] | None, Query()] = None,
    queue: Annotated[str | None, Query(max_length=100)] = None,
    outage_id: Annotated[RowId | None, Query()] = None,
    agent: Annotated[str | None, Query(max_length=100)] = None,
    vulnerable: Annotated[bool | None, Query()] = None,
    offset: Annotated[Position, Query(description="Skip this many (paging).")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 100,
) -> CallList:
    """Calls cut off, open ones first (vulnerable customers first), with the counts."""
    where = CallFilter(state=state, queue=queue, outage_id=outage_id, agent=agent, vulnerable=vulnerable)
    with unit_of_work(context.session_factory) as session:
        records = list_calls(session, where=where, offset=offset, limit=limit)
        counts = count_calls(session, outage_id=outage_id)
    return CallList(calls=[CallOut.of(r) for r in records], open=counts["open"], worked=counts["worked"])


@router.get("/{call_id}", summary="One call cut off")
def get_one_call(call_id: RowId, principal: ReadCustomers, context: Context) -> CallOut:
    """A call cut off and where its follow-up stands; 404 when there is none."""
    with unit_of_work(context.session_factory) as session:
        return CallOut.of(get_call(session, call_id))


@router.post(
    "",
    summary="Record calls cut off",
    responses=upload_responses(
        "Recorded the good rows; `refused` lists the others.",
        "Nothing recorded: the same shape, with `detail` listing the problems too.",
        model=Taken,
    ),
    openapi_extra=upload_body(LAYOUT, booleans=("vulnerable",)),
)
async def post_calls(principal: ImportCustomers, request: Request, context: Context) -> JSONResponse:
    """Record the calls in progress when an outage started (CSV or JSON); bad rows are refused
    with their row, column and reason, and the good ones recorded."""

    def book(session: Session, plan: Plan, parsed: Parsed, now: datetime, by: str, source: str) -> Outcome:
        return import_calls(
            session, plan=plan, rows=parsed.rows, now=now, by=by, source=source, unread=parsed.problems
        )

    return await receive(request, context, by=principal.name, layout=LAYOUT, no_plan=NO_PLAN, book=book)


@router.post("/{call_id}/work", summary="Work a call cut off")
def post_work(call_id: RowId, work: Work, principal: WorkCustomers, context: Context) -> CallOut:
    """Record an attempt at the follow-up; a closing outcome takes the call off the worklist
    (409 when it was already closed)."""
    with unit_of_work(context.session_factory) as session:
        record = work_call(
            session,
            call_id=call_id,
            outcome=work.outcome,
            notes=work.notes,
            now=context.clock.now(),
            by=principal.name,
        )
    return CallOut.of(record)
