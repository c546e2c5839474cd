"""GET /outages: every outage, open ones first, paged; GET /outages/{id}: one outage. Read-only.

Both read what Detect recorded through detect.history, as `/api/v1/outages` does: the
outage, and its changes from the change feed (opened, changed, ended), which are the
history of its class. Each links to the incident it opened (respond.incident_search).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from standby.detect.history import Change, OutageRecord, get_outage, outages_open_first, recent_changes
from standby.errors import NotFound
from standby.plan.schema import Plan
from standby.respond.incident_search import incidents_of_outages
from standby.respond.templates import duration_text
from standby.store.engine import unit_of_work
from standby.store.open_first import parse_mark
from standby.web.auth import ReadOutages
from standby.web.context import Context
from standby.web.pages.plan_time import PlanTime, plan_time

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
MAX_CHANGES = 500  # as the API's outage detail
NO_STORE = {"Cache-Control": "no-store"}
_TONES = {"total": "down", "partial": "down", "degraded": "degraded", "interruption": "degraded"}
_EVENTS = {"opened": "Opened", "changed": "Changed", "ended": "Ended"}


@router.get("/outages")
def outage_list(request: Request, principal: ReadOutages, context: Context, before: str = "") -> Response:
    """The outages list: open ones first, then the ended ones, newest first, 50 a page."""
    after = parse_mark(before) if before.strip() else None
    now = context.clock.now()
    with unit_of_work(context.session_factory) as session:
        clock = plan_time(session, now)
        records, older = outages_open_first(session, after=after, limit=PAGE_SIZE)
        incidents = incidents_of_outages(session, [r.id for r in records])
    model = _frame(principal, clock)
    model["rows"] = [outage_view(r, clock, incidents.get(r.id)) for r in records]
    model["older"] = f"/outages?before={older.text()}" if older is not None else None
    model["first"] = "/outages" if after is not None else None
    response: Response = context.templates.TemplateResponse(request, "outages.html", model, headers=NO_STORE)
    return response


@router.get("/outages/{outage_id}")
def outage_page(outage_id: str, request: Request, principal: ReadOutages, context: Context) -> Response:
    """One outage: its causes and what they take down, the history of its class, its incident."""
    number = int(outage_id) if outage_id.isascii() and outage_id.isdigit() and len(outage_id) < 10 else 0
    if number < 1:
        raise NotFound(f"no outage {outage_id[:20]!r}: outages are numbered 1, 2, 3 and so on")
    now = context.clock.now()
    with unit_of_work(context.session_factory) as session:
        clock = plan_time(session, now)
        record = get_outage(session, number)
        changes = recent_changes(session, kind="outage", ref=str(number), limit=MAX_CHANGES)
        incident = incidents_of_outages(session, [number]).get(number)
    model = _frame(principal, clock)
    model["outage"] = outage_view(record, clock, incident)
    model["history"] = class_history(list(reversed(changes)), clock)
    model["ever"] = _ever(record, clock.plan)
    response: Response = context.templates.TemplateResponse(request, "outage.html", model, headers=NO_STORE)
    return response


def _frame(principal: Any, clock: PlanTime) -> dict[str, Any]:
    plan = clock.plan
    return {
        "principal": principal,
        "organisation": plan.organisation.name if plan is not None else None,
        "timezone": str(clock.zone),
        "now": clock.when(clock.now),
    }


def outage_view(record: OutageRecord, clock: PlanTime, incident_id: int | None) -> dict[str, Any]:
    """An outage as the pages show it: what it hits by name, its times in the plan's zone."""
    names = _Names(clock.plan)
    degraded = [q for q in record.degraded_queues if q not in record.queues]
    return {
        "id": record.id,
        "open": record.ended_at is None,
        "classification": record.classification,
        "peak": record.peak_classification,
        "tone": "maintenance" if record.in_maintenance else _TONES.get(record.classification, "unknown"),
        "in_maintenance": record.in_maintenance,
        "summary": record.summary,
        "causes": names.components(record.causes),
        "components": names.components([c for c in record.components if c not in record.causes]),
        "sites": names.sites(record.sites),
        "queues": names.queues(record.queues),
        "degraded_queues": names.queues(degraded),
        "started": clock.when(record.started_at),
        "detected": clock.when(record.detected_at),
        "ended": clock.when(record.ended_at),
        "ago": clock.ago(record.started_at),
        "duration": _lasted(record, clock),
        "merged_into": record.merged_into,
        "incident": incident_id,
    }


def class_history(changes: list[Change], clock: PlanTime) -> list[dict[str, Any]]:
    """The outage's changes oldest first, each with its class then and whether the class moved."""
    rows: list[dict[str, Any]] = []
    before: str | None = None
    for change in changes:
        data: Mapping[str, Any] = change.data
        classification = str(data.get("classification") or before or "")
        rows.append(
            {
                "at": clock.when(change.at),
                "event": _EVENTS.get(str(data.get("event")), str(data.get("event") or "Changed")),
                "classification": classification,
                "tone": _TONES.get(classification, "unknown"),
                "moved": before is not None and classification != before,
                "was": before or "",
                "summary": change.summary,
            }
        )
        before = classification or before
    return rows


def _lasted(record: OutageRecord, clock: PlanTime) -> str:
    if record.ended_at is None:
        return f"{duration_text(clock.now - record.started_at)} so far"
    return duration_text(record.ended_at - record.started_at)


def _ever(record: OutageRecord, plan: Plan | None) -> dict[str, list[dict[str, str]]]:
    """Everything the outage touched while it lasted (it may have narrowed since)."""
    names = _Names(plan)
    return {
        "components": names.components(record.ever.get("components", ())),
        "sites": names.sites(record.ever.get("sites", ())),
        "queues": names.queues(record.ever.get("queues", ())),
    }


class _Names:
    """The plan's names for ids (an id no longer in the plan is shown as it is)."""

    def __init__(self, plan: Plan | None) -> None:
        self._components = plan.components_by_id if plan is not None else {}
        self._sites = plan.sites_by_id if plan is not None else {}
        self._queues = plan.queues_by_id if plan is not None else {}

    def components(self, ids: Iterable[str]) -> list[dict[str, str]]:
        return _named(ids, self._components)

    def sites(self, ids: Iterable[str]) -> list[dict[str, str]]:
        return _named(ids, self._sites)

    def queues(self, ids: Iterable[str]) -> list[dict[str, str]]:
        return _named(ids, self._queues)


def _named(ids: Iterable[str], found: Mapping[str, Any]) -> list[dict[str, str]]:
    return [{"id": i, "name": str(getattr(found.get(i), "name", i))} for i in ids]
