"""GET /exercises: the exercise programme and log; plan, start and finish an exercise; the
actions its findings became, assigned here. Writes are plain POSTs that call the same
services as the API (web.api.exercises, web.api.actions) and come back here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from standby.access.roles import Permission
from standby.access.service import Principal
from standby.errors import Conflict
from standby.exercise.findings_service import exercise_actions
from standby.exercise.programme import programme
from standby.exercise.service import (
    ExerciseRecord,
    finish_exercise,
    finished_dates,
    list_exercises,
    plan_exercise,
    start_exercise,
)
from standby.plan.schema import Plan
from standby.review.action_service import assign_action
from standby.review.actions import ActionRecord
from standby.store.engine import unit_of_work
from standby.web.api.exercises import NO_PLAN
from standby.web.auth import ManageIncidents, ReadOutages
from standby.web.context import Context, WebContext
from standby.web.contract import Position, RowId
from standby.web.live import plan_today
from standby.web.pages.centre_clock import clock_for, clock_now
from standby.web.pages.exercise_form import LABELS, ExerciseForm, form_of, read_form
from standby.web.pages.refusals import Refusal, page_response, refusal_of

router = APIRouter(include_in_schema=False)

PAGE = 20
DONE = {
    "planned": "The exercise is planned.",
    "started": "The exercise has started: its components fail now, as an exercise.",
    "finished": "The exercise is finished: its objectives are measured and its findings are actions.",
    "assigned": "The action is assigned.",
}
State = Literal["planned", "running", "finished"]


@dataclass(frozen=True)
class ExerciseItem:
    """An exercise as the log shows it."""

    record: ExerciseRecord
    down: str
    planned_on: str
    started: str
    finished: str
    actions: list[ActionRecord]


def _plan(context: WebContext) -> Plan:
    plan = clock_now(context).plan
    if plan is None:
        raise Conflict(NO_PLAN)
    return plan


@router.get("/exercises")
def exercises_page(
    request: Request,
    principal: ReadOutages,
    context: Context,
    state: Annotated[State | None, Query()] = None,
    before: Annotated[Position, Query()] = 0,
) -> Response:
    """The programme, the form to plan an exercise, and the log, newest first."""
    return _render(request, context, principal, state=state, before=before)


@router.post("/exercises")
def plan_one(
    request: Request,
    principal: ManageIncidents,
    context: Context,
    title: Annotated[str, Form(max_length=300)] = "",
    planned_on: Annotated[str, Form(max_length=20)] = "",
    down: Annotated[list[str] | None, Form(max_length=100)] = None,
    minutes: Annotated[str, Form(max_length=10)] = "",
    tell: Annotated[list[str] | None, Form(max_length=100)] = None,
    kind: Annotated[list[str] | None, Form(max_length=40)] = None,
    agents: Annotated[list[str] | None, Form(max_length=10)] = None,
    row_minutes: Annotated[list[str] | None, Form(max_length=10)] = None,
    group: Annotated[list[str] | None, Form(max_length=100)] = None,
) -> Response:
    """Plan an exercise from the form; the reason beside the form when it is refused."""
    typed = form_of(
        title=title, planned_on=planned_on, down=down or [], minutes=minutes, tell=tell or [],
        kinds=kind or [], agents=agents or [], row_minutes=row_minutes or [], groups=group or [],
    )  # fmt: skip

    def act() -> None:
        plan = _plan(context)
        fields = read_form(typed)
        with unit_of_work(context.session_factory) as session:
            plan_exercise(session, plan=plan, by=principal.signed, now=context.clock.now(), **fields)

    return _after(request, context, principal, refusal_of(act), "planned", form=typed)


@router.post("/exercises/{exercise_id:int}/{step}")
def start_or_finish(
    exercise_id: RowId,
    step: Literal["start", "finish"],
    request: Request,
    principal: ManageIncidents,
    context: Context,
) -> Response:
    """Start the exercise now (its scenario injected) or finish it (objectives measured, findings
    become actions)."""
    service = start_exercise if step == "start" else finish_exercise

    def act() -> None:
        plan = _plan(context)
        with unit_of_work(context.session_factory) as session:
            service(session, exercise_id=exercise_id, plan=plan, by=principal.signed, now=context.clock.now())

    return _after(request, context, principal, refusal_of(act), "started" if step == "start" else "finished")


@router.post("/exercises/actions/{action_id}/assign")
def assign(
    action_id: RowId,
    request: Request,
    principal: ManageIncidents,
    context: Context,
    owner: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Give an action a finding became its owner, a person of the plan."""

    def act() -> None:
        plan = _plan(context)
        with unit_of_work(context.session_factory) as session:
            assign_action(session, action_id=action_id, owner=owner, plan=plan, now=context.clock.now())

    return _after(request, context, principal, refusal_of(act), "assigned")


def _after(
    request: Request,
    context: WebContext,
    principal: Principal,
    refused: Refusal | None,
    done: str,
    *,
    form: ExerciseForm | None = None,
) -> Response:
    if refused is not None:
        return _render(request, context, principal, refused=refused, form=form)
    return RedirectResponse(f"/exercises?{urlencode({'done': done})}", status_code=303)


def _render(
    request: Request,
    context: WebContext,
    principal: Principal,
    *,
    state: State | None = None,
    before: int = 0,
    refused: Refusal | None = None,
    form: ExerciseForm | None = None,
) -> Response:
    plan = clock_now(context).plan
    clock = clock_for(plan, context.clock.now())
    now = context.clock.now()
    with unit_of_work(context.session_factory) as session:
        records = list_exercises(session, state=state, before_id=before or None, limit=PAGE + 1)
        held = finished_dates(session)
        actions = {r.id: exercise_actions(session, exercise_id=r.id, now=now) for r in records[:PAGE]}
    names = plan.components_by_id if plan is not None else {}
    items = [
        ExerciseItem(
            record=r,
            down=", ".join(names[c].name if c in names else c for c in r.down),
            planned_on=r.planned_on.isoformat() if r.planned_on else "",
            started=clock.when(r.started_at),
            finished=clock.when(r.finished_at),
            actions=actions[r.id],
        )
        for r in records[:PAGE]
    ]
    model: dict[str, Any] = {
        "principal": principal,
        "organisation": plan.organisation.name if plan is not None else "",
        "has_plan": plan is not None,
        "programme": programme(plan, held, today=plan_today(plan, now)) if plan is not None else None,
        "items": items,
        "state": state or "",
        "next_before": records[PAGE - 1].id if len(records) > PAGE else None,
        "can_manage": principal.can(Permission.MANAGE_INCIDENTS),
        "can_read_plan": principal.can(Permission.READ_PLAN),
        "can_manage_agents": principal.can(Permission.MANAGE_AGENTS),
        "components": [(c.id, c.name) for c in plan.components] if plan is not None else [],
        "groups": [(g.id, g.kind) for g in plan.stakeholders] if plan is not None else [],
        "people": [(p.id, p.name) for p in plan.people] if plan is not None else [],
        "kinds": LABELS,
        "form": form or ExerciseForm(),
        "local": lambda at: clock.when(at),
        "timezone": clock.zone.key,
    }
    return page_response(request, context, "exercises.html", model, refused=refused, done=DONE)
