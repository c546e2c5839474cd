"""What the plan pages show: the version in force, the versions a page at a time, the audit by
severity, one version's text, and the difference between two versions.

View models only: they read through the plan's services (plan.versions, plan.audit,
plan.changes) and format for the templates; the routes are in web/pages/plan.py.
"""

from __future__ import annotations

import difflib
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from standby.access.roles import Permission
from standby.access.service import Principal
from standby.errors import InvalidInput, NotFound
from standby.exercise.reviews_service import review_log
from standby.plan.audit import audit, count_by_severity
from standby.plan.changes import plan_changes
from standby.plan.findings import SEVERITIES
from standby.plan.schema import Plan
from standby.plan.versions import (
    PlanVersionInfo,
    current_plan,
    list_versions,
    plan_of_version,
    source_of_version,
)
from standby.store.engine import unit_of_work
from standby.web.context import WebContext
from standby.web.live import plan_today
from standby.web.pages.centre_clock import CentreClock, clock_for

PAGE_SIZE = 20
MAX_FINDINGS_SHOWN = 200
"""Of each severity; a plan of thousands of components has thousands of findings, all in the API."""
MAX_DIFF_LINES = 4000
MAX_VERSION_ID = 2**31 - 1

# What each check of the audit means, for a reader who has not read the audit's documentation.
EXPLANATIONS = {
    "single-point-of-failure": "One component whose failure alone stops queues or sites: nothing stands in"
    " for it, so one fault is an outage.",
    "end-of-life": "The version in use is past its supplier's end of life: no fixes, and nobody to call"
    " when it breaks.",
    "end-of-life-soon": "The version in use reaches its end of life within 90 days: plan the upgrade now.",
    "vendor-review-overdue": "The supplier's contingency arrangements were not reviewed within the plan's"
    " interval: what they promise may no longer hold.",
    "plan-review-overdue": "The plan is past its review date: its names, numbers and strategies may be out"
    " of date.",
    "drill-overdue": "The plan has not been exercised within the drill interval: its strategies are"
    " untested.",
    "no-probe": "Nothing watches this component: Standby cannot see it fail, so its outage is found by"
    " customers first.",
    "no-impact-tolerance": "Nobody has said how long this queue may be out: no breach can be measured or"
    " reported.",
    "queue-no-agents": "No team is skilled for this queue: its calls are never answered.",
    "site-loss-unanswered": "Losing this site leaves queues with nobody to answer them, and no strategy"
    " moves the agents.",
    "stakeholders-no-channel": "A stakeholder group with no way to reach it: it will not be told.",
    "stakeholders-empty": "A stakeholder group with nobody in it: nobody will be told.",
}


def version_number(name: str, text: str | None) -> int:
    """A version id typed in a form or a link, or InvalidInput saying what is wrong with it."""
    value = (text or "").strip()
    if not value:
        raise InvalidInput(f"{name}: choose a plan version (its number, as listed on /plan)")
    if not value.isdigit() or not 1 <= int(value) <= MAX_VERSION_ID:
        raise InvalidInput(f"{name}: {value[:40]!r} is not a plan version number (a whole number from 1)")
    return int(value)


def plan_model(
    session: Session, context: WebContext, principal: Principal, *, before: int | None
) -> dict[str, Any]:
    """The /plan page: the version in force, a page of versions, the audit, and the forms."""
    found = current_plan(session)
    page = list_versions(session, before=before, limit=PAGE_SIZE + 1)
    clock = clock_for(found[1] if found is not None else None, context.clock.now())
    model: dict[str, Any] = {
        "principal": principal,
        "organisation": clock.organisation,
        "timezone": clock.zone.key,
        "can_load": principal.can(Permission.LOAD_PLAN),
        "in_force": None,
        "versions": [_version(v, clock, found) for v in page[:PAGE_SIZE]],
        "older": page[PAGE_SIZE - 1].id if len(page) > PAGE_SIZE else None,
        "before": before,
        "audit": None,
        "compare": {"from": "", "to": ""},
        "plan_file_note": None,
    }
    if found is None:
        return model
    info, plan = found
    model["in_force"] = _version(info, clock, found)
    previous = list_versions(session, before=info.id, limit=1)
    model["compare"] = {"from": previous[0].id if previous else info.id, "to": info.id}
    if context.plan_watch is not None:
        model["plan_file_note"] = context.plan_watch.status.differs_from(info)
    model["audit"] = _audit(context, info, plan)
    return model


def _version(
    info: PlanVersionInfo, clock: CentreClock, found: tuple[PlanVersionInfo, Plan] | None
) -> dict[str, Any]:
    return {
        "id": info.id,
        "sha256": info.sha256,
        "short_sha": info.sha256[:12],
        "loaded_at": clock.when(info.loaded_at),
        "loaded_by": info.loaded_by or "unknown",
        "organisation": info.organisation,
        "counts": dict(info.counts),
        "in_force": found is not None and found[0].id == info.id,
    }


def _audit(context: WebContext, info: PlanVersionInfo, plan: Plan) -> dict[str, Any]:
    today = plan_today(plan, context.clock.now())
    with unit_of_work(context.session_factory) as session:
        log = review_log(session)
    findings = audit(plan, today=today, topology=context.topologies.get(info.sha256, plan), log=log)
    counts = count_by_severity(findings)
    groups = []
    for severity in SEVERITIES:
        mine = [f for f in findings if f.severity == severity]
        groups.append(
            {
                "severity": severity,
                "count": counts[severity],
                "hidden": max(len(mine) - MAX_FINDINGS_SHOWN, 0),
                "findings": [
                    {
                        "message": f.message,
                        "code": f.code,
                        "section": f.section,
                        "subject": f.subject,
                        "why": EXPLANATIONS.get(f.code, ""),
                    }
                    for f in mine[:MAX_FINDINGS_SHOWN]
                ],
            }
        )
    return {"today": today.isoformat(), "total": len(findings), "groups": groups}


def version_model(session: Session, principal: Principal, version_id: int, now: datetime) -> dict[str, Any]:
    """One version: when it was loaded and by whom, its counts, and its YAML text as loaded."""
    found = plan_of_version(session, version_id)
    source = source_of_version(session, version_id)
    if found is None or source is None:
        raise NotFound(f"there is no plan version {version_id}; /plan lists the versions")
    in_force = current_plan(session)
    info, plan = found
    clock = clock_for(plan, now)
    previous = list_versions(session, before=version_id, limit=1)
    return {
        "principal": principal,
        "organisation": plan.organisation.name,
        "timezone": clock.zone.key,
        "version": _version(info, clock, in_force),
        "in_force_id": in_force[0].id if in_force is not None else None,
        "previous_id": previous[0].id if previous else None,
        "source": source,
        "lines": source.count("\n") + 1,
    }


def diff_model(
    session: Session, principal: Principal, old_id: int, new_id: int, now: datetime
) -> dict[str, Any]:
    """Two versions compared: what changed in the centre's words, and the text's unified diff."""
    old = _stored(session, "from", old_id)
    new = _stored(session, "to", new_id)
    (old_info, old_plan, old_source), (new_info, new_plan, new_source) = old, new
    clock = clock_for(new_plan, now)
    in_force = current_plan(session)
    changes = plan_changes(old_plan, new_plan)
    lines = list(
        difflib.unified_diff(
            old_source.splitlines(),
            new_source.splitlines(),
            fromfile=f"version {old_id}",
            tofile=f"version {new_id}",
            lineterm="",
        )
    )
    return {
        "principal": principal,
        "organisation": new_plan.organisation.name,
        "timezone": clock.zone.key,
        "old": _version(old_info, clock, in_force),
        "new": _version(new_info, clock, in_force),
        "sections": [
            {
                "title": s.summary(),
                "added": [r.text() for r in s.added],
                "removed": [r.text() for r in s.removed],
                "changed": [
                    {
                        "record": c.record.text() or s.plural.capitalize(),
                        "fields": [f.text() for f in c.fields],
                    }
                    for c in s.changed
                ],
                "singular": s.singular,
            }
            for s in changes.sections
        ],
        "unchanged": changes.unchanged,
        "same_text": old_info.sha256 == new_info.sha256,
        "diff": [(_line_kind(line), line) for line in lines[:MAX_DIFF_LINES]],
        "diff_hidden": max(len(lines) - MAX_DIFF_LINES, 0),
    }


def _stored(session: Session, name: str, version_id: int) -> tuple[PlanVersionInfo, Plan, str]:
    found = plan_of_version(session, version_id)
    source = source_of_version(session, version_id)
    if found is None or source is None:
        raise NotFound(f"{name}: there is no plan version {version_id}; /plan lists the versions")
    return found[0], found[1], source


def _line_kind(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "file"
    if line.startswith("@@"):
        return "hunk"
    return {"+": "add", "-": "del"}.get(line[:1], "same")
