"""/api/v1/impact: an outage scenario simulated against the plan in force, as JSON or as the HTML report.

The simulation is CPU work of seconds: it runs in a worker thread (never on the event
loop) and in that thread only (workers=1), so a request cannot fork the server. The
work is capped: at most MAX_REPLICATIONS simulated days a request and MAX_RUNS_AT_ONCE
requests simulating at a time in a server process; past that, 503 with Retry-After.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Annotated
from zoneinfo import ZoneInfo

import anyio.to_thread
from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from standby.errors import NotFound, ScenarioInvalid
from standby.impact.html import render_html
from standby.impact.report import Labels, due_minute, parse_clock
from standby.impact.results import ImpactResult, Scenario, ScheduledCallback
from standby.plan.schema import Plan
from standby.plan.versions import PlanVersionInfo, current_plan
from standby.readiness.service import ready_by_team
from standby.store.engine import unit_of_work
from standby.web.api.plan import NO_PLAN
from standby.web.auth import ReadPlan
from standby.web.context import Context, WebContext

# The report is one self-contained file with its styles inline (it is forwarded and opened
# offline): it may style itself, and nothing else; it has no script at all.
REPORT_CSP = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:;"
    " base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

router = APIRouter(prefix="/api/v1/impact", tags=["impact"])

DEFAULT_REPLICATIONS = 10
MAX_REPLICATIONS = 200
MAX_CALLBACKS = 10_000
MAX_DOWN = 100
MAX_RUNS_AT_ONCE = 2
RETRY_AFTER_S = "10"
# Not an anyio limiter: it must outlive any one event loop, and a full house answers
# 503 at once rather than queueing requests that their callers will have given up on.
_RUNS = threading.BoundedSemaphore(MAX_RUNS_AT_ONCE)
_CLI_OPTION = re.compile(r"--(down|at|minutes|replications|seed|callbacks)\b")
_BUSY = "the server is already simulating as many scenarios as it allows at once; try again in a few seconds"


class CallbackIn(BaseModel):
    """A scheduled callback that the outage may make the centre miss."""

    model_config = ConfigDict(extra="forbid")

    due_at: str = Field(
        max_length=64,
        description='When it is due: "HH:MM" in the plan\'s time zone, or ISO 8601 with an offset.',
    )
    queue: str = Field(max_length=64, description="The queue whose agents make it.")
    vulnerable: bool = Field(False, description="Whether the customer is vulnerable.")


class ImpactRequest(BaseModel):
    """An outage scenario: components down from a time of day for a number of minutes."""

    model_config = ConfigDict(extra="forbid")

    down: list[Annotated[str, Field(max_length=64)]] = Field(
        min_length=1, max_length=MAX_DOWN, description="Component ids that go down."
    )
    at: str = Field(
        max_length=16, examples=["10:00"], description='When they go down, "HH:MM" in the plan\'s time zone.'
    )
    minutes: int = Field(gt=0, le=24 * 60, description="How many minutes they stay down.")
    replications: int = Field(
        DEFAULT_REPLICATIONS,
        ge=1,
        le=MAX_REPLICATIONS,
        description=f"Simulated days, each with and without the outage (at most {MAX_REPLICATIONS}).",
    )
    seed: int = Field(1, ge=0, lt=2**63, description="Random seed: the same seed gives the same result.")
    uncovered: bool = Field(
        False, description="Simulate an outage that no strategy of the plan covers (refused otherwise)."
    )
    callbacks: list[CallbackIn] = Field(
        default_factory=list, max_length=MAX_CALLBACKS, description="Scheduled callbacks."
    )


@router.post(
    "",
    summary="Simulate an outage",
    responses={
        200: {"description": "The ImpactResult (as `standby impact --json` prints it) and `plan_version`."},
        404: {"description": NO_PLAN},
        422: {"description": "A scenario the plan cannot run, or a malformed request."},
        503: {"description": "Too many simulations running at once; try again after Retry-After seconds."},
    },
)
async def post_impact(body: ImpactRequest, principal: ReadPlan, context: Context) -> JSONResponse:
    """The outage against the same day without it: customers, callbacks, recovery, breaches, cost."""
    info, _, result = await simulate_request(context, body)
    return JSONResponse({"plan_version": info.id, **result.to_dict()})


@router.get(
    "/report",
    summary="The outage's HTML report",
    response_class=HTMLResponse,
    responses={
        200: {"description": "One self-contained HTML page (inline CSS and SVG), to read or forward."},
        404: {"description": NO_PLAN},
        422: {"description": "A scenario the plan cannot run, or malformed parameters."},
        503: {"description": "Too many simulations running at once; try again after Retry-After seconds."},
    },
)
async def get_impact_report(
    principal: ReadPlan,
    context: Context,
    down: Annotated[
        list[str], Query(max_length=MAX_DOWN, description="Component ids, comma-separated or repeated.")
    ],
    at: Annotated[str, Query(max_length=16, description='"HH:MM" in the plan\'s time zone.')],
    minutes: Annotated[int, Query(gt=0, le=24 * 60, description="How many minutes they stay down.")],
    replications: Annotated[int, Query(ge=1, le=MAX_REPLICATIONS)] = DEFAULT_REPLICATIONS,
    seed: Annotated[int, Query(ge=0, lt=2**63)] = 1,
    uncovered: Annotated[bool, Query(description="Simulate an outage no strategy covers.")] = False,
) -> HTMLResponse:
    """What POST /api/v1/impact simulates, as the HTML report: for a browser, and to forward."""
    ids = [part.strip() for value in down for part in value.split(",") if part.strip()]
    info, plan, result = await simulate(
        context,
        down=ids,
        at=at,
        minutes=minutes,
        replications=replications,
        seed=seed,
        callbacks=[],
        uncovered=uncovered,
    )
    zone = plan.organisation.timezone
    now = context.clock.now()
    written = now.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")
    page = render_html(result, Labels.of(plan), plan_source=f"plan version {info.id}", generated=written)
    name = f"impact-{'-'.join(result.scenario.down)}-{at.replace(':', '')}-{minutes}min.html"
    disposition = f'inline; filename="{_safe(name)}"'
    return HTMLResponse(page, headers={"Content-Disposition": disposition, **REPORT_CSP})


async def simulate_request(
    context: WebContext, body: ImpactRequest
) -> tuple[PlanVersionInfo, Plan, ImpactResult]:
    """The scenario of a request, as POST /api/v1/impact runs it (and the /impact page)."""
    return await simulate(
        context,
        down=body.down,
        at=body.at,
        minutes=body.minutes,
        replications=body.replications,
        seed=body.seed,
        callbacks=[(c.due_at, c.queue, c.vulnerable) for c in body.callbacks],
        uncovered=body.uncovered,
    )


async def simulate(
    context: WebContext,
    *,
    down: Sequence[str],
    at: str,
    minutes: int,
    replications: int,
    seed: int,
    callbacks: Sequence[tuple[str, str, bool]],
    uncovered: bool,
) -> tuple[PlanVersionInfo, Plan, ImpactResult]:
    """The scenario against the plan in force, in a worker thread; HTTPException 422 or 503 when refused."""
    info, plan, ready = await anyio.to_thread.run_sync(_plan_and_readiness, context)
    if not down:
        raise HTTPException(422, "down: name at least one component id")
    try:
        start = parse_clock(at)
    except ValueError as exc:
        raise HTTPException(422, f"at: {exc}") from None
    scenario = Scenario(
        down=tuple(dict.fromkeys(down)), at=start, minutes=minutes, home_ready=tuple(sorted(ready.items()))
    )
    scheduled: list[ScheduledCallback] = []
    for index, (due_at, queue, vulnerable) in enumerate(callbacks):
        try:
            due = due_minute(due_at, plan.organisation.timezone)
        except ValueError as exc:
            raise HTTPException(422, f"callbacks[{index}].due_at: {exc}") from None
        scheduled.append(ScheduledCallback(due=due, queue=queue, vulnerable=vulnerable))
    if not _RUNS.acquire(blocking=False):
        raise HTTPException(503, _BUSY, headers={"Retry-After": RETRY_AFTER_S})
    try:
        # Cancelling the request does not abandon the thread: the slot is freed when it ends.
        result = await anyio.to_thread.run_sync(
            _run, plan, scenario, tuple(scheduled), replications, seed, uncovered
        )
    except ScenarioInvalid as exc:
        # The checks speak the command line's words (--down); here the fields are plain names.
        raise HTTPException(422, _CLI_OPTION.sub(r"\1", str(exc))) from None
    finally:
        _RUNS.release()
    return info, plan, result


def _plan_and_readiness(context: WebContext) -> tuple[PlanVersionInfo, Plan, dict[str, int]]:
    """The plan in force, and agents ready to work from home by team (teams with recent checks)."""
    with unit_of_work(context.session_factory) as session:
        found = current_plan(session)
        if found is None:
            raise NotFound(NO_PLAN)
        ready = ready_by_team(session, plan=found[1], now=context.clock.now())
    return found[0], found[1], ready


def _run(
    plan: Plan,
    scenario: Scenario,
    callbacks: tuple[ScheduledCallback, ...],
    replications: int,
    seed: int,
    uncovered: bool = False,
) -> ImpactResult:
    # Imported when first used: the simulation's modules are not needed to serve anything else.
    from standby.impact.scenario import check_covered, check_scenario
    from standby.impact.simulation import run_impact

    check_scenario(plan, scenario, callbacks)
    if not uncovered:
        check_covered(plan, scenario)
    return run_impact(plan, scenario, replications=replications, seed=seed, callbacks=callbacks, workers=1)


def _safe(name: str) -> str:
    """A file name for Content-Disposition: ids and digits only, whatever was asked."""
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in name)[:120]
