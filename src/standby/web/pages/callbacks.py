"""GET /callbacks: the callbacks ledger as an agent's worklist; GET /callbacks/{id}: one callback
and its history; the hand actions (confirm, move, complete, cancel) as plain form POSTs.

Each action calls the same service as the API (customers.callback_service) with the same
permission (WORK_CUSTOMERS), then goes back to the page it came from; what the service
refuses (a time in the past, a callback already completed or cancelled) is shown on that
page with its reason. The worklist reads `?outage=ID` and `?vulnerable=1` so that an
outage's figures can link to the callbacks it caught.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from standby.access.roles import Permission
from standby.access.service import Principal
from standby.customers.callback_service import (
    CONFIRMABLE,
    FINAL,
    CallbackFilter,
    CallbackRecord,
    callback_worklist,
    cancel_callback,
    complete_callback,
    confirm_callback,
    get_callback,
    move_callback,
)
from standby.errors import Conflict, InvalidInput
from standby.store.engine import unit_of_work
from standby.store.tables.customers import CALLBACK_STATES
from standby.web.auth import ReadCustomers, WorkCustomers
from standby.web.context import Context, WebContext
from standby.web.pages.worklists import (
    PAGE,
    Centre,
    address,
    after_form,
    centre,
    choice,
    echo,
    frame,
    local_moment,
    moment,
    query_of,
    row_number,
    show,
    text,
    yes,
)

router = APIRouter(include_in_schema=False)

SECTION = "/callbacks"
CallbackId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Back = Annotated[str, Form(max_length=2000)]
FILTERS = ("state", "outage", "queue", "vulnerable", "due_after", "due_before")
OUTSTANDING = "to_make"
STATES = (OUTSTANDING, *CALLBACK_STATES)
STATE_WORDS = {OUTSTANDING: "Still to make (not completed or cancelled)"}
TONES = {
    "scheduled": "unknown",
    "rescheduled": "degraded",
    "confirmed": "up",
    "completed": "up",
    "flagged": "down",
    "unplaced": "down",
    "cancelled": "unknown",
}
DONE = {
    "confirmed": "Confirmed: the customer agreed the time.",
    "moved": "Moved: the customer is told the new time.",
    "completed": "Completed: the call was made.",
    "cancelled": "Cancelled.",
}


@router.get("/callbacks")
def worklist(request: Request, principal: ReadCustomers, context: Context) -> Response:
    """The callbacks, due soonest first, filtered by state, outage, due time, vulnerability and queue."""
    return _list(request, context, principal, request.query_params)


@router.get("/callbacks/{callback_id}")
def one(callback_id: CallbackId, request: Request, principal: ReadCustomers, context: Context) -> Response:
    """One callback with its history and the actions the role may take."""
    return _detail(request, context, principal, callback_id)


@router.post("/callbacks/{callback_id}/confirm")
def confirm(
    callback_id: CallbackId, request: Request, principal: WorkCustomers, context: Context, back: Back = ""
) -> Response:
    """The customer agreed the time, as the API's confirm."""

    def act(session: Session, now: datetime, _place: Centre) -> None:
        confirm_callback(session, callback_id=callback_id, now=now, by=principal.name)

    return _act(request, context, principal, back, act, done="confirmed")


@router.post("/callbacks/{callback_id}/move")
def move(
    callback_id: CallbackId,
    request: Request,
    principal: WorkCustomers,
    context: Context,
    due_at: Annotated[str, Form(max_length=40)] = "",
    window_end: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
    back: Back = "",
) -> Response:
    """Give the callback a new time (the centre's time) and tell the customer, as the API's move."""

    def act(session: Session, now: datetime, place: Centre) -> None:
        if place.plan is None:
            raise Conflict("no plan is loaded: the customer is told the new time in the plan's words")
        if not due_at.strip():
            raise InvalidInput("due_at: give the new date and time")
        move_callback(
            session,
            plan=place.plan,
            callback_id=callback_id,
            due_at=local_moment(due_at, place.zone, "due_at"),
            window_end=local_moment(window_end, place.zone, "window_end") if window_end.strip() else None,
            reason=reason,
            now=now,
            by=principal.name,
            data_dir=context.settings.data_dir,
        )

    return _act(request, context, principal, back, act, done="moved")


@router.post("/callbacks/{callback_id}/complete")
def complete(
    callback_id: CallbackId,
    request: Request,
    principal: WorkCustomers,
    context: Context,
    notes: Annotated[str, Form(max_length=8000)] = "",
    back: Back = "",
) -> Response:
    """The call was made, with optional notes, as the API's complete."""

    def act(session: Session, now: datetime, _place: Centre) -> None:
        complete_callback(session, callback_id=callback_id, notes=notes or None, now=now, by=principal.name)

    return _act(request, context, principal, back, act, done="completed")


@router.post("/callbacks/{callback_id}/cancel")
def cancel(
    callback_id: CallbackId,
    request: Request,
    principal: WorkCustomers,
    context: Context,
    reason: Annotated[str, Form(max_length=4000)] = "",
    back: Back = "",
) -> Response:
    """Withdraw the callback with a reason, as the API's cancel."""

    def act(session: Session, now: datetime, _place: Centre) -> None:
        cancel_callback(session, callback_id=callback_id, reason=reason, now=now, by=principal.name)

    return _act(request, context, principal, back, act, done="cancelled")


# --- how the pages are drawn -------------------------------------------------------------------


def _act(
    request: Request,
    context: WebContext,
    principal: Principal,
    back: str,
    act: Callable[[Session, datetime, Centre], None],
    *,
    done: str,
) -> Response:
    """Run the action; back to its page on success, that page with the reason when refused."""

    def run() -> None:
        with unit_of_work(context.session_factory) as session:
            act(session, context.clock.now(), centre(session))

    def draw(page: str, reason: str, status: int) -> Response:
        path = page.split("?", 1)[0]
        number = path.removeprefix(SECTION + "/")
        if path != SECTION and number.isdigit():
            return _detail(request, context, principal, int(number), error=reason, status=status)
        return _list(request, context, principal, query_of(page), error=reason, status=status)

    return after_form(SECTION, back, run, draw, lambda: {"done": done})


def _filters(params: Mapping[str, str], place: Centre) -> tuple[CallbackFilter, tuple[datetime, int] | None]:
    state = choice(params, "state", STATES)
    where = CallbackFilter(
        state=None if state in (None, OUTSTANDING) else state,
        outstanding=True if state == OUTSTANDING else None,
        queue=text(params, "queue"),
        vulnerable=True if yes(params, "vulnerable") else None,
        outage_id=row_number(params, "outage"),
        due_from=moment(params, "due_after", place.zone),
        due_to=moment(params, "due_before", place.zone),
    )
    return where, _cursor(text(params, "after", limit=80))


def _cursor(value: str | None) -> tuple[datetime, int] | None:
    """The page's starting point, `DUE~ID` (the last of the page before); None for the first page."""
    if value is None:
        return None
    due, _, number = value.partition("~")
    try:
        at = datetime.fromisoformat(due)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None or not number.isdigit():
        raise InvalidInput(f"after: {value[:40]!r} is not a page of this list: start from the first page")
    return at, int(number)


def _list(
    request: Request,
    context: WebContext,
    principal: Principal,
    params: Mapping[str, str],
    *,
    error: str = "",
    status: int = 200,
) -> Response:
    shown = echo(params, FILTERS)
    records: list[CallbackRecord] = []
    with unit_of_work(context.session_factory) as session:
        place = centre(session)
        try:
            where, after = _filters(params, place)
            records = callback_worklist(session, where=where, after=after, limit=PAGE + 1)
        except InvalidInput as bad:  # a bad filter: the page, with the reason above the form
            if not error:
                error, status = str(bad), 400
    now = context.clock.now()
    more = records[PAGE:]
    records = records[:PAGE]
    last = records[-1] if more else None
    model = _common(request, context, principal, place, error=error)
    model.update(
        filters=shown,
        states=[{"id": s, "name": STATE_WORDS.get(s, s)} for s in STATES],
        queues=place.queues(),
        callbacks=[_view(r, place, now) for r in records],
        here=address(SECTION, {**shown, "after": params.get("after", "")}),
        first=address(SECTION, shown) if params.get("after") else "",
        next=address(SECTION, {**shown, "after": f"{last.due_at.isoformat()}~{last.id}"}) if last else "",
    )
    return show(request, context, "callbacks.html", model, status)


def _detail(
    request: Request,
    context: WebContext,
    principal: Principal,
    callback_id: int,
    *,
    error: str = "",
    status: int = 200,
) -> Response:
    with unit_of_work(context.session_factory) as session:
        place = centre(session)
        record, events = get_callback(session, callback_id)
    model = _common(request, context, principal, place, error=error)
    model.update(
        callback=_view(record, place, context.clock.now()),
        history=[{"at": place.when(e.at), "kind": e.kind, "actor": e.actor, "text": e.text} for e in events],
        here=f"{SECTION}/{callback_id}",
    )
    return show(request, context, "callback.html", model, status)


def _common(
    request: Request, context: WebContext, principal: Principal, place: Centre, *, error: str
) -> dict[str, Any]:
    """What both pages show around the callbacks, and whether the role may work them."""
    done = DONE.get(request.query_params.get("done", ""), "")
    model = frame(place, principal, context.clock.now(), error=error, done=done)
    model["can_work"] = principal.can(Permission.WORK_CUSTOMERS)
    return model


def _view(record: CallbackRecord, place: Centre, now: datetime) -> dict[str, Any]:
    """A callback as the pages show it, in the centre's time."""
    final = record.state in FINAL
    return {
        "id": record.id,
        "customer": record.customer,
        "phone": record.phone,
        "email": record.email,
        "queue": place.queue_name(record.queue),
        "due": place.when(record.due_at),
        "until": place.clock(record.window_end),
        "due_field": place.field(record.due_at),
        "requested": place.when(record.requested_due_at),
        "overdue": not final and record.due_at < now,
        "state": record.state,
        "tone": TONES.get(record.state, "unknown"),
        "vulnerable": record.vulnerable,
        "outage_id": record.outage_id,
        "missed": record.missed,
        "moves": record.moves,
        "notes": record.notes or "",
        "external_id": record.external_id or "",
        "can_confirm": record.state in CONFIRMABLE,
        "open": not final,
    }
