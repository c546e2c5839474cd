"""/api/v1/components: every component of the plan in force, with its live state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from standby.detect.states import read_states
from standby.errors import NotFound
from standby.plan.topology import Topology
from standby.plan.versions import PlanVersionInfo, current_plan
from standby.store.engine import unit_of_work
from standby.web.api.plan import NO_PLAN
from standby.web.auth import ReadComponents
from standby.web.context import Context
from standby.web.live import (
    LiveComponent,
    down_components,
    live_components,
    summarise,
)

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


class ComponentList(BaseModel):
    """Every component of the plan in force, in plan order, and counts by state."""

    plan_version: int
    counts: dict[str, int]
    components: list[LiveComponentOut]


class ComponentDetail(LiveComponentOut):
    """One component, with what depends on it."""

    plan_version: int
    dependents: list[dict[str, str]]


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


@router.get("", summary="Components with live state")
def list_components(principal: ReadComponents, context: Context) -> ComponentList:
    """Every component: kind, vendor, dependencies, probe type, state since when, availability."""
    info, _, live = _load(context)
    return ComponentList(
        plan_version=info.id,
        counts=summarise(live),
        components=[LiveComponentOut(**item.to_dict()) for item in live],
    )


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
            return ComponentDetail(**item.to_dict(), plan_version=info.id, dependents=dependents)
    shown = component_id if len(component_id) <= 80 else component_id[:80] + "..."
    raise NotFound(
        f"no component {shown!r} in the plan in force (version {info.id}); GET /api/v1/components lists them"
    )
