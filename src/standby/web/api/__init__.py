"""The JSON API under /api/v1/, one module per resource."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    """Every API router (PagerDuty's own /v2 paths too), in the order the OpenAPI document lists them."""
    # The resource modules are imported when an app is built, not with the package.
    from standby.web.api.access import router as access
    from standby.web.api.actions import router as actions
    from standby.web.api.agents import router as agents
    from standby.web.api.alerts import router as alerts
    from standby.web.api.audit import router as audit
    from standby.web.api.callbacks import router as callbacks
    from standby.web.api.calls import router as calls
    from standby.web.api.compensation import router as compensation
    from standby.web.api.components import router as components
    from standby.web.api.customer_summary import router as customer_summary
    from standby.web.api.erlang import router as erlang
    from standby.web.api.exercises import router as exercises
    from standby.web.api.forecast import router as forecast
    from standby.web.api.health import router as health
    from standby.web.api.impact import router as impact
    from standby.web.api.incidents import router as incidents
    from standby.web.api.lockouts import router as lockouts
    from standby.web.api.maintenance import router as maintenance
    from standby.web.api.notifications import router as notifications
    from standby.web.api.oncall import pages_router as pages
    from standby.web.api.oncall import router as oncall
    from standby.web.api.outages import router as outages
    from standby.web.api.outcomes import router as outcomes
    from standby.web.api.plan import router as plan
    from standby.web.api.plan_reviews import plan_router as plan_reviews
    from standby.web.api.plan_reviews import vendor_router as vendor_reviews
    from standby.web.api.readiness import router as readiness
    from standby.web.api.receivers import pagerduty_router as pagerduty
    from standby.web.api.receivers import router as receivers
    from standby.web.api.reviews import across as across_reviews
    from standby.web.api.reviews import router as reviews
    from standby.web.api.session import router as session
    from standby.web.api.statuspage import router as statuspage
    from standby.web.api.statuspage import updates_router as status_updates
    from standby.web.api.strategies import router as strategies

    return [
        health,
        session,
        plan,
        components,
        maintenance,
        outages,
        customer_summary,
        incidents,
        status_updates,
        reviews,
        across_reviews,
        actions,
        notifications,
        strategies,
        exercises,
        plan_reviews,
        vendor_reviews,
        forecast,
        oncall,
        pages,
        audit,
        impact,
        erlang,
        access,
        lockouts,
        agents,
        readiness,
        callbacks,
        calls,
        outcomes,
        compensation,
        receivers,
        alerts,
        pagerduty,  # PagerDuty's own paths, /v2/enqueue and /v2/change/enqueue
        statuspage,  # Atlassian Statuspage's public read API, /api/v2/*.json
    ]
