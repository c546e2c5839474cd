"""The HTML pages: the overview, the incidents and outages lists, the incident room, login,
the agents' outcome page, the API reference."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    """Every page router."""
    from standby.web.pages.ack import router as ack
    from standby.web.pages.incident_list import router as incident_list
    from standby.web.pages.incidents import router as incidents
    from standby.web.pages.login import router as login
    from standby.web.pages.outages import router as outages
    from standby.web.pages.outcomes import router as outcomes
    from standby.web.pages.overview import router as overview
    from standby.web.pages.reference import router as reference

    return [login, overview, ack, outcomes, incident_list, incidents, outages, reference]
