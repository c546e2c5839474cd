"""The HTML pages: the overview, the incident room, login, the agents' outcome page, the plan and the
impact simulator, the API reference."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    """Every page router."""
    from standby.web.pages.ack import router as ack
    from standby.web.pages.impact import router as impact
    from standby.web.pages.incidents import router as incidents
    from standby.web.pages.login import router as login
    from standby.web.pages.outcomes import router as outcomes
    from standby.web.pages.overview import router as overview
    from standby.web.pages.plan import router as plan
    from standby.web.pages.reference import router as reference

    return [login, overview, ack, outcomes, incidents, plan, impact, reference]
