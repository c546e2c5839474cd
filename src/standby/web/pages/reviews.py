"""GET /incidents/{id}/review: the review after an outage, drafted from the records, with its
written parts, its actions and the sign-off; the exports linked. Writes are plain POSTs that
call the same services as the API (web.api.reviews, web.api.actions) and come back here.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from standby.access.roles import Permission
from standby.access.service import Principal
from standby.errors import Conflict
from standby.plan.schema import Plan
from standby.review.action_service import close_action, create_action, get_action, list_actions
from standby.review.actions import KINDS, due_time
from standby.review.html import render_review_body, review_css
from standby.review.markdown import WRITTEN_HEADINGS
from standby.review.measures import MEASURES
from standby.review.trend_charts import actions_chart, counts_chart, measure_chart
from standby.review.written_service import save_written, sign_off
from standby.store.engine import unit_of_work
from standby.web.api.reviews import drafted, review_parts, trends_now
from standby.web.auth import ManageIncidents, ReadOutages
from standby.web.context import Context, WebContext
from standby.web.contract import RowId
from standby.web.pages.centre_clock import clock_now, plan_needed
from standby.web.pages.refusals import Refusal, page_response, refusal_of

router = APIRouter(include_in_schema=False)

TEXT = 20_000
DONE = {
    "saved": "The review is saved.",
    "signed": "The review is signed off: the incident is reviewed.",
    "action": "The action is set.",
    "closed": "The action is closed.",
}


@router.get("/reviews/review.css")
def review_style() -> Response:
    """The review's own style sheet (the impact report's is /impact/report.css)."""
    return Response(review_css(), media_type="text/css", headers={"Cache-Control": "public, max-age=300"})


@router.get("/incidents/{incident_id}/review")
def review_page(incident_id: RowId, request: Request, principal: ReadOutages, context: Context) -> Response:
    """The review: drafted once the incident is resolved; written, actions set and signed off here."""
    return _render(request, context, principal, incident_id)


@router.post("/incidents/{incident_id}/review")
def write(
    incident_id: RowId,
    request: Request,
    principal: ManageIncidents,
    context: Context,
    factors: Annotated[str, Form(max_length=TEXT)] = "",
    went_well: Annotated[str, Form(max_length=TEXT)] = "",
    went_wrong: Annotated[str, Form(max_length=TEXT)] = "",
    lucky: Annotated[str, Form(max_length=TEXT)] = "",
) -> Response:
    """Save the review's four texts."""
    texts: dict[str, str | None] = {
        "factors": factors,
        "went_well": went_well,
        "went_wrong": went_wrong,
        "lucky": lucky,
    }

    def act() -> None:
        with unit_of_work(context.session_factory) as session:
            save_written(
                session, incident_id=incident_id, texts=texts, by=principal.signed, now=context.clock.now()
            )

    return _after(request, context, principal, incident_id, refusal_of(act), "saved", typed=texts)


@router.post("/incidents/{incident_id}/review/sign-off")
def sign(incident_id: RowId, request: Request, principal: ManageIncidents, context: Context) -> Response:
    """Sign the review off: the incident moves to reviewed."""

    def act() -> None:
        with unit_of_work(context.session_factory) as session:
            sign_off(session, incident_id=incident_id, by=principal.signed, now=context.clock.now())

    return _after(request, context, principal, incident_id, refusal_of(act), "signed")


@router.post("/incidents/{incident_id}/review/actions")
def set_action(
    incident_id: RowId,
    request: Request,
    principal: ManageIncidents,
    context: Context,
    title: Annotated[str, Form(max_length=2000)] = "",
    owner: Annotated[str, Form(max_length=100)] = "",
    due: Annotated[str, Form(max_length=40)] = "",
    kind: Annotated[str, Form(max_length=20)] = "",
    links: Annotated[list[str] | None, Form(max_length=200)] = None,
) -> Response:
    """Set an action from the review."""

    def act() -> None:
        plan = _plan(context)
        when = due_time(due, plan.organisation.timezone)
        with unit_of_work(context.session_factory) as session:
            create_action(
                session, plan=plan, title=title, owner=owner, due_at=when, kind=kind, links=links or [],
                incident_id=incident_id, by=principal.signed, now=context.clock.now(),
            )  # fmt: skip

    typed = {"title": title, "owner": owner, "due": due, "kind": kind, "links": links or []}
    return _after(request, context, principal, incident_id, refusal_of(act), "action", action=typed)


@router.post("/actions/{action_id}/close")
def close(
    action_id: RowId,
    request: Request,
    principal: ManageIncidents,
    context: Context,
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Close an action with a note; back to its incident's review (or the reviews page)."""
    with unit_of_work(context.session_factory) as session:
        incident_id = get_action(session, action_id, now=context.clock.now()).incident_id

    def act() -> None:
        with unit_of_work(context.session_factory) as session:
            close_action(
                session, action_id=action_id, note=note, by=principal.signed, now=context.clock.now()
            )

    refused = refusal_of(act)
    if incident_id is None:
        if refused is not None:
            raise Conflict(refused.reason)
        return RedirectResponse(f"/reviews?{urlencode({'done': 'closed'})}", status_code=303)
    return _after(request, context, principal, incident_id, refused, "closed")


def _plan(context: WebContext) -> Plan:
    return plan_needed(clock_now(context).plan, "an action's owner is a person of the plan")


def _after(
    request: Request,
    context: WebContext,
    principal: Principal,
    incident_id: int,
    refused: Refusal | None,
    done: str,
    **typed: Any,
) -> Response:
    if refused is not None:
        return _render(request, context, principal, incident_id, refused=refused, **typed)
    return RedirectResponse(f"/incidents/{incident_id}/review?{urlencode({'done': done})}", status_code=303)


def _render(
    request: Request,
    context: WebContext,
    principal: Principal,
    incident_id: int,
    *,
    refused: Refusal | None = None,
    typed: dict[str, str | None] | None = None,
    action: dict[str, Any] | None = None,
) -> Response:
    review = drafted(context, incident_id, ready_only=False)
    plan = clock_now(context).plan
    can_write = principal.can(Permission.MANAGE_INCIDENTS) and review.state == "resolved"
    body = ""
    if review.ready:
        result, labels, generated = review_parts(context, review)
        body = render_review_body(review, result, labels, generated=generated)
    written = {name: getattr(review.written, name) for name, _ in WRITTEN_HEADINGS}
    if typed is not None:
        written.update({k: v or "" for k, v in typed.items()})
    model: dict[str, Any] = {
        "principal": principal,
        "organisation": plan.organisation.name if plan is not None else "",
        "review": review,
        "body": Markup(body),
        "can_write": can_write,
        "can_close": principal.can(Permission.MANAGE_INCIDENTS),
        "headings": WRITTEN_HEADINGS,
        "written": written,
        "people": [(p.id, p.name) for p in plan.people] if plan is not None else [],
        "link_choices": [(f"component:{c.id}", c.name) for c in plan.components]
        + [(f"vendor:{v.id}", v.name) for v in plan.vendors]
        if plan is not None
        else [],
        "kinds": KINDS,
        "action": action or {"title": "", "owner": "", "due": "", "kind": "prevent", "links": []},
        "open_actions": [a for a in review.actions if a.state == "open"],
    }
    return page_response(request, context, "review.html", model, refused=refused, done=DONE)


@router.get("/reviews")
def reviews_page(request: Request, principal: ReadOutages, context: Context) -> Response:
    """The reviews across incidents: trends per quarter, outages per component and vendor, actions."""
    found = trends_now(context)
    plan = clock_now(context).plan
    zone = ZoneInfo(plan.organisation.timezone) if plan is not None else ZoneInfo("UTC")
    overdue = []
    with unit_of_work(context.session_factory) as session:
        overdue = list_actions(session, now=context.clock.now(), overdue=True, limit=50)
    model: dict[str, Any] = {
        "principal": principal,
        "organisation": plan.organisation.name if plan is not None else "",
        "trends": found,
        "charts": [Markup(measure_chart(m, found.quarters)) for m in MEASURES] if found.quarters else [],
        "components_chart": Markup(counts_chart(found.by_component, title="Outages per component")),
        "vendors_chart": Markup(counts_chart(found.by_vendor, title="Outages per vendor")),
        "actions_chart": Markup(
            actions_chart(found.actions_open, found.actions_overdue, found.actions_closed)
        ),
        "overdue": overdue,
        "can_close": principal.can(Permission.MANAGE_INCIDENTS),
        "local": lambda at: at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if at is not None else "",
    }
    return page_response(request, context, "reviews.html", model, refused=None, done=DONE)
