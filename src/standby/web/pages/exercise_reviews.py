"""GET /exercises/reviews: the plan's reviews and the reviews of vendors' own contingency plans,
when each falls due next (overdue in red), and forms to record them (load_plan). Writes are
plain POSTs that call the same services as the API (web.api.plan_reviews) and come back here.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from standby.access.roles import Permission
from standby.access.service import Principal
from standby.errors import Conflict
from standby.exercise.reviews_service import (
    MAX_FILE,
    REMIND_BEFORE,
    list_plan_reviews,
    list_vendor_reviews,
    record_plan_review,
    record_vendor_review,
    review_log,
    reviews_due,
)
from standby.store.engine import unit_of_work
from standby.web.auth import LoadPlan, ReadPlan
from standby.web.context import Context, WebContext
from standby.web.live import plan_today
from standby.web.pages.centre_clock import clock_for, clock_now, form_day
from standby.web.pages.refusals import Refusal, page_response, refusal_of

router = APIRouter(include_in_schema=False)

SHOWN = 50
DONE = {"plan": "The plan review is recorded.", "vendor": "The vendor review is recorded."}


@dataclass(frozen=True)
class Due:
    """A review the plan asks for, and how it stands today."""

    what: str
    due: date | None
    overdue: bool
    soon: bool


@router.get("/exercises/reviews")
def reviews_page(request: Request, principal: ReadPlan, context: Context) -> Response:
    """The plan's and the vendors' reviews: next due, the log, and the forms to record one."""
    return _render(request, context, principal)


@router.post("/exercises/reviews/plan")
def record_plan(
    request: Request,
    principal: LoadPlan,
    context: Context,
    reviewed_on: Annotated[str, Form(max_length=20)] = "",
    reviewed_by: Annotated[str, Form(max_length=200)] = "",
    notes: Annotated[str, Form(max_length=10_000)] = "",
    signed_off_by: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Record a review of the plan in force."""

    def act() -> None:
        day = form_day(reviewed_on, "reviewed on")
        with unit_of_work(context.session_factory) as session:
            record_plan_review(
                session, reviewed_on=day, reviewed_by=reviewed_by, notes=notes or None,
                signed_off_by=signed_off_by or None, by=principal.signed, now=context.clock.now(),
            )  # fmt: skip

    typed = {
        "reviewed_on": reviewed_on,
        "reviewed_by": reviewed_by,
        "notes": notes,
        "signed_off_by": signed_off_by,
    }
    return _after(request, context, principal, refusal_of(act), "plan", plan_form=typed)


@router.post("/exercises/reviews/vendor")
async def record_vendor(
    request: Request,
    principal: LoadPlan,
    context: Context,
    vendor: Annotated[str, Form(max_length=100)] = "",
    reviewed_on: Annotated[str, Form(max_length=20)] = "",
    reviewed_by: Annotated[str, Form(max_length=200)] = "",
    next_due: Annotated[str, Form(max_length=20)] = "",
    note: Annotated[str, Form(max_length=10_000)] = "",
    link: Annotated[str, Form(max_length=2000)] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Record the review of a vendor's contingency plan, with its evidence (a file at most 5 MB)."""
    content = await file.read(MAX_FILE + 1) if file is not None and file.filename else None
    name = file.filename if file is not None and content is not None else None
    media = file.content_type if file is not None and content is not None else None

    def act() -> None:
        plan = clock_now(context).plan
        if plan is None:
            raise Conflict("no plan has been loaded yet: vendors are the plan's")
        day = form_day(reviewed_on, "reviewed on")
        due = form_day(next_due, "next due") if next_due.strip() else None
        with unit_of_work(context.session_factory) as session:
            record_vendor_review(
                session, plan=plan, vendor_id=vendor, reviewed_on=day, reviewed_by=reviewed_by,
                note=note or None, link=link or None, file_name=name, file_type=media,
                file_base64=base64.b64encode(content).decode() if content is not None else None,
                next_due=due, by=principal.signed, now=context.clock.now(),
            )  # fmt: skip

    typed = {
        "vendor": vendor, "reviewed_on": reviewed_on, "reviewed_by": reviewed_by, "next_due": next_due,
        "note": note, "link": link,
    }  # fmt: skip
    return _after(request, context, principal, refusal_of(act), "vendor", vendor_form=typed)


def _after(
    request: Request,
    context: WebContext,
    principal: Principal,
    refused: Refusal | None,
    done: str,
    **typed: Any,
) -> Response:
    if refused is not None:
        return _render(request, context, principal, refused=refused, **typed)
    return RedirectResponse(f"/exercises/reviews?{urlencode({'done': done})}", status_code=303)


def _render(
    request: Request,
    context: WebContext,
    principal: Principal,
    *,
    refused: Refusal | None = None,
    plan_form: dict[str, str] | None = None,
    vendor_form: dict[str, str] | None = None,
) -> Response:
    plan = clock_now(context).plan
    clock = clock_for(plan, context.clock.now())
    with unit_of_work(context.session_factory) as session:
        plans = list_plan_reviews(session, limit=SHOWN)
        vendors = list_vendor_reviews(session, limit=SHOWN)
        log = review_log(session)
    due: list[Due] = []
    if plan is not None:
        today = plan_today(plan, context.clock.now())
        for d in reviews_due(plan, log):
            due.append(Due(d.what, d.due, d.due < today, today <= d.due <= today + REMIND_BEFORE))
        named = {d.subject for d in reviews_due(plan, log)}
        if "plan" not in named:
            due.append(Due("The plan's review: never reviewed", None, True, False))
        for v in plan.vendors:
            if f"vendor:{v.id}" not in named:
                due.append(
                    Due(f"The review of {v.name}'s contingency plan: never reviewed", None, True, False)
                )
    today_text = plan_today(plan, context.clock.now()).isoformat() if plan is not None else ""
    model: dict[str, Any] = {
        "principal": principal,
        "organisation": plan.organisation.name if plan is not None else "",
        "has_plan": plan is not None,
        "due": due,
        "plan_reviews": plans,
        "vendor_reviews": vendors,
        "vendor_names": {v.id: v.name for v in plan.vendors} if plan is not None else {},
        "can_record": principal.can(Permission.LOAD_PLAN),
        "plan_form": plan_form
        or {"reviewed_on": today_text, "reviewed_by": "", "notes": "", "signed_off_by": ""},
        "vendor_form": vendor_form
        or {
            "vendor": "",
            "reviewed_on": today_text,
            "reviewed_by": "",
            "next_due": "",
            "note": "",
            "link": "",
        },
        "local": lambda at: clock.when(at),
        "soon_days": REMIND_BEFORE // timedelta(days=1),
        "shown": SHOWN,
    }
    return page_response(request, context, "exercise_reviews.html", model, refused=refused, done=DONE)
