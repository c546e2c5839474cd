"""/api/v1/exercises: the exercise programme and log; plan, start and finish an exercise.

Starting one injects its scenario into the live system: its components fail, as an
exercise, for its minutes, and the real procedure runs (pages, strategies, relocation
texts), every message marked EXERCISE; customers, the regulator, vendors and anything
published hear nothing unless the exercise names their group in `tell`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from standby.errors import Conflict
from standby.exercise.programme import programme
from standby.exercise.report import report_html, report_json, report_markdown
from standby.exercise.service import (
    ExerciseRecord,
    finish_exercise,
    finished_dates,
    get_exercise,
    list_exercises,
    plan_exercise,
    start_exercise,
)
from standby.plan.schema import Plan
from standby.plan.versions import current_plan
from standby.store.engine import unit_of_work
from standby.web.api.impact import REPORT_CSP
from standby.web.auth import ManageIncidents, ReadOutages
from standby.web.context import Context, WebContext
from standby.web.contract import Position, RowId
from standby.web.live import plan_today

router = APIRouter(prefix="/api/v1/exercises", tags=["exercises"])
NO_PLAN = "no plan has been loaded yet: an exercise takes down the plan's components; POST the plan first"


class Scenario(BaseModel):
    """What goes down, and for how long."""

    model_config = ConfigDict(extra="forbid")

    down: list[Annotated[str, Field(max_length=100)]] = Field(
        max_length=200, description="Component ids that fail as the exercise."
    )
    minutes: int = Field(ge=1, le=1440, description="How long they stay down from the start.")


class NewExercise(BaseModel):
    """An exercise to plan."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(max_length=300)
    scenario: Scenario
    objectives: list[dict[str, Any]] = Field(
        max_length=50,
        description="Typed targets: {kind: agents_ready_within, agents, minutes}, {kind: acknowledged_within,"
        " minutes}, {kind: group_told_within, group, minutes?}, {kind: tolerances_kept}.",
    )
    tell: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list,
        max_length=100,
        description="Outside or public groups (customers, regulator, vendors) told all the same.",
    )
    planned_on: date | None = Field(None, description="The day it is planned for.")


class ExerciseOut(BaseModel):
    """An exercise, its state and (once finished) its results."""

    id: int
    title: str
    planned_on: date | None
    scenario: Scenario
    objectives: list[dict[str, Any]]
    tell: list[str]
    state: Literal["planned", "running", "finished"]
    created_at: datetime
    created_by: str
    started_at: datetime | None
    started_by: str | None
    finished_at: datetime | None
    finished_by: str | None
    results: dict[str, Any] | None = Field(
        description="Each objective passed or failed with its evidence, the findings, the incident."
    )

    @classmethod
    def of(cls, record: ExerciseRecord) -> ExerciseOut:
        """The API shape of a record."""
        return cls(
            id=record.id,
            title=record.title,
            planned_on=record.planned_on,
            scenario=Scenario(down=list(record.down), minutes=record.minutes),
            objectives=list(record.objectives),
            tell=list(record.tell),
            state=record.state,
            created_at=record.created_at,
            created_by=record.created_by,
            started_at=record.started_at,
            started_by=record.started_by,
            finished_at=record.finished_at,
            finished_by=record.finished_by,
            results=record.results,
        )


class ProgrammeOut(BaseModel):
    """How often the plan is exercised; the last held and the next due."""

    every_months: int
    last_held: date | None
    next_due: date | None
    days_overdue: int


class ExerciseList(BaseModel):
    """The programme and the exercises, newest first."""

    programme: ProgrammeOut | None
    exercises: list[ExerciseOut]
    next_before: int | None = Field(description="Pass as `before` for the next page; null at the end.")


def _plan(context: WebContext) -> Plan:
    with unit_of_work(context.session_factory) as session:
        found = current_plan(session)
    if found is None:
        raise Conflict(NO_PLAN)
    return found[1]




@router.get("", summary="The exercise programme and log")
def get_exercises(
    principal: ReadOutages,
    context: Context,
    state: Annotated[Literal["planned", "running", "finished"] | None, Query()] = None,
    before: Annotated[Position, Query(description="Only exercises older than this id.")] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ExerciseList:
    """The programme (from the plan's drills and the exercises finished) and the exercises."""
    with unit_of_work(context.session_factory) as session:
        found = current_plan(session)
        records = list_exercises(session, state=state, before_id=before or None, limit=limit + 1)
        held = finished_dates(session)
    shown = records[:limit]
    plan_part = None
    if found is not None:
        plan = found[1]
        plan_part = ProgrammeOut(
            **programme(plan, held, today=plan_today(plan, context.clock.now())).__dict__
        )
    return ExerciseList(
        programme=plan_part,
        exercises=[ExerciseOut.of(r) for r in shown],
        next_before=shown[-1].id if len(records) > limit else None,
    )


@router.post("", status_code=201, summary="Plan an exercise")
def post_exercise(body: NewExercise, principal: ManageIncidents, context: Context) -> JSONResponse:
    """Record a planned exercise: its scenario, objectives and the outside groups it tells."""
    plan = _plan(context)
    with unit_of_work(context.session_factory) as session:
        record = plan_exercise(
            session,
            plan=plan,
            title=body.title,
            down=body.scenario.down,
            minutes=body.scenario.minutes,
            objectives=body.objectives,
            tell=body.tell,
            planned_on=body.planned_on,
            by=principal.signed,
            now=context.clock.now(),
        )
    return JSONResponse(
        ExerciseOut.of(record).model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/api/v1/exercises/{record.id}"},
    )


@router.get("/{exercise_id}", summary="One exercise")
def get_one(exercise_id: RowId, principal: ReadOutages, context: Context) -> ExerciseOut:
    """One exercise with its results once finished."""
    with unit_of_work(context.session_factory) as session:
        return ExerciseOut.of(get_exercise(session, exercise_id))


@router.post("/{exercise_id}/start", summary="Start an exercise")
def post_start(exercise_id: RowId, principal: ManageIncidents, context: Context) -> ExerciseOut:
    """Inject the scenario now; 409 when it is not planned or another is running."""
    plan = _plan(context)
    with unit_of_work(context.session_factory) as session:
        record = start_exercise(
            session, exercise_id=exercise_id, plan=plan, by=principal.signed, now=context.clock.now()
        )
    return ExerciseOut.of(record)


@router.post("/{exercise_id}/finish", summary="Finish an exercise")
def post_finish(exercise_id: RowId, principal: ManageIncidents, context: Context) -> ExerciseOut:
    """End the scenario now and measure each objective from Standby's records."""
    plan = _plan(context)
    with unit_of_work(context.session_factory) as session:
        record = finish_exercise(
            session, exercise_id=exercise_id, plan=plan, by=principal.signed, now=context.clock.now()
        )
    return ExerciseOut.of(record)


@router.get(
    "/{exercise_id}/report",
    summary="The post-exercise report",
    response_class=Response,
    responses={
        200: {
            "description": "The report: JSON, Markdown or a self-contained HTML page.",
            "content": {"application/json": {}, "text/markdown": {}, "text/html": {}},
        },
        409: {"description": "The exercise has not finished: no results yet."},
    },
)
def get_report(
    exercise_id: RowId,
    principal: ReadOutages,
    context: Context,
    format: Annotated[Literal["json", "md", "html"], Query(description="json, md or html.")] = "json",
) -> Response:
    """The post-exercise report: scenario, objectives passed and failed with evidence, findings."""
    with unit_of_work(context.session_factory) as session:
        record = get_exercise(session, exercise_id)
        found = current_plan(session)
    if record.results is None:
        raise Conflict(f"exercise {exercise_id} is {record.state}: the report is written when it finishes")
    zone = found[1].organisation.timezone if found is not None else "UTC"
    if format == "md":
        return Response(report_markdown(record, zone), media_type="text/markdown; charset=utf-8")
    if format == "html":
        return Response(report_html(record, zone), media_type="text/html; charset=utf-8", headers=REPORT_CSP)
    return JSONResponse(report_json(record))
