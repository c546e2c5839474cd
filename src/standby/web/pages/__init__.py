"""The HTML pages: one module per page or capability, each with its templates, behind one navigation bar."""

from __future__ import annotations

from fastapi import APIRouter


def front() -> list[APIRouter]:
    """Pages matched before the API's hundred-odd routes: the overview, which every screen asks for
    every 30 s and which would otherwise be tried against each of them first."""
    from standby.web.pages.overview import router as overview

    return [overview]


def routers() -> list[APIRouter]:
    """Every other page router."""
    from standby.web.pages.ack import router as ack
    from standby.web.pages.callbacks import router as callbacks
    from standby.web.pages.calls import router as calls
    from standby.web.pages.compensation import router as compensation
    from standby.web.pages.exercise_readiness import router as exercise_readiness
    from standby.web.pages.exercise_reviews import router as exercise_reviews
    from standby.web.pages.exercises import router as exercises
    from standby.web.pages.impact import router as impact
    from standby.web.pages.incident_list import router as incident_list
    from standby.web.pages.incident_public_update import router as incident_public_update
    from standby.web.pages.incidents import router as incidents
    from standby.web.pages.login import router as login
    from standby.web.pages.maintenance import router as maintenance
    from standby.web.pages.messages import router as messages
    from standby.web.pages.oncall import router as oncall
    from standby.web.pages.outages import router as outages
    from standby.web.pages.outcomes import router as outcomes
    from standby.web.pages.plan import router as plan
    from standby.web.pages.readiness import router as readiness
    from standby.web.pages.reference import router as reference
    from standby.web.pages.reviews import router as reviews
    from standby.web.pages.status import router as status
    from standby.web.pages.status_callbacks import router as status_callbacks
    from standby.web.pages.status_subscriptions import router as status_subscriptions

    return [
        login,
        ack,
        outcomes,
        readiness,
        incident_list,
        incidents,
        incident_public_update,
        outages,
        callbacks,
        calls,
        compensation,
        oncall,
        messages,
        maintenance,
        plan,
        impact,
        reviews,
        exercise_reviews,
        exercise_readiness,
        exercises,
        reference,
        status,
        status_subscriptions,
        status_callbacks,
    ]
