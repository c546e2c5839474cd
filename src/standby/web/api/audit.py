"""/api/v1/audit: the platform audit of the plan in force, as of today where the centre is."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from standby.errors import NotFound
from standby.plan.audit import audit, count_by_severity
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
    findings: list[dict[str, Any]]


@router.get("", summary="The platform audit")
def get_audit(principal: ReadPlan, context: Context) -> AuditOut:
    """Single points of failure, end of life, overdue reviews and drills, and the rest."""
    with unit_of_work(context.session_factory) as session:
        found = current_plan(session)
    if found is None:
        raise NotFound(NO_PLAN)
    info, plan = found
    today = plan_today(plan, context.clock.now())
    findings = audit(plan, today=today, topology=context.topologies.get(info.sha256, plan))
    return AuditOut(
        plan_version=info.id,
        today=today,
        counts=count_by_severity(findings),
        findings=[f.to_dict() for f in findings],
    )
