"""GET /: the overview: the dependency map, sites, queues, audit findings and components.

The page refreshes itself (a meta refresh) so that states change live without any
JavaScript. Large plans stay fast to render: the map collapses (see plan.diagram) and
the components table lists the most severe first, up to a cap.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from standby.access.roles import Permission
from standby.access.service import Principal
from standby.detect.history import OutageRecord, list_outages
from standby.detect.refused_alerts import count_refused_alerts
from standby.detect.states import read_states
from standby.errors import PlanInvalid
from standby.exercise.reviews_service import review_log
from standby.notify.outbox_desk import count_by_state, count_failing
from standby.plan.audit import audit, count_by_severity
from standby.plan.diagram import SEVERITY, layout_plan
from standby.plan.findings import Finding
from standby.plan.loading import load_plan_file
from standby.plan.schema import AnyOf, Plan
from standby.plan.topology import Availability, Topology
from standby.plan.versions import PlanVersionInfo, current_plan
from standby.respond.deadline_service import DeadlineView, deadlines_of
from standby.respond.incident_service import IncidentRecord, list_incidents
from standby.store.engine import unit_of_work
from standby.web.context import Context, WebContext
from standby.web.live import (
    LiveComponent,
    down_components,
    live_components,
    plan_today,
    state_names,
    summarise,
)
from standby.web.pages.centre_clock import CentreClock, clock_for
from standby.web.pages.incident_list import deadline_warnings
from standby.web.quick_door import Admitted, QuickDoor
from standby.web.rendered import Same

router = APIRouter(include_in_schema=False)

REFRESH_S = 30
MAX_TABLE_ROWS = 200
MAX_FINDINGS = 100
MAX_OUTAGES = 8
REFUSED_WITHIN = timedelta(hours=24)
_TONES = {"total": "down", "partial": "down", "degraded": "degraded", "interruption": "degraded"}


@router.get("/")
async def overview(request: Request, context: Context) -> Response:
    """The command centre's overview, or what is wrong when no plan is loaded.

    Who asks and the change mark are one read. The page shows the time to the second and
    what is late as of then, and the person's name and role: it is built once per change
    mark, second and person (in the hot reads' lane, standby.web.rendered.ReadLane), and
    served as the same bytes until one of them moves.
    """
    seen = await QuickDoor.of(request).admit(request, context, Permission.READ_COMPONENTS)
    key = page_key(context, seen)
    now = key[2]
    page = await context.overview_pages.served(
        key, lambda: _page(request, context, seen, now), context.hot_reads
    )
    return HTMLResponse(page)


def page_key(context: WebContext, seen: Admitted) -> tuple[str, int, datetime, Principal, Same]:
    """What the page is kept under: the change mark, the second (the now it shows), the person
    and the plan file's last reading."""
    now = context.clock.now().replace(microsecond=0)
    watched = Same(context.plan_watch.status if context.plan_watch is not None else None)
    return ("overview", seen.mark, now, seen.principal, watched)


def _page(request: Request, context: WebContext, seen: Admitted, now: datetime) -> bytes:
    """Read what the page shows (after the mark: at least as new as it) and render it."""
    principal = seen.principal
    with unit_of_work(context.session_factory) as session:
        found = current_plan(session)
        if found is None:
            return _no_plan(request, context, principal)
        info, plan = found
        outages = list_outages(session, limit=MAX_OUTAGES)
        incidents = list_incidents(session, open_only=True, limit=MAX_OUTAGES)
        deadlines = deadlines_of(session, [i.id for i in incidents], now) if incidents else {}
        refused = count_refused_alerts(session, since=now - REFUSED_WITHIN)
        messages = _messages(session, principal)
        # Everything below the incidents and outages follows from the plan, the states and the
        # review log: rendered once per change mark (and day, and role).
        key = ("overview", seen.mark, plan_today(plan, now), principal.role)
        part = context.overview_parts.get(
            key, lambda: plan_part(context, session, principal, info, plan, now)
        )
    clock = clock_for(plan, now)
    model: dict[str, Any] = {
        **clock.header(principal),
        "refresh_s": REFRESH_S,
        "now": clock.when(now, seconds=True),
        "version": {
            "id": info.id,
            "loaded_at": clock.when(info.loaded_at),
            "loaded_by": info.loaded_by,
        },
        "plan_part": Markup(part),  # our own template's output, escaped as it was rendered
        "plan_file_problems": (
            context.plan_watch.status.rendered_problems if context.plan_watch is not None else []
        ),
        "plan_file_note": (
            context.plan_watch.status.differs_from(info) if context.plan_watch is not None else None
        ),
        "outages": _outages(outages, clock),
        "incidents": _incidents(incidents, clock, deadlines),
        "refused_alerts": refused,
        "messages": messages,
    }
    return _render(request, context, "overview.html", model)


def _render(request: Request, context: WebContext, name: str, model: dict[str, Any]) -> bytes:
    """A page as bytes, rendered as TemplateResponse would (the template sees `request`)."""
    return context.templates.get_template(name).render({"request": request, **model}).encode()


def _messages(session: Session, principal: Principal) -> dict[str, int] | None:
    """Parked messages and those failing (retrying), for roles that may read messages."""
    if not principal.can(Permission.READ_NOTIFICATIONS):
        return None
    return {"parked": count_by_state(session)["parked"], "failing": count_failing(session)}


def plan_part(
    context: WebContext,
    session: Session,
    principal: Principal,
    info: PlanVersionInfo,
    plan: Plan,
    now: datetime,
) -> str:
    """The overview's tiles, map, queues, sites, audit and components, rendered as HTML."""
    states = read_states(session)
    # Only the audit reads the log, and only roles that may read the plan see the audit.
    log = review_log(session) if principal.can(Permission.READ_PLAN) else None
    clock = clock_for(plan, now)
    topology = context.topologies.get(info.sha256, plan)
    availability = topology.availability(down_components(plan, states))
    live = live_components(plan, states, availability)
    findings: list[Finding] | None = None
    if principal.can(Permission.READ_PLAN):
        findings = audit(plan, today=plan_today(plan, now), topology=topology, log=log)
    shown, hidden = _table_rows(live, clock)
    model = {
        "role": principal.role.value,
        "timezone": clock.zone.key,
        "today": plan_today(plan, now).isoformat(),
        "tiles": _tiles(plan, availability, live, findings),
        "layout": layout_plan(plan, states=state_names(states), availability=availability),
        "queues": _queues(plan, topology, availability),
        "sites": _sites(plan, availability),
        "findings": findings[:MAX_FINDINGS] if findings is not None else None,
        "findings_hidden": max(len(findings) - MAX_FINDINGS, 0) if findings is not None else 0,
        "components": shown,
        "components_hidden": hidden,
    }
    return context.templates.get_template("_overview_plan.html").render(model)


def _tiles(
    plan: Plan,
    availability: Availability,
    live: list[LiveComponent],
    findings: list[Finding] | None,
) -> dict[str, dict[str, str]]:
    answered, queues = len(availability.queues_answered), len(plan.queues)
    sites = len(availability.sites)
    counts = summarise(live)
    down, degraded, unknown = counts["down"], counts["degraded"], counts["unknown"]
    parts = [f"{counts[s]:,} {s}" for s in ("down", "degraded", "maintenance", "up") if counts[s]]
    if unknown:
        parts.append(f"{unknown:,} unknown")
    if findings is None:
        audit_tile = {"value": "—", "note": "not available to your role", "tone": "unknown"}
    else:
        by = count_by_severity(findings)
        audit_tile = {
            "value": f"{len(findings):,}",
            "note": f"{by['high']:,} high · {by['medium']:,} medium · {by['low']:,} low",
            "tone": "down" if by["high"] else "degraded" if by["medium"] else "up",
        }
    return {
        "queues": {
            "value": f"{answered} / {queues}",
            "note": "every queue answered" if answered == queues else f"{queues - answered} not answered",
            "tone": "up" if answered == queues else "down",
        },
        "sites": {
            "value": f"{sites} / {len(plan.sites)}",
            "note": "every site available" if sites == len(plan.sites) else f"{len(plan.sites) - sites} lost",
            "tone": "up" if sites == len(plan.sites) else "down",
        },
        "components": {
            "value": f"{len(live):,}",
            "note": " · ".join(parts) if parts else "none in the plan",
            "tone": "down" if down else "degraded" if degraded else "up" if not unknown else "unknown",
        },
        "audit": audit_tile,
    }


def _queues(plan: Plan, topology: Topology, availability: Availability) -> list[dict[str, Any]]:
    rows = []
    for q in plan.queues:
        at = [s for s in topology.sites_answering(q.id) if s in availability.sites]
        rows.append(
            {
                "id": q.id,
                "name": q.name,
                "target": f"{q.service_level.target:.0%} in {q.service_level.answer_within_s:g} s",
                "reachable": q.id in availability.queues_reachable,
                "answered": q.id in availability.queues_answered,
                "answered_at": ", ".join(at),
            }
        )
    return rows


def _sites(plan: Plan, availability: Availability) -> list[dict[str, Any]]:
    rows = []
    for s in plan.sites:
        teams = [t for t in plan.teams if t.site == s.id]
        rows.append(
            {
                "id": s.id,
                "name": s.name,
                "kind": s.kind,
                "seats": s.seats,
                "agents": sum(t.agents for t in teams),
                "teams": ", ".join(t.id for t in teams),
                "activation": f"{s.activation_minutes:g} min" if s.activation_minutes else "",
                "available": s.id in availability.sites,
            }
        )
    return rows


def _table_rows(live: list[LiveComponent], clock: CentreClock) -> tuple[list[dict[str, Any]], int]:
    """Component rows for the table: all of them, or the most severe first up to the cap."""
    ordered = live
    if len(live) > MAX_TABLE_ROWS:
        ordered = sorted(live, key=lambda c: (-SEVERITY.get(c.state, 1), c.available))
    rows = [
        {
            "id": c.component.id,
            "name": c.component.name,
            "kind": c.component.kind.replace("_", " "),
            "vendor": c.component.vendor,
            "state": c.state,
            "since": clock.when(c.since),
            "available": c.available,
            "depends_on": ", ".join(
                " or ".join(d.any_of) if isinstance(d, AnyOf) else d for d in c.component.depends_on
            ),
            "probe": c.component.probe.type.replace("_", " ") if c.component.probe else "",
        }
        for c in ordered[:MAX_TABLE_ROWS]
    ]
    return rows, max(len(live) - MAX_TABLE_ROWS, 0)


def _no_plan(request: Request, context: WebContext, principal: Principal) -> bytes:
    """The page for an empty database: the plan file's problems, if it has any, and what to do."""
    problems: list[Any] = []
    source = ""
    path = context.settings.plan_path
    if path is not None and principal.can(Permission.READ_PLAN):
        source = str(path)
        try:
            load_plan_file(path)
        except PlanInvalid as invalid:
            problems = list(invalid.problems)
    return _render(
        request,
        context,
        "noplan.html",
        {
            "principal": principal,
            "organisation": None,
            "problems": problems,
            "source": source,
            "base_url": context.settings.base_url,
        },
    )


def _outages(records: list[OutageRecord], clock: CentreClock) -> list[dict[str, Any]]:
    """Open outages first, then the latest ended ones, as the overview lists them."""
    ordered = sorted(records, key=lambda r: (r.ended_at is not None, -r.id))
    return [
        {
            "id": r.id,
            "open": r.ended_at is None,
            "classification": r.classification,
            "tone": "maintenance" if r.in_maintenance else _TONES.get(r.classification, "unknown"),
            "summary": r.summary,
            "in_maintenance": r.in_maintenance,
            "started": clock.when(r.started_at),
            "ended": clock.when(r.ended_at),
            "minutes": round(r.duration_s(clock.now) / 60, 1),
        }
        for r in ordered
    ]


def _incidents(
    records: list[IncidentRecord], clock: CentreClock, deadlines: Mapping[int, list[DeadlineView]]
) -> list[dict[str, Any]]:
    """Incidents being worked, newest first: what the commander acts on, with the deadlines not met."""
    return [
        {
            "id": r.id,
            "severity": r.severity_text.split()[0],
            "tone": "down" if r.severity <= 2 else "degraded",
            "state": r.state,
            "title": r.title,
            "detected": clock.when(r.detected_at),
            "acknowledged": clock.when(r.acknowledged_at),
            # Left `detected` unacknowledged: the outage's end stopped the paging, nobody answered.
            "paging": r.state == "detected",
            "commander": clock.person(r.commander),
            "deadlines": deadline_warnings(deadlines.get(r.id, []), clock),
        }
        for r in records
    ]
