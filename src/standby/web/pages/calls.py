"""GET /calls: the calls an outage cut off, as the follow-up worklist; POST /calls/{id}/work records
an attempt at one, as the API's `POST /api/v1/calls/{id}/work`.

The list is the API's worklist (customers.call_service): open calls first, vulnerable
customers first, then the earliest cut off. It reads `?outage=ID` and `?vulnerable=1` so
that an outage's figures can link to the calls it cut off. Working a call needs
WORK_CUSTOMERS, as in the API; a refusal (a call already closed, an unknown outcome) is
shown on the worklist with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from standby.access.roles import Permission
from standby.access.service import Principal
from standby.customers.call_records import WORK_OUTCOMES
from standby.customers.call_service import CallFilter, CallRecord, count_calls, list_calls, work_call
from standby.errors import InvalidInput
from standby.store.engine import unit_of_work
from standby.web.auth import ReadCustomers, WorkCustomers
from standby.web.context import Context, WebContext
from standby.web.pages.centre_clock import CentreClock, centre_clock
from standby.web.pages.refusals import uncached
from standby.web.pages.worklists import (
    PAGE,
    Notice,
    address,
    after_form,
    choice,
    count,
    echo,
    frame,
    query_of,
    row_number,
    text,
    yes,
)

router = APIRouter(include_in_schema=False)

SECTION = "/calls"
FILTERS = ("state", "outage", "queue", "vulnerable")
STATES = ("open", "worked")
OUTCOME_WORDS = {
    "called_back": "Called back",
    "resolved": "Resolved",
    "not_needed": "Not needed",
    "complaint_logged": "Complaint logged",
    "no_answer": "No answer",
    "left_message": "Left a message",
}
DONE = {
    "closed": "Worked: the call is off the worklist.",
    "tried": "Attempt recorded: the call stays on the worklist for another try.",
}


@router.get("/calls")
def worklist(request: Request, principal: ReadCustomers, context: Context) -> Response:
    """The calls cut off, open ones first (vulnerable customers first), filtered and paged."""
    return _list(request, context, principal, request.query_params)


@router.post("/calls/{call_id}/work")
def work(
    call_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    request: Request,
    principal: WorkCustomers,
    context: Context,
    outcome: Annotated[str, Form(max_length=40)] = "",
    notes: Annotated[str, Form(max_length=8000)] = "",
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Record an attempt at the call's follow-up; a closing outcome takes it off the worklist."""

    def act(session: Session) -> None:
        if not outcome:
            raise InvalidInput(f"outcome: choose one of {', '.join(WORK_OUTCOMES)}")
        work_call(
            session, call_id=call_id, outcome=outcome, notes=notes or None, now=context.clock.now(),
            by=principal.name,
        )

    def draw(page: str, refused: Notice) -> Response:
        return _list(request, context, principal, query_of(page), refused)

    def said() -> dict[str, str | int]:
        return {"done": "closed" if WORK_OUTCOMES[outcome] else "tried"}

    return after_form(context, SECTION, back, act, draw, said)


def _list(
    request: Request,
    context: WebContext,
    principal: Principal,
    params: Mapping[str, str],
    notice: Notice | None = None,
) -> Response:
    notice = notice or Notice()
    shown = echo(params, FILTERS)
    records: list[CallRecord] = []
    offset, outage_id, counts = 0, None, {"open": 0, "worked": 0}
    with unit_of_work(context.session_factory) as session:
        place = centre_clock(session, context.clock.now())
        with notice.reading_filters():
            outage_id = row_number(params, "outage")
            offset = count(params, "offset")
            where = CallFilter(
                state=choice(params, "state", STATES),
                queue=text(params, "queue"),
                outage_id=outage_id,
                vulnerable=True if yes(params, "vulnerable") else None,
            )
            records = list_calls(session, where=where, offset=offset, limit=PAGE + 1)
            counts = count_calls(session, outage_id=outage_id)
    more = len(records) > PAGE
    done = DONE.get(request.query_params.get("done", ""), "")
    model = frame(place, principal, notice, done=done)
    model |= {
        "can_work": principal.can(Permission.WORK_CUSTOMERS),
        "filters": shown,
        "states": [{"id": s, "name": s} for s in STATES],
        "queues": place.queues(),
        "counts": counts,
        "calls": [_view(r, place) for r in records[:PAGE]],
        "closing": _outcomes(closing=True),
        "trying": _outcomes(closing=False),
        "here": address(SECTION, {**shown, "offset": offset or ""}),
        "previous": address(SECTION, {**shown, "offset": max(0, offset - PAGE) or ""}) if offset else "",
        "next": address(SECTION, {**shown, "offset": offset + PAGE}) if more else "",
    }
    return uncached(request, context, "calls.html", model, notice.status)


def _outcomes(*, closing: bool) -> list[dict[str, str]]:
    """The outcomes that close a call (or that keep it for another try), for the work form."""
    chosen = [o for o, ends in WORK_OUTCOMES.items() if ends is closing]
    return [{"id": o, "name": OUTCOME_WORDS.get(o, o)} for o in chosen]


def _view(record: CallRecord, place: CentreClock) -> dict[str, Any]:
    """A call as the worklist shows it, in the centre's time."""
    minutes = round(record.seconds_into_call / 60)
    return {
        "id": record.id,
        "call_id": record.call_id,
        "customer": record.customer,
        "phone": record.phone,
        "queue": place.queue_name(record.queue),
        "agent": record.agent or "",
        "vulnerable": record.vulnerable,
        "cut": place.when(record.cut_at),
        "into": f"{minutes} min" if minutes else "under a minute",
        "outage_id": record.outage_id,
        "state": record.state,
        "outcome": OUTCOME_WORDS.get(record.outcome, record.outcome) if record.outcome else "",
        "notes": record.notes or "",
        "worked_by": record.worked_by or "",
        "worked_at": place.when(record.worked_at),
        "open": record.state == "open",
    }
