"""GET /maintenance: maintenance windows in progress, planned and past.

The page reads what GET /api/v1/maintenance reads, from the same service
(detect.maintenance_service), in the plan's time zone; past windows are paged, newest
first. Roles that may manage maintenance get a form to declare a window (components,
from, to, reason: what POST /api/v1/maintenance takes) and a button to cancel a declared
one, plain POSTs to the routes here that call declare_window and cancel_window; the server
refuses them (403) to other roles whatever the form says. What the service refuses (an end
before the start, an unknown component, a window too long) is shown above the form, with
what was typed kept.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import Response

from standby.access.roles import Permission
from standby.access.service import Principal
from standby.detect.maintenance_service import (
    MAX_DURATION,
    MAX_REASON,
    WindowRecord,
    cancel_window,
    declare_window,
    list_windows,
    past_windows,
)
from standby.errors import Conflict
from standby.store.engine import unit_of_work
from standby.web.api.maintenance import NO_PLAN
from standby.web.auth import ManageMaintenance, ReadOutages
from standby.web.context import Context, WebContext
from standby.web.pages.centre_clock import CentreClock, clock_now, form_time
from standby.web.pages.refusals import Refusal, page_response, run_form

router = APIRouter(include_in_schema=False)

PAST_PAGE = 20
# Loose on purpose: the service's limits, and its reasons, are what the page shows.
TEXT = 20_000
DONE = {
    "declared": "Maintenance window declared: outages of what it covers page nobody while it runs.",
    "cancelled": "Maintenance window cancelled: outages page again.",
}


@router.get("/maintenance")
def maintenance_page(
    request: Request,
    principal: ReadOutages,
    context: Context,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    """Windows in progress and planned, the past ones paged; the form to declare one."""
    return _render(request, context, principal, before=before)


@router.post("/maintenance")
def declare(
    request: Request,
    principal: ManageMaintenance,
    context: Context,
    components: Annotated[list[str] | None, Form(max_length=1000)] = None,
    starts: Annotated[str, Form(max_length=TEXT)] = "",
    ends: Annotated[str, Form(max_length=TEXT)] = "",
    reason: Annotated[str, Form(max_length=TEXT)] = "",
) -> Response:
    """Declare a one-off window from `starts` to `ends` (the plan's local time)."""
    covered = [c for c in components or [] if c]
    typed = {"components": covered, "starts": starts, "ends": ends, "reason": reason}

    def act() -> None:
        plan = clock_now(context).plan
        if plan is None:
            raise Conflict(NO_PLAN)
        start, end = form_time(starts, "from"), form_time(ends, "to")
        with unit_of_work(context.session_factory) as session:
            declare_window(
                session,
                reason=reason,
                components=covered,
                starts_at=start,
                ends_at=end,
                created_by=principal.named,
                now=context.clock.now(),
                plan=plan,
            )

    return run_form(
        act,
        refused=lambda why: _render(request, context, principal, refused=why, typed=typed),
        then=lambda: "/maintenance?done=declared",
    )


@router.post("/maintenance/{key}/cancel")
def cancel(
    key: Annotated[str, Path(max_length=100)],
    request: Request,
    principal: ManageMaintenance,
    context: Context,
) -> Response:
    """Cancel a declared window at once; a plan's window is changed in the plan (409)."""

    def act() -> None:
        plan = clock_now(context).plan
        with unit_of_work(context.session_factory) as session:
            cancel_window(session, key=key, now=context.clock.now(), by=principal.name, plan=plan)

    return run_form(
        act,
        refused=lambda why: _render(request, context, principal, refused=why),
        then=lambda: "/maintenance?done=cancelled",
    )


def _render(
    request: Request,
    context: WebContext,
    principal: Principal,
    *,
    before: int | None = None,
    refused: Refusal | None = None,
    typed: dict[str, Any] | None = None,
) -> Response:
    model = maintenance_model(context, principal, before=before, typed=typed)
    return page_response(request, context, "maintenance.html", model, refused=refused, done=DONE)


def maintenance_model(
    context: WebContext,
    principal: Principal,
    *,
    before: int | None = None,
    typed: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything the maintenance page shows, as of now."""
    clock = clock_now(context)
    now, plan = clock.now, clock.plan
    with unit_of_work(context.session_factory) as session:
        current = list_windows(session, plan=plan, now=now)
        past, older = past_windows(session, plan=plan, now=now, before_id=before, limit=PAST_PAGE)
    can_manage = principal.can(Permission.MANAGE_MAINTENANCE)

    def row(record: WindowRecord) -> dict[str, Any]:
        return _window(record, clock, can_manage=can_manage)

    form: dict[str, Any] = {"components": [], "starts": clock.field(now), "ends": "", "reason": ""}
    form.update(typed or {})
    return {
        **clock.header(principal),
        "active": [row(r) for r in current if r.status == "active"],
        "planned": [row(r) for r in current if r.status == "upcoming"],
        "past": [row(r) for r in past],
        "older": f"/maintenance?{urlencode({'before': older})}#past" if older is not None else "",
        "newest": "/maintenance#past" if before is not None else "",
        "components": [{"id": c.id, "name": c.name} for c in plan.components] if plan is not None else [],
        "can_manage": can_manage,
        "form": form,
        "max_reason": MAX_REASON,
        "max_days": MAX_DURATION.days,
    }


def _window(record: WindowRecord, clock: CentreClock, *, can_manage: bool) -> dict[str, Any]:
    names = clock.plan.components_by_id if clock.plan is not None else {}
    return {
        "key": record.key,
        "id": record.key.replace(":", "-"),
        "reason": record.reason,
        "source": record.source,
        "components": [names[c].name if c in names else c for c in record.components],
        "status": record.status,
        "starts": clock.when(record.occurrence_start or record.starts_at),
        "ends": clock.when(record.occurrence_end or record.starts_at + timedelta(minutes=record.minutes)),
        "repeat": record.recurrence or "",
        "minutes": round(record.minutes),
        "by": record.created_by or "",
        "cancelled": clock.when(record.cancelled_at),
        "cancelled_by": record.cancelled_by or "",
        "problem": record.problem or "",
        "can_cancel": can_manage and record.source == "api" and record.status in ("active", "upcoming"),
    }
