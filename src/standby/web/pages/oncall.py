"""GET /oncall: who holds each rotation's pager now, who is next and when, and the overrides.

The page reads what GET /api/v1/oncall and GET /api/v1/oncall/{rotation} read, from the
same service (respond.oncall_service), in the plan's time zone. Staff numbers and
addresses are shown only to roles that may read the plan, as the API does. Roles that may
manage on call get a form to arrange an override and a button to cancel one, plain POSTs
to the routes here that call the service's add_override and cancel_override; the server
refuses them (403) to other roles whatever the form says. A refusal (an unknown person,
an override that ends before it starts or has already ended) is shown above the form,
with what was typed kept.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import Response

from standby.access.roles import Permission
from standby.access.service import Principal
from standby.respond.oncall import Shift
from standby.respond.oncall_service import (
    MAX_REASON,
    add_override,
    cancel_override,
    list_overrides,
    rotation_of,
    who_is_on_call,
)
from standby.store.engine import unit_of_work
from standby.web.api.oncall import calendar_url
from standby.web.auth import ManageOncall, ReadOutages
from standby.web.context import Context, WebContext
from standby.web.pages.centre_clock import CentreClock, clock_now, form_time, plan_needed
from standby.web.pages.refusals import Refusal, page_response, run_form

router = APIRouter(include_in_schema=False)

RotationId = Annotated[str, Path(max_length=100)]
OverrideId = Annotated[int, Path(ge=1, le=2**31 - 1)]
# The form's own limits are loose on purpose: the service's limits, and its reasons, are
# what the page shows (a FastAPI 422 would lose the form).
TEXT = 20_000
FIELDS = ("rotation", "person", "starts", "ends", "reason")
DONE = {
    "added": "Override arranged: the page below shows who is on call with it.",
    "cancelled": "Override cancelled: the rotation's turn applies again.",
}


@router.get("/oncall")
def oncall_page(request: Request, principal: ReadOutages, context: Context) -> Response:
    """Each rotation: on call now and next, its overrides and calendar feed; the override form."""
    return _render(request, context, principal)


@router.post("/oncall/overrides")
def arrange(
    request: Request,
    principal: ManageOncall,
    context: Context,
    rotation: Annotated[str, Form(max_length=TEXT)] = "",
    person: Annotated[str, Form(max_length=TEXT)] = "",
    starts: Annotated[str, Form(max_length=TEXT)] = "",
    ends: Annotated[str, Form(max_length=TEXT)] = "",
    reason: Annotated[str, Form(max_length=TEXT)] = "",
) -> Response:
    """Put someone on call for a rotation from `starts` to `ends` (the plan's local time)."""
    typed = dict(zip(FIELDS, (rotation, person, starts, ends, reason), strict=True))

    def act() -> None:
        plan = plan_needed(clock_now(context).plan, "overrides cover the plan's rotations")
        rotation_of(plan, rotation)
        start, end = form_time(starts, "from"), form_time(ends, "to")
        with unit_of_work(context.session_factory) as session:
            add_override(
                session,
                plan=plan,
                rotation_id=rotation,
                person_id=person,
                starts_at=start,
                ends_at=end,
                reason=reason or None,
                created_by=principal.named,
                now=context.clock.now(),
            )

    return run_form(
        act,
        refused=lambda why: _render(request, context, principal, refused=why, typed=typed),
        then=lambda: _back("added", rotation),
    )


@router.post("/oncall/{rotation_id}/overrides/{override_id}/cancel")
def cancel(
    rotation_id: RotationId,
    override_id: OverrideId,
    request: Request,
    principal: ManageOncall,
    context: Context,
) -> Response:
    """Cancel an override at once; the rotation's turn applies again."""

    def act() -> None:
        with unit_of_work(context.session_factory) as session:
            now = context.clock.now()
            cancel_override(session, rotation_id=rotation_id, override_id=override_id, now=now)

    return run_form(
        act,
        refused=lambda why: _render(request, context, principal, refused=why),
        then=lambda: _back("cancelled", rotation_id),
    )


def _back(done: str, rotation_id: str) -> str:
    anchor = quote(f"rotation-{rotation_id}", safe="")
    return f"/oncall?{urlencode({'done': done})}#{anchor}"


# --- what the page shows ------------------------------------------------------------------


def _render(
    request: Request,
    context: WebContext,
    principal: Principal,
    *,
    refused: Refusal | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    model = oncall_model(context, principal, typed=typed)
    return page_response(request, context, "oncall.html", model, refused=refused, done=DONE)


def oncall_model(
    context: WebContext, principal: Principal, *, typed: dict[str, str] | None = None
) -> dict[str, Any]:
    """Everything the on-call page shows, as of now."""
    clock = clock_now(context)
    now, plan = clock.now, clock.plan
    rotations: list[dict[str, Any]] = []
    if plan is not None:
        contacts = principal.can(Permission.READ_PLAN)
        with unit_of_work(context.session_factory) as session:
            items = who_is_on_call(session, plan=plan, now=now)
            overrides = {
                item.rotation_id: list_overrides(session, rotation_id=item.rotation_id, now=now)
                for item in items
            }
        for item in items:
            rotation = rotation_of(plan, item.rotation_id)
            rotations.append(
                {
                    "id": rotation.id,
                    "members": [clock.person(m) for m in rotation.members],
                    "now": _shift(clock, item.current, contacts=contacts),
                    "next": None if item.next is None else _shift(clock, item.next, contacts=contacts),
                    "overrides": [
                        {
                            "id": o.id,
                            "name": clock.person(o.person_id),
                            "starts": clock.when(o.starts_at),
                            "ends": clock.when(o.ends_at),
                            "status": o.status,
                            "reason": o.reason or "",
                            "by": o.created_by,
                        }
                        for o in overrides[rotation.id]
                    ],
                    "calendar": calendar_url(context, rotation.id),
                    "calendar_path": f"/api/v1/oncall/{quote(rotation.id, safe='')}/calendar.ics",
                }
            )
    form = dict.fromkeys(FIELDS, "")
    form["starts"] = clock.field(now)
    if rotations:
        form["rotation"] = rotations[0]["id"]
    form.update(typed or {})
    return {
        **clock.header(principal),
        "rotations": rotations,
        "people": [{"id": p.id, "name": p.name} for p in plan.people] if plan is not None else [],
        "can_manage": principal.can(Permission.MANAGE_ONCALL),
        "contacts": principal.can(Permission.READ_PLAN),
        "form": form,
        "max_reason": MAX_REASON,
    }


def _shift(clock: CentreClock, shift: Shift, *, contacts: bool) -> dict[str, Any]:
    person = clock.plan.people_by_id.get(shift.person_id) if clock.plan is not None else None
    return {
        "name": clock.person(shift.person_id),
        "starts": clock.when(shift.starts),
        "ends": clock.when(shift.ends),
        "override": shift.override,
        "phone": person.phone if contacts and person is not None and person.phone else "",
        "email": person.email if contacts and person is not None and person.email else "",
    }
