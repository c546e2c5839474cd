"""The HTML pages: the overview, the incident room, the login page, the agents' outcome page."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    """Every page router."""
    from standby.web.pages.ack import router as ack
    from standby.web.pages.incidents import router as incidents
    from standby.web.pages.login import router as login
    from standby.web.pages.outcomes import router as outcomes
    from standby.web.pages.overview import router as overview

    return [login, overview, ack, outcomes, incidents]
