"""/api/v1/actions: what reviews (and exercises) set to be done, by whom and by when; closed with a note."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from standby.errors import Conflict
from standby.plan.schema import Plan
from standby.plan.versions import current_plan
from standby.review.action_service import (
    assign_action,
    close_action,
    create_action,
    get_action,
    list_actions,
)
from standby.review.actions import KINDS, ActionRecord, due_time
from standby.store.engine import unit_of_work
from standby.web.auth import ManageIncidents, ReadOutages
from standby.web.context import Context, WebContext
from standby.web.contract import RowId

router = APIRouter(prefix="/api/v1/actions", tags=["actions"])


class ActionIn(BaseModel):
    """An action to set: what, who, by when, what kind, about which parts of the plan, and from where."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=2000, description="What is to be done.")
    owner: str = Field(max_length=100, description="A person id of the plan: they are reminded when overdue.")
    due: str = Field(
        max_length=40,
        description="A date (due by the end of that day in the plan's time zone) or a time with an offset.",
    )
    kind: Literal["prevent", "detect", "mitigate", "process"]
    links: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=50, description="Parts of the plan: component:ID or vendor:ID."
    )
    incident_id: RowId | None = Field(None, description="The incident whose review set it.")
    source: str | None = Field(
        None, max_length=200, description="Where it came from when not an incident (an exercise)."
    )


class Closing(BaseModel):
    """How an action closes: a note saying what was done."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=4000)


class Assigning(BaseModel):
    """Who owns an action from now on."""

    model_config = ConfigDict(extra="forbid")

    owner: str = Field(min_length=1, max_length=100, description="A person id of the plan.")


class ActionOut(BaseModel):
    """An action, with whether it is overdue now."""

    id: int
    incident_id: int | None
    source: str | None
    title: str
    owner: str
    due_at: datetime
    kind: str = Field(description=", ".join(KINDS))
    links: list[str]
    state: str = Field(description="open or closed.")
    overdue: bool
    created_at: datetime
    created_by: str
    closed_at: datetime | None
    closed_by: str | None
    close_note: str | None


class ActionList(BaseModel):
    """Actions, newest first."""

    actions: list[ActionOut]


def action_out(record: ActionRecord) -> ActionOut:
    """The API shape of an action."""
    return ActionOut(**{**vars(record), "links": list(record.links)})


def _plan(context: WebContext) -> Plan:
    with unit_of_work(context.session_factory) as session:
        found = current_plan(session)
    if found is None:
        raise Conflict("no plan has been loaded yet: an action's owner is a person of the plan")
    return found[1]


@router.get("", summary="Actions")
def actions(
    principal: ReadOutages,
    context: Context,
    state: Annotated[Literal["open", "closed"] | None, Query(description="open or closed.")] = None,
    overdue: Annotated[bool, Query(description="Only open actions past their due time.")] = False,
    owner: Annotated[str | None, Query(max_length=100, description="A person id.")] = None,
    incident: Annotated[RowId | None, Query(description="Only those an incident's review set.")] = None,
    source: Annotated[
        str | None, Query(max_length=200, description="Only those from this source (exercise:ID).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[RowId | None, Query(description="Only actions with a lower id (paging).")] = None,
) -> ActionList:
    """Actions, newest first, filtered by state, overdue, owner, incident and source."""
    with unit_of_work(context.session_factory) as session:
        found = list_actions(
            session, now=context.clock.now(), state=state, overdue=overdue, owner=owner,
            incident_id=incident, source=source, before_id=before, limit=limit,
        )  # fmt: skip
    return ActionList(actions=[action_out(a) for a in found])


@router.post("", summary="Set an action", status_code=201, response_model=ActionOut)
def post_action(body: ActionIn, principal: ManageIncidents, context: Context) -> JSONResponse:
    """Set an action (400 naming a bad field: unknown owner, link or due time; 404 for no such incident)."""
    plan = _plan(context)
    due_at = due_time(body.due, plan.organisation.timezone)
    with unit_of_work(context.session_factory) as session:
        record = create_action(
            session, plan=plan, title=body.title, owner=body.owner, due_at=due_at, kind=body.kind,
            links=body.links, incident_id=body.incident_id, source=body.source, by=principal.signed,
            now=context.clock.now(),
        )  # fmt: skip
    return JSONResponse(
        action_out(record).model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/api/v1/actions/{record.id}"},
    )


@router.get("/{action_id}", summary="One action", responses={404: {"description": "No such action."}})
def action(action_id: RowId, principal: ReadOutages, context: Context) -> ActionOut:
    """One action."""
    with unit_of_work(context.session_factory) as session:
        return action_out(get_action(session, action_id, now=context.clock.now()))


@router.post(
    "/{action_id}/close",
    summary="Close an action",
    responses={404: {"description": "No such action."}, 409: {"description": "Closed already."}},
)
def close(action_id: RowId, body: Closing, principal: ManageIncidents, context: Context) -> ActionOut:
    """Close an action with a note saying what was done."""
    with unit_of_work(context.session_factory) as session:
        return action_out(
            close_action(
                session, action_id=action_id, note=body.note, by=principal.signed, now=context.clock.now()
            )
        )


@router.post(
    "/{action_id}/assign",
    summary="Assign an action",
    responses={404: {"description": "No such action."}, 409: {"description": "Closed already."}},
)
def assign(action_id: RowId, body: Assigning, principal: ManageIncidents, context: Context) -> ActionOut:
    """Give an action its owner (an exercise's finding nobody of the plan ran starts unassigned)."""
    plan = _plan(context)
    with unit_of_work(context.session_factory) as session:
        return action_out(
            assign_action(session, action_id=action_id, owner=body.owner, plan=plan, now=context.clock.now())
        )
