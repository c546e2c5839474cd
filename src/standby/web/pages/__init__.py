"""The HTML pages: overview, incident room, login, agents' outcomes, API reference, public status page."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    """Every page router."""
    from standby.web.pages.ack import router as ack
    from standby.web.pages.incidents import router as incidents
    from standby.web.pages.login import router as login
    from standby.web.pages.outcomes import router as outcomes
    from standby.web.pages.overview import router as overview
    from standby.web.pages.reference import router as reference
    from standby.web.pages.status import router as status

    return [login, overview, ack, outcomes, incidents, reference, status]
