"""/api/v1/outages/{id}/customers: what the commander sees of an outage's customers.

Counts only, never a name or a number: every role that may read outages may read it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from standby.customers.summary import headline
from standby.customers.summary_service import customer_summary
from standby.store.engine import unit_of_work
from standby.web.auth import ReadOutages
from standby.web.context import Context
from standby.web.contract import RowId

router = APIRouter(tags=["outages"])


class CustomerSummaryOut(BaseModel):
    """The outage's customers in numbers, and the line the timeline shows."""

    outage_id: int
    headline: str = Field(description="One line: '412 customers affected (37 vulnerable); ...'.")
    customers: dict[str, int] = Field(description="`affected` (distinct customers), `vulnerable`.")
    callbacks: dict[str, int] = Field(
        description="`flagged` (every callback the outage stopped), `missed`, `rescheduled`,"
        " `unplaced` (a person must move it), `confirmed`, `completed`, `cancelled`."
    )
    calls: dict[str, int] = Field(description="`cut_off`, `followed_up` (worked), `open`.")
    outcomes: dict[str, int] = Field(description="`logged`, `follow_up` (needing one).")
    compensation: list[dict[str, Any]] = Field(
        description="Per currency: `total`, `offered`, `accepted`, `declined`, `paid`, each"
        " `{count, amount_minor}`."
    )


@router.get(
    "/api/v1/outages/{outage_id}/customers",
    summary="The outage's customers in numbers",
    responses={404: {"description": "No outage with this id."}},
)
def get_customer_summary(outage_id: RowId, principal: ReadOutages, context: Context) -> CustomerSummaryOut:
    """Customers affected (vulnerable ones too), callbacks, calls cut off, outcomes and compensation."""
    with unit_of_work(context.session_factory) as session:
        figures = customer_summary(session, outage_id=outage_id)
    return CustomerSummaryOut(headline=headline(figures), **figures.as_dict())
