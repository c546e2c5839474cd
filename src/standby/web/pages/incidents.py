"""GET /incidents/{id}: the incident room, where one outage is worked from one screen.

Each button is a plain form POST to a route here that calls the same service as the API
(respond.incident_service, continuity_service, oncall_service, notify.outbox), then
redirects back to the room (POST/redirect/GET). What the service refuses is shown in the
room with its reason (400 or 409); what the role may not do is refused (403) whatever the
form says, by the same permission checks as the API. The cookie's cross-site check
(web.auth) guards every POST.

GET /incidents/{id}/mark is what the room's script (static/room.js) watches to know when
to reload: the newest timeline entry and the incident's message counts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from standby.access.service import Principal
from standby.errors import InvalidInput
from standby.forecast.service import set_estimate
from standby.notify.outbox_desk import get_message, retry_parked
from standby.plan.schema import Plan
from standby.plan.topology import Topology
from standby.plan.versions import current_plan
from standby.respond.continuity_service import approve, complete, decline, tick
from standby.respond.incident_service import add_note, assign, get_incident, transition
from standby.respond.oncall_service import acknowledge_page
from standby.respond.severity_service import change_severity
from standby.respond.timeline import FILTERS
from standby.respond.update_service import send_update
from standby.store.engine import unit_of_work
from standby.store.tables import PageRow
from standby.web.auth import AcknowledgePages, ManageIncidents, ManageNotifications, ReadOutages
from standby.web.context import Context, WebContext
from standby.web.pages.centre_clock import clock_for, plan_needed
from standby.web.pages.incident_room import needs_reason, room_mark, room_model
from standby.web.pages.refusals import NO_STORE, Refusal, page_response, run_form

router = APIRouter(include_in_schema=False)

IncidentId = Annotated[int, Path(ge=1, le=2**31 - 1)]
StrategyId = Annotated[str, Path(max_length=100)]


@router.get("/incidents/{incident_id}")
def room(
    incident_id: IncidentId,
    request: Request,
    principal: ReadOutages,
    context: Context,
    show: Annotated[str, Query(max_length=20)] = "all",
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Response:
    """The incident room: header, what is down, strategies, communications and the timeline."""
    if show not in FILTERS:
        raise InvalidInput(f"show: {show!r} is not a filter: use one of {', '.join(FILTERS)}")
    return _render(request, context, principal, incident_id, show=show, before=before)


@router.get("/incidents/{incident_id}/mark")
def mark(incident_id: IncidentId, principal: ReadOutages, context: Context) -> Response:
    """What the room's script compares to know the room changed (JSON; 404 for no incident)."""
    with unit_of_work(context.session_factory) as session:
        found = room_mark(session, incident_id)
    return JSONResponse({"mark": found.text()}, headers=NO_STORE)


@router.post("/incidents/{incident_id}/acknowledge")
def acknowledge(
    incident_id: IncidentId, request: Request, principal: AcknowledgePages, context: Context
) -> Response:
    """Acknowledge: the newest page waiting, as the API's page acknowledgement; else move it on."""

    def act(plan: Plan | None, _topology: Topology | None) -> None:
        now = context.clock.now()
        with unit_of_work(context.session_factory) as session:
            get_incident(session, incident_id)
            page_id = session.scalar(
                select(PageRow.id)
                .where(PageRow.incident_id == incident_id, PageRow.acknowledged_at.is_(None))
                .order_by(PageRow.id.desc())
                .limit(1)
            )
            if page_id is not None:
                acknowledge_page(session, page_id=page_id, by=principal.signed, now=now, plan=plan)
            else:  # nobody was paged (no policy, or declared while quiet): acknowledging is the step
                transition(session, incident_id=incident_id, to="acknowledged", by=principal.signed, now=now)

    return _act(request, context, principal, incident_id, act, done="acknowledged")


@router.post("/incidents/{incident_id}/roles")
def give_role(
    incident_id: IncidentId,
    request: Request,
    principal: ManageIncidents,
    context: Context,
    role: Annotated[str, Form(max_length=40)] = "",
    person: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Take command or give a role to a person of the plan."""

    def act(plan: Plan | None, _topology: Topology | None) -> None:
        known = plan_needed(plan, "roles are given to the plan's people")
        if not person:
            raise InvalidInput("person: choose who takes the role")
        with unit_of_work(context.session_factory) as session:
            assign(
                session,
                incident_id=incident_id,
                role=role,
                person=person,
                by=principal.signed,
                now=context.clock.now(),
                plan=known,
            )

    return _act(request, context, principal, incident_id, act, done="role")


@router.post("/incidents/{incident_id}/state")
def move(
    incident_id: IncidentId,
    request: Request,
    principal: ManageIncidents,
    context: Context,
    to: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Move the incident to another step; resolving and reopening need a reason."""

    def act(_plan: Plan | None, _topology: Topology | None) -> None:
        with unit_of_work(context.session_factory) as session:
            current = get_incident(session, incident_id)
            if needs_reason(current.state, to) and not reason.strip():
                word = "reopen" if current.state == "resolved" else f"move it to {to}"
                raise InvalidInput(f"reason: say why you {word}; it goes on the timeline")
            transition(
                session,
                incident_id=incident_id,
                to=to,
                by=principal.signed,
                now=context.clock.now(),
                note=reason or None,
            )

    return _act(request, context, principal, incident_id, act, done="moved")


@router.post("/incidents/{incident_id}/severity")
def severity(
    incident_id: IncidentId,
    request: Request,
    principal: ManageIncidents,
    context: Context,
    level: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Change the severity; the reason is required and goes on the timeline."""

    def act(_plan: Plan | None, _topology: Topology | None) -> None:
        with unit_of_work(context.session_factory) as session:
            change_severity(
                session,
                incident_id=incident_id,
                severity=level,
                reason=reason,
                by=principal.signed,
                now=context.clock.now(),
            )

    return _act(request, context, principal, incident_id, act, done="severity")


@router.post("/incidents/{incident_id}/estimate")
def estimate(
    incident_id: IncidentId,
    request: Request,
    principal: ManageIncidents,
    context: Context,
    minutes: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """The commander's estimate of the minutes the outage still lasts; the next forecast weighs it."""

    def act(_plan: Plan | None, _topology: Topology | None) -> None:
        if not minutes.strip().isdigit():
            raise InvalidInput(f"minutes: a whole number of minutes from now, such as 45; got {minutes!r}")
        with unit_of_work(context.session_factory) as session:
            by, now = principal.signed, context.clock.now()
            set_estimate(session, incident_id=incident_id, minutes=int(minutes), by=by, now=now)

    return _act(request, context, principal, incident_id, act, done="estimate", anchor="forecast")


@router.post("/incidents/{incident_id}/notes")
def note(
    incident_id: IncidentId,
    request: Request,
    principal: ManageIncidents,
    context: Context,
    text: Annotated[str, Form(max_length=8000)] = "",
    at: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Add a note, at a time in the past if given (the plan's local time, to the minute)."""

    def act(plan: Plan | None, _topology: Topology | None) -> None:
        now = context.clock.now()
        when = _local_time(at, plan, now) if at.strip() else None
        with unit_of_work(context.session_factory) as session:
            add_note(session, incident_id=incident_id, text=text, by=principal.signed, now=now, at=when)

    return _act(request, context, principal, incident_id, act, done="noted", anchor="timeline")


@router.post("/incidents/{incident_id}/updates/{group_id}")
def send(
    incident_id: IncidentId,
    group_id: Annotated[str, Path(max_length=100)],
    request: Request,
    principal: ManageIncidents,
    context: Context,
    key: Annotated[str, Form(max_length=100)] = "",
    email_subject: Annotated[str, Form(max_length=500)] = "",
    email_body: Annotated[str, Form(max_length=20_000)] = "",
    sms_body: Annotated[str, Form(max_length=2_000)] = "",
) -> Response:
    """Send the group's update as edited; sent once however often the form is posted (its key)."""

    def act(plan: Plan | None, _topology: Topology | None) -> None:
        known = plan_needed(plan, "updates go to the plan's stakeholder groups")
        with unit_of_work(context.session_factory) as session:
            send_update(
                session,
                plan=known,
                incident_id=incident_id,
                group_id=group_id,
                texts={"email": (email_subject, email_body), "sms": (None, sms_body)},
                request_key=key,
                by=principal.signed,
                now=context.clock.now(),
            )

    return _act(request, context, principal, incident_id, act, done="update", anchor="communications")


@router.post("/incidents/{incident_id}/strategies/{strategy_id}/{decision}")
def decide(
    incident_id: IncidentId,
    strategy_id: StrategyId,
    decision: Literal["approve", "decline", "complete"],
    request: Request,
    principal: ManageIncidents,
    context: Context,
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Approve (run) or decline a proposed strategy, or mark a running one done."""

    def act(plan: Plan | None, topology: Topology | None) -> None:
        now, by = context.clock.now(), principal.signed
        with unit_of_work(context.session_factory) as session:
            if decision == "approve":
                approve(
                    session,
                    plan=plan_needed(plan, "a strategy runs from the plan"),
                    incident_id=incident_id,
                    strategy_id=strategy_id,
                    by=by,
                    now=now,
                    topology=topology,
                )
            elif decision == "complete":
                complete(
                    session,
                    incident_id=incident_id,
                    strategy_id=strategy_id,
                    by=by,
                    now=now,
                    plan=plan,
                    topology=topology,
                )
            else:
                decline(
                    session,
                    incident_id=incident_id,
                    strategy_id=strategy_id,
                    by=by,
                    now=now,
                    plan=plan,
                    reason=reason.strip() or None,
                    topology=topology,
                )

    return _act(request, context, principal, incident_id, act, done=decision, anchor="strategies")


@router.post("/incidents/{incident_id}/strategies/{strategy_id}/steps/{index}")
def tick_step(
    incident_id: IncidentId,
    strategy_id: StrategyId,
    index: Annotated[int, Path(ge=0, le=10_000)],
    request: Request,
    principal: ManageIncidents,
    context: Context,
    done: Annotated[str, Form(max_length=5)] = "1",
) -> Response:
    """Tick a runbook step off (done=1) or untick it (done=0)."""

    def act(plan: Plan | None, topology: Topology | None) -> None:
        with unit_of_work(context.session_factory) as session:
            tick(
                session,
                incident_id=incident_id,
                strategy_id=strategy_id,
                step_index=index,
                by=principal.signed,
                now=context.clock.now(),
                done=done != "0",
                plan=plan,
                topology=topology,
            )

    return _act(request, context, principal, incident_id, act, done="ticked", anchor="strategies")


@router.post("/incidents/{incident_id}/messages/{message_id}/retry")
def retry(
    incident_id: IncidentId,
    message_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    request: Request,
    principal: ManageNotifications,
    context: Context,
) -> Response:
    """Send a parked message of this incident again, as the API's retry."""

    def act(_plan: Plan | None, _topology: Topology | None) -> None:
        with unit_of_work(context.session_factory) as session:
            get_incident(session, incident_id)
            message = get_message(session, message_id)
            if message.incident_id != incident_id:
                raise InvalidInput(f"message {message_id} is not one of incident {incident_id}'s")
            retry_parked(session, message_id=message_id, now=context.clock.now(), by=principal.name)

    return _act(request, context, principal, incident_id, act, done="retried", anchor="communications")


# --- how every action runs ------------------------------------------------------------------


def _plan(context: WebContext) -> tuple[Plan | None, Topology | None]:
    with unit_of_work(context.session_factory) as session:
        found = current_plan(session)
    if found is None:
        return None, None
    info, plan = found
    return plan, context.topologies.get(info.sha256, plan)


def _act(
    request: Request,
    context: WebContext,
    principal: Principal,
    incident_id: int,
    act: Callable[[Plan | None, Topology | None], None],
    *,
    done: str,
    anchor: str = "top",
) -> Response:
    """Run the action; back to the room on success, the room with the reason when refused."""
    plan, topology = _plan(context)

    def refused(why: Refusal) -> Response:
        if why.status == 404:
            with unit_of_work(context.session_factory) as session:
                get_incident(session, incident_id)  # no incident: the 404 page
        return _render(request, context, principal, incident_id, refused=why)

    query = urlencode({"done": done})
    return run_form(
        lambda: act(plan, topology),
        refused=refused,
        then=lambda: f"/incidents/{incident_id}?{query}#{anchor}",
    )


act_in_room = _act
"""For the room's actions defined in other modules (incident_public_update.py)."""

DONE = {
    "acknowledged": "Acknowledged: paging stops.",
    "role": "Role given.",
    "moved": "The incident moved on.",
    "noted": "Note added to the timeline.",
    "severity": "Severity changed.",
    "estimate": "Estimate kept: a new forecast weighs it within seconds.",
    "update": "Update sent: it is on its way, and the next one is due a full interval from now.",
    "approve": "Strategy approved: it is running.",
    "decline": "Strategy declined.",
    "complete": "Strategy marked done.",
    "ticked": "Runbook step recorded.",
    "retried": "The message goes out again now.",
    "public": "Public update posted: the status page shows it, and its subscribers are told, within seconds.",
}


def _render(
    request: Request,
    context: WebContext,
    principal: Principal,
    incident_id: int,
    *,
    show: str = "all",
    before: int | None = None,
    refused: Refusal | None = None,
) -> Response:
    with unit_of_work(context.session_factory) as session:
        model = room_model(session, context, principal, incident_id, show=show, before=before)
    return page_response(request, context, "incident.html", model, refused=refused, done=DONE)


def _local_time(text: str, plan: Plan | None, now: datetime) -> datetime:
    """A time typed in the form (the plan's zone), as an aware datetime; InvalidInput when it is not one."""
    zone = clock_for(plan, now).zone
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:  # a time of day alone: today, where the centre is
            clock = datetime.strptime(value, "%H:%M").time()
        except ValueError:
            raise InvalidInput(f"at: {value[:40]!r} is not a time: use HH:MM or YYYY-MM-DDTHH:MM") from None
        parsed = datetime.combine(now.astimezone(zone).date(), clock)
    return parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed
