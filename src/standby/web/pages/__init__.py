"""The HTML pages: the overview, the incident room, login, the agents' outcome page, the API reference."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    """Every page router."""
    from standby.web.pages.ack import router as ack
    from standby.web.pages.incidents import router as incidents
    from standby.web.pages.login import router as login
    from standby.web.pages.maintenance import router as maintenance
    from standby.web.pages.messages import router as messages
    from standby.web.pages.oncall import router as oncall
    from standby.web.pages.outcomes import router as outcomes
    from standby.web.pages.overview import router as overview
    from standby.web.pages.reference import router as reference

    return [login, overview, ack, outcomes, incidents, oncall, messages, maintenance, reference]
