"""The JSON API under /api/v1/, one module per resource."""

from __future__ import annotations

from fastapi import APIRouter

from standby.web.api import audit, components, health, plan, session


def routers() -> list[APIRouter]:
    """Every API router, in the order the OpenAPI document lists them."""
    return [health.router, session.router, plan.router, components.router, audit.router]
