"""GET /compensation: the offers the plan's rules made after outages, newest first, with what they
come to; the answers (accept, decline, pay) and applying the rules to an ended outage, as the
API's `/api/v1/compensation` routes.

Reading needs READ_CUSTOMERS (offers name customers), acting MANAGE_COMPENSATION (offers cost
money), as in the API. Offers are made only by the rules: the API has no hand-made offer,
so neither has the page; a manager may apply the rules to an outage now rather than wait
for the next pass. A refusal is shown on the page with its reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from standby.access.roles import Permission
from standby.access.service import Principal
from standby.customers.compensation import money_text, offer_move_problem
from standby.customers.compensation_service import OfferRecord, apply_now, list_offers, move_offer, totals
from standby.detect.history import get_outage
from standby.errors import InvalidInput
from standby.store.engine import unit_of_work
from standby.store.tables.customers import OFFER_STATES
from standby.web.auth import ManageCompensation, ReadCustomers
from standby.web.context import Context, WebContext
from standby.web.pages.centre_clock import CentreClock, centre_clock, plan_needed
from standby.web.pages.refusals import uncached
from standby.web.pages.worklists import (
    PAGE,
    Notice,
    address,
    after_form,
    choice,
    echo,
    frame,
    query_of,
    row_number,
)

router = APIRouter(include_in_schema=False)

SECTION = "/compensation"
FILTERS = ("state", "outage")
OfferId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Back = Annotated[str, Form(max_length=2000)]
ANSWERS = {"accept": "accepted", "decline": "declined", "pay": "paid"}
ANSWER_WORDS = {"accept": "Accepted", "decline": "Declined", "pay": "Paid"}
TONES = {"offered": "degraded", "accepted": "maintenance", "declined": "unknown", "paid": "up"}
DONE = {
    "accepted": "Recorded: the customer accepted.",
    "declined": "Recorded: the customer declined.",
    "paid": "Recorded: paid.",
}


@router.get("/compensation")
def offers(request: Request, principal: ReadCustomers, context: Context) -> Response:
    """Offers, newest first, filtered by state and outage, with their totals."""
    return _page(request, context, principal, request.query_params)


@router.post("/compensation/{offer_id}/{answer}")
def answer(
    offer_id: OfferId,
    answer: str,
    request: Request,
    principal: ManageCompensation,
    context: Context,
    back: Back = "",
) -> Response:
    """The customer accepted or declined, or the offer was paid, as the API's accept, decline and pay."""
    state = ANSWERS.get(answer)

    def act(session: Session) -> None:
        if state is None:
            raise InvalidInput(f"{answer[:20]!r} is not an answer: use one of {', '.join(ANSWERS)}")
        move_offer(
            session, offer_id=offer_id, state=state, by=principal.signed,
            now=context.clock.now(),
        )

    return _act(request, context, principal, back, act, done=state or "")


@router.post("/compensation/apply")
def apply(
    request: Request,
    principal: ManageCompensation,
    context: Context,
    outage: Annotated[str, Form(max_length=20)] = "",
    back: Back = "",
) -> Response:
    """Make the offers the plan's rules give an ended outage's customers, as the API's apply."""
    made: list[int] = []

    def act(session: Session) -> None:
        outage_id = row_number({"outage": outage}, "outage")
        if outage_id is None:
            raise InvalidInput("outage: give the number of the ended outage")
        in_force = centre_clock(session, context.clock.now()).plan
        plan = plan_needed(in_force, "compensation follows the plan's rules")
        made.append(apply_now(session, outage_id=outage_id, plan=plan, now=context.clock.now()))

    return _act(request, context, principal, back, act, done="applied", made=made)


def _act(
    request: Request,
    context: WebContext,
    principal: Principal,
    back: str,
    act: Callable[[Session], None],
    *,
    done: str,
    made: list[int] | None = None,
) -> Response:
    """Run the action; back to the page on success, the page with the reason when refused."""

    def draw(page: str, refused: Notice) -> Response:
        return _page(request, context, principal, query_of(page), refused)

    return after_form(
        context, SECTION, back, act, draw, lambda: {"done": done, **({"made": made[0]} if made else {})}
    )


def _page(
    request: Request,
    context: WebContext,
    principal: Principal,
    params: Mapping[str, str],
    notice: Notice | None = None,
) -> Response:
    notice = notice or Notice()
    shown = echo(params, FILTERS)
    records: list[OfferRecord] = []
    sums: list[dict[str, Any]] = []
    with unit_of_work(context.session_factory) as session:
        place = centre_clock(session, context.clock.now())
        with notice.reading_filters():
            outage_id = row_number(params, "outage")
            before = row_number(params, "before")
            if outage_id is not None:
                get_outage(session, outage_id)  # an unknown outage is said, not shown as no offers
            records = list_offers(
                session, outage_id=outage_id, state=choice(params, "state", OFFER_STATES),
                limit=PAGE + 1, before_id=before,
            )
            sums = [_sums(t.as_dict()) for t in totals(session, outage_id=outage_id)]
    more = records[PAGE:]
    records = records[:PAGE]
    can_manage = principal.can(Permission.MANAGE_COMPENSATION)
    model = frame(place, principal, notice, done=_done(request.query_params))
    model |= {
        "can_manage": can_manage,
        "filters": shown,
        "states": [{"id": s, "name": s} for s in OFFER_STATES],
        "totals": sums,
        "offers": [_view(r, place, can_manage) for r in records],
        "here": address(SECTION, {**shown, "before": params.get("before", "")}),
        "first": address(SECTION, shown) if params.get("before") else "",
        "next": address(SECTION, {**shown, "before": records[-1].id}) if more else "",
    }
    return uncached(request, context, "compensation.html", model, notice.status)


def _done(params: Mapping[str, str]) -> str:
    done = params.get("done", "")
    if done == "applied":
        made = params.get("made", "0")
        return f"The rules were applied: {made if made.isdigit() else 0} new offers."
    return DONE.get(done, "")


def _sums(found: Mapping[str, Any]) -> dict[str, Any]:
    """One currency's totals for people: each state's count and amount in money."""
    currency = str(found["currency"])
    return {
        "currency": currency,
        "rows": [
            {
                "state": state,
                "count": found[state]["count"],
                "amount": money_text(found[state]["amount_minor"], currency),
            }
            for state in (*OFFER_STATES, "total")
        ],
    }


def _view(record: OfferRecord, place: CentreClock, can_manage: bool) -> dict[str, Any]:
    """An offer as the page shows it, with the answers it may still take."""
    answers = [
        {"id": name, "word": ANSWER_WORDS[name]}
        for name, state in ANSWERS.items()
        if record.state != state and offer_move_problem(record.id, record.state, state) is None
    ]
    return {
        "id": record.id,
        "customer": record.customer,
        "phone": record.phone,
        "queue": place.queue_name(record.queue) if record.queue else "",
        "vulnerable": record.vulnerable,
        "outage_id": record.outage_id,
        "rule": record.rule,
        "reason": record.reason,
        "kind": record.kind,
        "amount": money_text(record.amount_minor, record.currency),
        "state": record.state,
        "tone": TONES.get(record.state, "unknown"),
        "made": place.when(record.created_at),
        "updated": place.when(record.updated_at) if record.updated_by else "",
        "updated_by": record.updated_by or "",
        "answers": answers if can_manage else [],
    }
