"""/api/v1/audit: the platform audit of the plan in force, as of today where the centre is."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Response
from pydantic import BaseModel

from standby.errors import NotFound
from standby.exercise.reviews_service import review_log
from standby.plan.audit import audit, count_by_severity
from standby.plan.findings import Finding
from standby.plan.versions import current_plan
from standby.store.engine import unit_of_work
from standby.web.api.plan import NO_PLAN
from standby.web.auth import ReadPlan
from standby.web.context import Context
from standby.web.live import plan_today

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class AuditOut(BaseModel):
    """The findings, most severe first, and how many of each severity."""

    plan_version: int
    today: date
    counts: dict[str, int]
    findings: list[Finding]


class BlastRadiusOut(BaseModel):
    """Everything that goes down when one component alone fails, every name, in plan order."""

    plan_version: int
    component: str
    components: list[str]
    sites: list[str]
    queues_unreachable: list[str]
    queues_unanswered: list[str]


@router.get("", summary="The platform audit", response_model=AuditOut)
def get_audit(principal: ReadPlan, context: Context) -> Response:
    """Single points of failure, end of life, overdue reviews and drills, and the rest.

    A single point of failure names the first ten of what it takes down of each kind,
    with counts; GET /api/v1/audit/blast-radius/{component_id} names everything.
    """
    with unit_of_work(context.session_factory) as session:
        found = current_plan(session)
        log = review_log(session)
    if found is None:
        raise NotFound(NO_PLAN)
    info, plan = found
    today = plan_today(plan, context.clock.now())
    findings = audit(plan, today=today, topology=context.topologies.get(info.sha256, plan), log=log)
    answer = AuditOut.model_construct(
        plan_version=info.id,
        today=today,
        counts=count_by_severity(findings),
        findings=findings,
    )
    # Encoded once, straight to bytes, each finding read where it is: validating and copying
    # tens of thousands of findings (or a dict of each) on their way out cost more memory than
    # the audit itself.
    return Response(AuditOut.__pydantic_serializer__.to_json(answer), media_type="application/json")


@router.get(
    "/blast-radius/{component_id}",
    summary="Everything one component's failure takes down",
    responses={404: {"description": "No plan, or no component with this id in the plan in force."}},
)
def get_blast_radius(component_id: str, principal: ReadPlan, context: Context) -> BlastRadiusOut:
    """The whole blast radius of one component of the plan in force: what the audit only counts."""
    with unit_of_work(context.session_factory) as session:
        found = current_plan(session)
    if found is None:
        raise NotFound(NO_PLAN)
    info, plan = found
    topology = context.topologies.get(info.sha256, plan)
    try:
        radius = topology.blast_radius(component_id)
    except KeyError:
        shown = component_id if len(component_id) <= 80 else component_id[:80] + "..."
        raise NotFound(
            f"no component {shown!r} in the plan in force (version {info.id});"
            " GET /api/v1/components lists them"
        ) from None
    return BlastRadiusOut(
        plan_version=info.id,
        component=component_id,
        components=list(radius.components),
        sites=list(radius.sites),
        queues_unreachable=list(radius.queues_unreachable),
        queues_unanswered=list(radius.queues_unanswered),
    )
