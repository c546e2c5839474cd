"""/api/v1/incidents: incidents with their timeline; declared, moved on, assigned, noted."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from standby.errors import Conflict
from standby.plan.schema import Plan
from standby.plan.versions import current_plan
from standby.respond.deadline_service import DeadlineView, deadlines_of
from standby.respond.incident_service import (
    IncidentRecord,
    add_note,
    assign,
    declare,
    get_incident,
    list_incidents,
    transition,
)
from standby.respond.severity_service import change_severity
from standby.respond.timeline import Entry, entries
from standby.store.engine import unit_of_work
from standby.web.auth import ManageIncidents, ReadOutages
from standby.web.context import Context, WebContext
from standby.web.contract import RowId

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


class TimingsOut(BaseModel):
    """Time to detect (from the outage's start), acknowledge and resolve, in seconds."""

    to_detect_s: float | None
    to_acknowledge_s: float | None
    to_resolve_s: float | None


class DeadlineOut(BaseModel):
    """A stakeholder group's deadline (told within N minutes), by the outbox's deliveries."""

    group: str
    due_by: datetime
    state: Literal["met", "at_risk", "missed"] = Field(
        description="met: a message delivered in time; at_risk: nothing delivered yet, the deadline"
        " not passed; missed: the deadline passed without a delivery (or the delivery came after it)."
    )
    cause: str = Field(
        description="delivered, late, not_told, queued, retrying, parked, cancelled or nothing_sent."
    )
    reason: str
    at: datetime | None = Field(
        description="met or told late: when the channel confirmed the delivery; missed: the deadline."
    )
    message_id: int | None = Field(description="The outbox message that is the evidence.")


class IncidentOut(BaseModel):
    """An incident: its step, severity, roles, timings and deadlines."""

    id: int
    outage_id: int | None
    title: str
    state: str
    open: bool
    severity: int
    severity_text: str
    classification: str
    commander: str | None
    communications_lead: str | None
    technical_lead: str | None
    declared_by: str | None
    exercise_id: int | None  # the exercise that opened it; null for a real incident
    escalation_policy: str | None
    escalation_level: int
    escalation_round: int
    next_escalation_at: datetime | None
    detected_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    reviewed_at: datetime | None
    updated_at: datetime
    timings: TimingsOut = Field(
        description="Seconds; to_acknowledge_s is null while nobody acknowledged (an outage that ended"
        " by itself stops the paging but acknowledges nothing)."
    )
    deadlines: list[DeadlineOut] = Field(
        default_factory=list, description="The stakeholder groups' deadlines, as they stand now."
    )


class EntryOut(BaseModel):
    """One timeline entry: when, what kind, who, what."""

    id: int
    at: datetime
    kind: str
    actor: str
    text: str
    data: dict[str, Any]


class IncidentList(BaseModel):
    """Incidents, newest first."""

    incidents: list[IncidentOut]


class IncidentDetail(IncidentOut):
    """One incident with its whole timeline, oldest first."""

    timeline: list[EntryOut]


class Declaration(BaseModel):
    """An incident declared by hand."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=500, description="What is wrong, in a few words.")
    classification: Literal["total", "partial", "degraded"] = "partial"
    queues: list[str] = Field(default_factory=list, max_length=100, description="Queue ids it hits.")


class Move(BaseModel):
    """Move the incident to another step."""

    model_config = ConfigDict(extra="forbid")

    state: str = Field(
        description="detected, acknowledged, diagnosing, recovering, verifying, resolved, reviewed."
    )
    note: str | None = Field(None, max_length=4000)


class Assignment(BaseModel):
    """Give a person of the plan a role on the incident."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["commander", "communications_lead", "technical_lead"]
    person: str = Field(description="A person id of the plan.")


class Note(BaseModel):
    """A note on the timeline."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4000)


class SeverityChange(BaseModel):
    """A new severity for the incident, and why."""

    model_config = ConfigDict(extra="forbid")

    severity: int | str = Field(description="1 to 4, or SEV1 to SEV4 (1 is critical).")
    reason: str = Field(max_length=1000, description="Why it changes; it goes on the timeline.")


def incident_out(record: IncidentRecord, deadlines: Sequence[DeadlineView] = ()) -> IncidentOut:
    """The API shape of an incident, with its deadlines."""
    return IncidentOut(
        id=record.id,
        outage_id=record.outage_id,
        title=record.title,
        state=record.state,
        open=record.open,
        severity=record.severity,
        severity_text=record.severity_text,
        classification=record.classification,
        commander=record.commander,
        communications_lead=record.communications_lead,
        technical_lead=record.technical_lead,
        declared_by=record.declared_by,
        exercise_id=record.exercise_id,
        escalation_policy=record.policy_id,
        escalation_level=record.escalation_level,
        escalation_round=record.escalation_round,
        next_escalation_at=record.next_escalation_at,
        detected_at=record.detected_at,
        acknowledged_at=record.acknowledged_at,
        resolved_at=record.resolved_at,
        reviewed_at=record.reviewed_at,
        updated_at=record.updated_at,
        timings=TimingsOut(**vars(record.timings)),
        deadlines=[DeadlineOut(**vars(d)) for d in deadlines],
    )


def entry_out(entry: Entry) -> EntryOut:
    """The API shape of a timeline entry."""
    return EntryOut(
        id=entry.id, at=entry.at, kind=entry.kind, actor=entry.actor, text=entry.text, data=entry.data
    )


def _plan(context: WebContext) -> Plan:
    with unit_of_work(context.session_factory) as session:
        found = current_plan(session)
    if found is None:
        raise Conflict("no plan has been loaded yet: POST the plan to /api/v1/plan first")
    return found[1]


def _detail(context: WebContext, incident_id: int) -> IncidentDetail:
    with unit_of_work(context.session_factory) as session:
        record = get_incident(session, incident_id)
        timeline = entries(session, incident_id)
        deadlines = deadlines_of(session, [incident_id], context.clock.now()).get(incident_id, [])
    return IncidentDetail(
        **incident_out(record, deadlines).model_dump(), timeline=[entry_out(e) for e in timeline]
    )




@router.get("", summary="Incidents")
def incidents(
    principal: ReadOutages,
    context: Context,
    open: Annotated[bool, Query(description="Only incidents not yet resolved.")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[RowId | None, Query(description="Only incidents with a lower id (paging).")] = None,
) -> IncidentList:
    """Incidents, newest first, with their step, severity, roles and timings."""
    with unit_of_work(context.session_factory) as session:
        records = list_incidents(session, open_only=open, limit=limit, before_id=before)
        deadlines = deadlines_of(session, [r.id for r in records], context.clock.now())
    return IncidentList(incidents=[incident_out(r, deadlines.get(r.id, ())) for r in records])


@router.post("", summary="Declare an incident", status_code=201, response_model=IncidentDetail)
def declare_incident(body: Declaration, principal: ManageIncidents, context: Context) -> JSONResponse:
    """Declare an incident that no probe saw; it is paged and communicated like any other."""
    plan = _plan(context)
    with unit_of_work(context.session_factory) as session:
        record = declare(
            session,
            title=body.title,
            classification=body.classification,
            plan=plan,
            by=principal.signed,
            now=context.clock.now(),
            queues=body.queues,
        )
    detail = _detail(context, record.id)
    return JSONResponse(
        detail.model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/api/v1/incidents/{record.id}"},
    )


@router.get(
    "/{incident_id}",
    summary="One incident with its timeline",
    responses={404: {"description": "No such incident."}},
)
def incident(incident_id: RowId, principal: ReadOutages, context: Context) -> IncidentDetail:
    """One incident and every change, message, action and note on its timeline, with who and when."""
    return _detail(context, incident_id)


@router.post(
    "/{incident_id}/state",
    summary="Move an incident on",
    responses={404: {"description": "No such incident."}},
)
def move(incident_id: RowId, body: Move, principal: ManageIncidents, context: Context) -> IncidentDetail:
    """Move the incident to another step (acknowledging it stops the paging)."""
    with unit_of_work(context.session_factory) as session:
        transition(
            session,
            incident_id=incident_id,
            to=body.state,
            by=principal.signed,
            now=context.clock.now(),
            note=body.note,
        )
    return _detail(context, incident_id)


@router.post(
    "/{incident_id}/roles", summary="Assign a role", responses={404: {"description": "No such incident."}}
)
def give_role(
    incident_id: RowId, body: Assignment, principal: ManageIncidents, context: Context
) -> IncidentDetail:
    """Make a person of the plan the commander, communications lead or technical lead."""
    plan = _plan(context)
    with unit_of_work(context.session_factory) as session:
        assign(
            session,
            incident_id=incident_id,
            role=body.role,
            person=body.person,
            by=principal.signed,
            now=context.clock.now(),
            plan=plan,
        )
    return _detail(context, incident_id)


@router.post(
    "/{incident_id}/notes", summary="Add a note", responses={404: {"description": "No such incident."}}
)
def note(incident_id: RowId, body: Note, principal: ManageIncidents, context: Context) -> IncidentDetail:
    """Add a note to the timeline."""
    with unit_of_work(context.session_factory) as session:
        add_note(
            session, incident_id=incident_id, text=body.text, by=principal.signed, now=context.clock.now()
        )
    return _detail(context, incident_id)


@router.post(
    "/{incident_id}/severity",
    summary="Change the severity",
    responses={404: {"description": "No such incident."}},
)
def severity(
    incident_id: RowId, body: SeverityChange, principal: ManageIncidents, context: Context
) -> IncidentDetail:
    """Change the severity with a reason (400: unknown severity or no reason; 409: the incident is closed)."""
    with unit_of_work(context.session_factory) as session:
        change_severity(
            session,
            incident_id=incident_id,
            severity=body.severity,
            reason=body.reason,
            by=principal.signed,
            now=context.clock.now(),
        )
    return _detail(context, incident_id)
