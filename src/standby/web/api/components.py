"""/api/v1/components: every component of the plan in force, with its live state."""

from __future__ import annotations

from collections.abc import Hashable
from datetime import datetime
from typing import Annotated, Any, NoReturn

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from standby.access.roles import Permission
from standby.detect.history import ProbeView, check_history, probe_views, recent_changes
from standby.detect.states import read_states
from standby.errors import NotFound
from standby.plan.topology import Topology
from standby.plan.versions import PlanVersionInfo, current_plan
from standby.store.engine import unit_of_work
from standby.web.api.outages import ChangeOut, change_out
from standby.web.api.plan import NO_PLAN
from standby.web.auth import ReadComponents
from standby.web.context import Context, WebContext
from standby.web.contract import Moment
from standby.web.live import (
    LiveComponent,
    down_components,
    live_components,
    summarise,
)
from standby.web.quick_door import Admitted, QuickDoor
from standby.web.rendered import NOT_MODIFIED, Body, answer

router = APIRouter(prefix="/api/v1/components", tags=["components"])


class LiveComponentOut(BaseModel):
    """A component with its state (`unknown` until a probe reports) and effective availability."""

    id: str
    name: str
    kind: str
    vendor: str | None
    version: str | None
    depends_on: list[Any]
    probe: str | None
    state: str
    since: datetime | None
    available: bool
    detail: str | None


class ComponentList(BaseModel):
    """Every component of the plan in force, in plan order, and counts by state."""

    plan_version: int
    counts: dict[str, int]
    components: list[LiveComponentOut]


class ProbeOut(BaseModel):
    """The probe's damped health, its last check, and which worker holds it."""

    kind: str
    health: str
    health_since: datetime | None
    consecutive_failures: int
    consecutive_successes: int
    last_checked_at: datetime | None
    last_ok: bool | None
    last_detail: str | None
    last_rtt_ms: float | None
    warning: str | None
    worker: str | None
    lease_expires_at: datetime | None


class ComponentDetail(LiveComponentOut):
    """One component, with what depends on it and its probe's health."""

    plan_version: int
    dependents: list[dict[str, str]]
    probe_health: ProbeOut | None


class CheckOut(BaseModel):
    """One check of a component's probe."""

    checked_at: datetime
    ok: bool
    detail: str
    rtt_ms: float | None
    worker: str


class CheckHistory(BaseModel):
    """A component's most recent checks, newest first, and its recent state changes."""

    component: str
    checks: list[CheckOut]
    changes: list[ChangeOut]


def _load(context: Context) -> tuple[PlanVersionInfo, Topology, list[LiveComponent]]:
    with unit_of_work(context.session_factory) as session:
        found = current_plan(session)
        if found is None:
            raise NotFound(NO_PLAN)
        states = read_states(session)
    info, plan = found
    topology = context.topologies.get(info.sha256, plan)
    availability = topology.availability(down_components(plan, states))
    return info, topology, live_components(plan, states, availability)


@router.get(
    "",
    summary="Components with live state",
    response_model=ComponentList,
    responses={304: NOT_MODIFIED},
)
async def list_components(request: Request, context: Context) -> Response:
    """Every component: kind, vendor, dependencies, probe type, state since when, availability.

    Built once per change (the change mark, standby.store.change_mark), then served as the
    same bytes with an ETag (If-None-Match answers 304) until the next change.
    """
    seen = await QuickDoor.of(request).admit(request, context, Permission.READ_COMPONENTS)
    key = listing_key(seen)
    body = await context.rendered.served(key, lambda: _component_list(context), context.hot_reads)
    return answer(request, body, "application/json")


def listing_key(seen: Admitted) -> Hashable:
    """What the list is kept under: the change mark it was built after (the same for everyone)."""
    return ("components", seen.mark)


def _component_list(context: WebContext) -> Body:
    # Read after the mark: what is built is at least as new as the mark it is kept under.
    info, _, live = _load(context)
    listed = ComponentList(
        plan_version=info.id,
        counts=summarise(live),
        components=[LiveComponentOut(**item.to_dict()) for item in live],
    )
    return Body.of(listed.model_dump_json().encode())


@router.get(
    "/{component_id}",
    summary="One component",
    responses={404: {"description": "No component with this id in the plan in force."}},
)
def get_component(component_id: str, principal: ReadComponents, context: Context) -> ComponentDetail:
    """One component with its live state, availability and what depends on it."""
    info, topology, live = _load(context)
    for item in live:
        if item.component.id == component_id:
            dependents = [{"kind": kind, "id": node} for kind, node in topology.dependents_of(component_id)]
            with unit_of_work(context.session_factory) as session:
                view = probe_views(session).get(component_id)
            return ComponentDetail(
                **item.to_dict(),
                plan_version=info.id,
                dependents=dependents,
                probe_health=_probe_out(view) if view is not None else None,
            )
    _unknown(component_id, info)


def _unknown(component_id: str, info: PlanVersionInfo) -> NoReturn:
    shown = component_id if len(component_id) <= 80 else component_id[:80] + "..."
    raise NotFound(
        f"no component {shown!r} in the plan in force (version {info.id}); GET /api/v1/components lists them"
    )


def _probe_out(view: ProbeView) -> ProbeOut:
    return ProbeOut(
        kind=view.kind,
        health=view.health,
        health_since=view.health_since,
        consecutive_failures=view.failures,
        consecutive_successes=view.successes,
        last_checked_at=view.last_checked_at,
        last_ok=view.last_ok,
        last_detail=view.last_detail,
        last_rtt_ms=view.last_rtt_ms,
        warning=view.warning,
        worker=view.owner,
        lease_expires_at=view.lease_expires_at,
    )


@router.get(
    "/{component_id}/checks",
    summary="Check history of one component",
    responses={404: {"description": "No component with this id in the plan in force."}},
)
def component_checks(
    component_id: str,
    principal: ReadComponents,
    context: Context,
    limit: Annotated[int, Query(ge=1, le=5000, description="At most this many checks.")] = 100,
    since: Annotated[
        Moment | None, Query(description="Only checks at or after this time (ISO 8601).")
    ] = None,
) -> CheckHistory:
    """The most recent checks of the component's probe (kept for STANDBY_CHECK_RETENTION_HOURS)."""
    info, _, live = _load(context)
    if not any(item.component.id == component_id for item in live):
        _unknown(component_id, info)
    with unit_of_work(context.session_factory) as session:
        checks = check_history(session, component_id, limit=limit, since=since)
        changes = recent_changes(session, kind="component", ref=component_id, limit=50)
    return CheckHistory(
        component=component_id,
        checks=[
            CheckOut(checked_at=c.checked_at, ok=c.ok, detail=c.detail, rtt_ms=c.rtt_ms, worker=c.worker)
            for c in checks
        ],
        changes=[change_out(c) for c in changes],
    )
