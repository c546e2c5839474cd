"""GET /exercises/readiness: the agents' home readiness per team for managers (ready, home-capable,
last checked), and the mass-login exercise: start a campaign and see how long until N agents
passed against the home site's activation time. The same services as web.api.readiness.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from standby.access.service import Principal
from standby.errors import Conflict, InvalidInput
from standby.readiness.campaigns import list_campaigns, start_campaign
from standby.readiness.service import teams_readiness
from standby.store.engine import unit_of_work
from standby.web.api.plan import NO_PLAN
from standby.web.auth import ManageAgents
from standby.web.context import Context, WebContext
from standby.web.contract import Position
from standby.web.pages.centre_clock import clock_for, clock_now
from standby.web.pages.refusals import Refusal, page_response, refusal_of

router = APIRouter(include_in_schema=False)

CAMPAIGNS = 10
DONE = {"campaign": "The campaign has started: every home-capable agent is sent the check's link."}


@router.get("/exercises/readiness")
def readiness_page(
    request: Request,
    principal: ManageAgents,
    context: Context,
    before: Annotated[Position, Query()] = 0,
) -> Response:
    """Each team's agents ready and home-capable, and the mass-login campaigns, newest first."""
    return _render(request, context, principal, before=before)


@router.post("/exercises/readiness/campaigns")
def start(
    request: Request,
    principal: ManageAgents,
    context: Context,
    target: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Start a mass-login exercise now (N: the agents who must pass; blank: the home-capable share)."""

    def act() -> None:
        plan = clock_now(context).plan
        if plan is None:
            raise Conflict(NO_PLAN)
        wanted: int | None = None
        if target.strip():
            try:
                wanted = int(target)
            except ValueError:
                raise InvalidInput(f"target: {target.strip()!r} is not a whole number of agents") from None
            if wanted < 1:
                raise InvalidInput("target: at least 1 agent")
        with unit_of_work(context.session_factory) as session:
            start_campaign(
                session, plan=plan, secret=context.settings.secret_key, base_url=context.settings.base_url,
                by=principal.named, now=context.clock.now(), target=wanted,
            )  # fmt: skip

    refused = refusal_of(act)
    if refused is not None:
        return _render(request, context, principal, refused=refused, target=target)
    return RedirectResponse(f"/exercises/readiness?{urlencode({'done': 'campaign'})}", status_code=303)


def _render(
    request: Request,
    context: WebContext,
    principal: Principal,
    *,
    before: int = 0,
    refused: Refusal | None = None,
    target: str = "",
) -> Response:
    plan = clock_now(context).plan
    clock = clock_for(plan, context.clock.now())
    now = context.clock.now()
    with unit_of_work(context.session_factory) as session:
        teams = teams_readiness(session, plan=plan, now=now) if plan is not None else []
        campaigns = list_campaigns(session, limit=CAMPAIGNS + 1, before=before or None)
    model: dict[str, Any] = {
        "principal": principal,
        "organisation": plan.organisation.name if plan is not None else "",
        "has_plan": plan is not None,
        "valid_days": plan.readiness.valid_days if plan is not None else 0,
        "teams": teams,
        "campaigns": campaigns[:CAMPAIGNS],
        "next_before": campaigns[CAMPAIGNS - 1].id if len(campaigns) > CAMPAIGNS else None,
        "target": target,
        "local": lambda at: clock.when(at),
    }
    return page_response(request, context, "exercise_readiness.html", model, refused=refused, done=DONE)
