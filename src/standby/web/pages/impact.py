"""GET /impact: the impact simulator, a form; POST /impact runs it and shows the report in the page.

The form's values are checked by the API's own request model (web.api.impact.ImpactRequest)
and the scenario runs through the API's `simulate`: against the plan in force, in a worker
thread, within the same caps. What they refuse (an unknown component, zero minutes, a time
outside the plan's day, a scenario no strategy covers) is shown on the form with the
reason, status 400; a full house of simulations is 503. The report is the impact report
itself (impact.html's body), its style sheet served at /impact/report.css.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from markupsafe import Markup
from pydantic import ValidationError
from starlette.datastructures import FormData

from standby.access.service import Principal
from standby.errors import NotFound
from standby.impact.html import render_report, report_css
from standby.impact.report import Labels
from standby.impact.results import ImpactResult
from standby.impact.scenario import forecast_day
from standby.plan.fields import format_clock_time
from standby.plan.schema import Plan
from standby.plan.versions import PlanVersionInfo, current_plan
from standby.store.engine import unit_of_work
from standby.web.api.impact import DEFAULT_REPLICATIONS, MAX_REPLICATIONS, ImpactRequest, simulate_request
from standby.web.api.plan import NO_PLAN
from standby.web.auth import ReadPlan
from standby.web.context import Context, WebContext

router = APIRouter(include_in_schema=False)

NO_STORE = {"Cache-Control": "no-store"}
DEFAULT_MINUTES = 60
FIELDS = ("at", "minutes", "replications", "seed")


@router.get("/impact")
def impact_page(request: Request, principal: ReadPlan, context: Context) -> Response:
    """The simulator's form, with the plan's components to choose from."""
    info, plan = _plan_in_force(context)
    return _render(request, context, principal, info, plan, asked=_defaults(plan))


@router.post("/impact")
async def run_impact(request: Request, principal: ReadPlan, context: Context) -> Response:
    """Simulate the scenario of the form as POST /api/v1/impact does, and show its report here."""
    async with request.form(max_fields=10_000, max_files=0) as form:
        asked = _asked(form)
    info, plan = _plan_in_force(context)
    if not asked["down"]:
        error = "down: choose at least one component that goes down"
        return _render(request, context, principal, info, plan, asked=asked, error=error, status=400)
    try:
        # A field left empty takes the API's default (ten simulated days, seed 1), or is missing.
        body = ImpactRequest.model_validate({name: value for name, value in asked.items() if value != ""})
    except ValidationError as invalid:
        return _render(request, context, principal, info, plan, asked=asked, error=_said(invalid), status=400)
    try:
        info, plan, result = await simulate_request(context, body)
    except HTTPException as refused:
        status = 503 if refused.status_code == 503 else 400
        return _render(
            request, context, principal, info, plan, asked=asked, error=str(refused.detail), status=status
        )
    return _render(request, context, principal, info, plan, asked=asked, result=result)


@router.get("/impact/report.css")
def report_style() -> Response:
    """The impact report's style sheet, for the report shown in the /impact page."""
    return Response(report_css(), media_type="text/css", headers={"Cache-Control": "public, max-age=300"})


def _plan_in_force(context: WebContext) -> tuple[PlanVersionInfo, Plan]:
    with unit_of_work(context.session_factory) as session:
        found = current_plan(session)
    if found is None:
        raise NotFound(NO_PLAN)
    return found


def _defaults(plan: Plan) -> dict[str, Any]:
    day = forecast_day(plan)
    # Two hours into the forecast day: a busy hour on most plans, and inside the day on every one.
    start = day[0] + 120 if day is not None and day[0] + 120 < day[1] else (day[0] if day else 600)
    return {
        "down": [],
        "at": format_clock_time(start),
        "minutes": str(DEFAULT_MINUTES),
        "replications": str(DEFAULT_REPLICATIONS),
        "seed": "1",
        "uncovered": False,
    }


def _asked(form: FormData) -> dict[str, Any]:
    """The form's values as typed, kept to show again; checked by the API's model, not here."""
    asked: dict[str, Any] = {name: str(form.get(name) or "").strip()[:40] for name in FIELDS}
    asked["down"] = [str(v).strip()[:64] for v in form.getlist("down") if str(v).strip()]
    asked["uncovered"] = form.get("uncovered") in ("1", "on", "true")
    return asked


def _said(invalid: ValidationError) -> str:
    """The first problem the model found, as 'minutes: Input should be greater than 0'."""
    problems = []
    for error in invalid.errors():
        where = ".".join(str(part) for part in error.get("loc", ()))
        problems.append(f"{where}: {error['msg']}" if where else str(error["msg"]))
    return "; ".join(problems)


def _render(
    request: Request,
    context: WebContext,
    principal: Principal,
    info: PlanVersionInfo,
    plan: Plan,
    *,
    asked: dict[str, Any],
    result: ImpactResult | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    zone = ZoneInfo(plan.organisation.timezone)
    day = forecast_day(plan)
    chosen = set(asked["down"])
    model: dict[str, Any] = {
        "principal": principal,
        "organisation": plan.organisation.name,
        "timezone": zone.key,
        "version": info.id,
        "day": (format_clock_time(day[0]), format_clock_time(day[1])) if day is not None else None,
        "components": [
            {"id": c.id, "name": c.name, "kind": c.kind, "checked": c.id in chosen} for c in plan.components
        ],
        "strategies": [s.name for s in plan.strategies],
        "asked": asked,
        "max_replications": MAX_REPLICATIONS,
        "error": error[:1].upper() + error[1:] if error else "",
        "report": None,
        "report_link": "",
    }
    if result is not None:
        written = context.clock.now().astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
        model["report"] = Markup(
            render_report(result, Labels.of(plan), plan_source=f"plan version {info.id}", generated=written)
        )
        model["report_link"] = "/api/v1/impact/report?" + urlencode(
            {
                "down": ",".join(result.scenario.down),
                "at": format_clock_time(result.scenario.at),
                "minutes": result.scenario.minutes,
                "replications": result.replications,
                "seed": result.seed,
                **({"uncovered": "true"} if asked["uncovered"] else {}),
            }
        )
    response: Response = context.templates.TemplateResponse(
        request, "impact.html", model, status_code=status, headers=NO_STORE
    )
    return response
