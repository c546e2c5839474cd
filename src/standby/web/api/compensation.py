"""/api/v1/compensation: offers made by the plan's compensation rules after an outage, their
fate (offered, accepted, declined, paid), and what they come to per outage.

Amounts are in the currency's minor unit (`amount_minor`: pence for GBP), exact.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from standby.access.service import Principal
from standby.customers.compensation import Totals
from standby.customers.compensation_service import (
    OfferRecord,
    apply_now,
    get_offer,
    list_offers,
    move_offer,
    totals,
)
from standby.customers.phones import MAX_PHONE, customer_phone
from standby.detect.history import get_outage
from standby.errors import Conflict
from standby.plan.versions import current_plan
from standby.store.engine import unit_of_work
from standby.web.auth import ManageCompensation, ReadCustomers, ReadOutages
from standby.web.context import Context, WebContext
from standby.web.contract import RowId

router = APIRouter(prefix="/api/v1/compensation", tags=["compensation"])

OfferState = Literal["offered", "accepted", "declined", "paid"]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No offer with this id."}}
NO_PLAN = "no plan has been loaded yet: compensation follows the plan's rules, so POST the plan first"


class OfferOut(BaseModel):
    """An offer to one customer under one rule for one outage."""

    id: int
    outage_id: int
    rule: str = Field(description="The rule's id, or rule-N (N from 1, in the plan's order).")
    customer: str
    phone: str = Field(description="International form; with `customer_key`, who the customer is.")
    customer_key: str
    email: str | None
    queue: str | None = Field(description="The queue through which the rule covers the customer.")
    vulnerable: bool
    reason: str = Field(description="Why, in words: 'callback due 14:00 missed'.")
    kind: Literal["credit", "refund", "voucher", "gesture"]
    amount_minor: int = Field(description="In the currency's minor unit (pence for GBP).")
    currency: str
    state: OfferState
    created_at: datetime
    updated_at: datetime
    updated_by: str | None = Field(description="Who last moved it on (user:NAME or token:NAME).")

    @classmethod
    def of(cls, record: OfferRecord) -> OfferOut:
        """The API shape of an offer."""
        return cls(**{name: getattr(record, name) for name in cls.model_fields})


class OfferList(BaseModel):
    """Offers, newest first."""

    offers: list[OfferOut]
    next_before: int | None = Field(description="Pass as `before` for the next page; null on the last.")


class AmountOut(BaseModel):
    """How many offers and what they come to."""

    count: int
    amount_minor: int


class CurrencyTotals(BaseModel):
    """Offers in one currency: all of them (`total`) and by state (`offered`: awaiting an answer)."""

    currency: str
    total: AmountOut
    offered: AmountOut
    accepted: AmountOut
    declined: AmountOut
    paid: AmountOut

    @classmethod
    def of(cls, found: Totals) -> CurrencyTotals:
        """The API shape of one currency's totals."""
        return cls.model_validate(found.as_dict())


class TotalsOut(BaseModel):
    """What the offers come to: counts and amounts only, no customer."""

    outage_id: int | None
    totals: list[CurrencyTotals] = Field(description="One entry per currency (usually one).")


class Applied(BaseModel):
    """Offers made by applying the rules again."""

    outage_id: int
    created: int = Field(description="New offers; 0 when every customer already had theirs.")


@router.get("", summary="Compensation offers")
def get_offers(
    principal: ReadCustomers,
    context: Context,
    outage_id: Annotated[RowId | None, Query(description="One outage's offers.")] = None,
    state: Annotated[OfferState | None, Query(description="Only offers in this state.")] = None,
    phone: Annotated[
        str | None,
        Query(max_length=MAX_PHONE, description="One customer's (a national number: in the plan's country)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many.")] = 100,
    before: Annotated[RowId | None, Query(description="Only offers with a lower id (paging).")] = None,
) -> OfferList:
    """Offers, newest first: who, under which rule, why, how much, and where each stands."""
    with unit_of_work(context.session_factory) as session:
        key = None
        if phone is not None:
            # A national number is read in the plan's country, as the imports read them.
            found = current_plan(session)
            key = customer_phone(phone, country=found[1].organisation.country if found else None)
        records = list_offers(
            session, outage_id=outage_id, state=state, customer_key=key, limit=limit, before_id=before
        )
    return OfferList(
        offers=[OfferOut.of(r) for r in records],
        next_before=records[-1].id if len(records) == limit else None,
    )


@router.get(
    "/totals",
    summary="What the offers come to",
    responses={404: {"description": "No outage with this id."}},
)
def get_totals(
    principal: ReadOutages,
    context: Context,
    outage_id: Annotated[RowId | None, Query(description="One outage's; all outages without it.")] = None,
) -> TotalsOut:
    """Counts and amounts per currency, all offers and by state; no personal data."""
    with unit_of_work(context.session_factory) as session:
        if outage_id is not None:
            get_outage(session, outage_id)
        found = totals(session, outage_id=outage_id)
    return TotalsOut(outage_id=outage_id, totals=[CurrencyTotals.of(t) for t in found])


@router.post(
    "/apply",
    summary="Apply the compensation rules to an outage now",
    responses={
        404: {"description": "No outage with this id."},
        409: {"description": "The outage has not ended, was merged into another, or no plan is loaded."},
    },
)
def post_apply(
    principal: ManageCompensation,
    context: Context,
    outage_id: Annotated[RowId, Query(description="The ended outage.")],
) -> Applied:
    """Make the offers the plan's rules give the outage's customers that are not made yet."""
    with unit_of_work(context.session_factory) as session:
        found = current_plan(session)
        if found is None:
            raise Conflict(NO_PLAN)
        created = apply_now(session, outage_id=outage_id, plan=found[1], now=context.clock.now())
    return Applied(outage_id=outage_id, created=created)


@router.get("/{offer_id:int}", summary="One compensation offer", responses=NOT_FOUND)
def get_one(offer_id: RowId, principal: ReadCustomers, context: Context) -> OfferOut:
    """One offer; 404 when there is none."""
    with unit_of_work(context.session_factory) as session:
        return OfferOut.of(get_offer(session, offer_id))


MOVE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    409: {"description": "The offer cannot move so from its state; says why."},
}


def _move(context: WebContext, principal: Principal, offer_id: int, state: str) -> OfferOut:
    with unit_of_work(context.session_factory) as session:
        record = move_offer(
            session,
            offer_id=offer_id,
            state=state,
            by=principal.signed,
            now=context.clock.now(),
        )
    return OfferOut.of(record)


@router.post("/{offer_id:int}/accept", summary="The customer accepted", responses=MOVE_RESPONSES)
def post_accept(offer_id: RowId, principal: ManageCompensation, context: Context) -> OfferOut:
    """offered -> accepted; again changes nothing; 409 once declined or paid."""
    return _move(context, principal, offer_id, "accepted")


@router.post("/{offer_id:int}/decline", summary="The customer declined", responses=MOVE_RESPONSES)
def post_decline(offer_id: RowId, principal: ManageCompensation, context: Context) -> OfferOut:
    """offered -> declined; again changes nothing; 409 once accepted or paid."""
    return _move(context, principal, offer_id, "declined")


@router.post("/{offer_id:int}/pay", summary="Paid", responses=MOVE_RESPONSES)
def post_pay(offer_id: RowId, principal: ManageCompensation, context: Context) -> OfferOut:
    """offered or accepted -> paid; again changes nothing; 409 once declined."""
    return _move(context, principal, offer_id, "paid")
