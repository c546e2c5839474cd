"""Atlassian Statuspage's public v2 JSON, from a snapshot: its field names and values.

The shapes of /api/v2/summary.json, status.json, components.json, incidents.json and
scheduled-maintenances.json as Statuspage documents them, so that tools written for a
Statuspage page (status widgets, aggregators, chat bots) read Standby's as they are.
"""

from __future__ import annotations

import hashlib
from typing import Any

from standby.status.maintenance import PlannedWork
from standby.status.notices import Notice
from standby.status.snapshot import ServiceView, Snapshot, iso

MAX_INCIDENTS = 50
"""incidents.json lists the 50 most recent, as Statuspage does."""


def page_id(snapshot: Snapshot) -> str:
    """A stable 12-character id of the page, from the organisation's name."""
    return hashlib.sha256(snapshot.organisation.encode()).hexdigest()[:12]


def page(snapshot: Snapshot, base_url: str) -> dict[str, Any]:
    """The `page` object every v2 document starts with."""
    return {
        "id": page_id(snapshot),
        "name": snapshot.organisation,
        "url": f"{base_url}/status",
        "time_zone": snapshot.timezone,
        "updated_at": iso(snapshot.updated_at),
    }


def status_object(snapshot: Snapshot) -> dict[str, str]:
    """The `status` object: indicator (none, minor, major, critical, maintenance) and its words."""
    return {"indicator": snapshot.indicator, "description": snapshot.description}


def component(snapshot: Snapshot, view: ServiceView, position: int) -> dict[str, Any]:
    """A public service as a Statuspage component."""
    return {
        "id": view.service.id,
        "name": view.service.name,
        "status": view.status,
        "created_at": iso(snapshot.published_at),
        "updated_at": iso(snapshot.updated_at),
        "position": position,
        "description": view.service.description,
        "showcase": True,
        "start_date": None,
        "group_id": None,
        "page_id": page_id(snapshot),
        "group": False,
        "only_show_if_degraded": False,
    }


def components(snapshot: Snapshot) -> list[dict[str, Any]]:
    """Every public service as a component, in page order."""
    return [component(snapshot, view, i) for i, view in enumerate(snapshot.services, start=1)]


def _components_of(snapshot: Snapshot, ids: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        component(snapshot, view, i)
        for i, view in enumerate(snapshot.services, start=1)
        if view.service.id in ids
    ]


def incident(snapshot: Snapshot, notice: Notice, base_url: str) -> dict[str, Any]:
    """A notice as a Statuspage incident, with its `incident_updates` newest first."""
    ident = str(notice.id)
    return {
        "id": ident,
        "name": notice.name,
        "status": notice.status,
        "created_at": iso(notice.created_at),
        "updated_at": iso(notice.updated_at),
        "monitoring_at": iso(notice.monitoring_at),
        "resolved_at": iso(notice.resolved_at),
        "impact": notice.impact,
        "shortlink": f"{base_url}/status/incidents/{notice.id}",
        "started_at": iso(notice.started_at),
        "page_id": page_id(snapshot),
        "incident_updates": [
            {
                "id": str(update.id),
                "status": update.status,
                "body": update.body,
                "incident_id": ident,
                "created_at": iso(update.at),
                "updated_at": iso(update.at),
                "display_at": iso(update.at),
                "affected_components": None,
                "deliver_notifications": True,
                "custom_tweet": None,
                "tweet_id": None,
            }
            for update in notice.updates
        ],
        "components": _components_of(snapshot, notice.services),
    }


def maintenance(snapshot: Snapshot, work: PlannedWork, base_url: str) -> dict[str, Any]:
    """An occurrence of planned work as a Statuspage scheduled maintenance."""
    names = ", ".join(snapshot.service_names(work.services))
    body = f"Planned work: {names} may not answer between these times."
    return {
        "id": work.id,
        "name": work.name,
        "status": work.status,
        "created_at": iso(snapshot.published_at),
        "updated_at": iso(snapshot.updated_at),
        "monitoring_at": None,
        "resolved_at": None,
        "impact": "maintenance",
        "shortlink": f"{base_url}/status#maintenance",
        "started_at": iso(work.scheduled_for),
        "page_id": page_id(snapshot),
        "incident_updates": [
            {
                "id": f"{work.id}-1",
                "status": work.status,
                "body": body,
                "incident_id": work.id,
                "created_at": iso(snapshot.published_at),
                "updated_at": iso(snapshot.updated_at),
                "display_at": iso(snapshot.published_at),
                "affected_components": None,
                "deliver_notifications": True,
                "custom_tweet": None,
                "tweet_id": None,
            }
        ],
        "components": _components_of(snapshot, work.services),
        "scheduled_for": iso(work.scheduled_for),
        "scheduled_until": iso(work.scheduled_until),
    }


def documents(snapshot: Snapshot, base_url: str) -> dict[str, dict[str, Any]]:
    """Every v2 document by its file name under /api/v2/."""
    head = page(snapshot, base_url)
    open_incidents = [incident(snapshot, n, base_url) for n in snapshot.open_notices]
    recent = [incident(snapshot, n, base_url) for n in snapshot.notices[:MAX_INCIDENTS]]
    works = [maintenance(snapshot, w, base_url) for w in snapshot.planned]
    return {
        "summary.json": {
            "page": head,
            "components": components(snapshot),
            "incidents": open_incidents,
            "scheduled_maintenances": works,
            "status": status_object(snapshot),
        },
        "status.json": {"page": head, "status": status_object(snapshot)},
        "components.json": {"page": head, "components": components(snapshot)},
        "incidents.json": {"page": head, "incidents": recent},
        "scheduled-maintenances.json": {"page": head, "scheduled_maintenances": works},
        "incidents/unresolved.json": {"page": head, "incidents": open_incidents},
        "scheduled-maintenances/upcoming.json": {
            "page": head,
            "scheduled_maintenances": [w for w in works if w["status"] == "scheduled"],
        },
        "scheduled-maintenances/active.json": {
            "page": head,
            "scheduled_maintenances": [w for w in works if w["status"] == "in_progress"],
        },
    }
