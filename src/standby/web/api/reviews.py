"""/api/v1/incidents/{id}/review: the review after an outage, drafted from the records, written,
signed off and exported (JSON, Markdown, self-contained HTML)."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from standby.detect.history import get_outage
from standby.errors import Conflict
from standby.impact.report import Labels
from standby.impact.results import ImpactResult
from standby.plan.versions import current_plan, plan_of_version
from standby.review.draft import Review
from standby.review.draft_service import draft_review
from standby.review.html import render_review_html
from standby.review.markdown import render_markdown
from standby.review.measures import MEASURES
from standby.review.simulations import SIMULATIONS
from standby.review.trends_service import Trends, trends
from standby.review.written_service import save_written, sign_off
from standby.store.engine import unit_of_work
from standby.web.api.impact import REPORT_CSP
from standby.web.auth import ManageIncidents, ReadOutages
from standby.web.context import Context, WebContext
from standby.web.contract import RowId

router = APIRouter(prefix="/api/v1/incidents", tags=["reviews"])
across = APIRouter(prefix="/api/v1/reviews", tags=["reviews"])

NOT_READY = "the review is drafted once the incident is resolved"
FORMATS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The review: JSON (the default), Markdown (`format=md`) or one self-contained HTML"
        " file (`format=html`, inline CSS and SVG, no script).",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/markdown": {"schema": {"type": "string"}},
            "text/html": {"schema": {"type": "string"}},
        },
    },
    404: {"description": "No such incident."},
    409: {"description": "The incident is not resolved yet."},
}


class WrittenIn(BaseModel):
    """Some of the review's texts; those left out are kept as they are."""

    model_config = ConfigDict(extra="forbid")

    factors: str | None = Field(None, max_length=20_000, description="Contributing factors.")
    went_well: str | None = Field(None, max_length=20_000, description="What went well.")
    went_wrong: str | None = Field(None, max_length=20_000, description="What went wrong.")
    lucky: str | None = Field(None, max_length=20_000, description="Where we were lucky.")




def drafted(context: WebContext, incident_id: int, *, ready_only: bool = True) -> Review:
    """The incident's review now; Conflict while the incident is not resolved (with `ready_only`)."""
    with unit_of_work(context.session_factory) as session:
        review = draft_review(
            session, incident_id=incident_id, now=context.clock.now(), simulator=SIMULATIONS
        )
    if ready_only and not review.ready:
        raise Conflict(f"incident {incident_id} is {review.state}: {NOT_READY}")
    return review


def review_parts(context: WebContext, review: Review) -> tuple[ImpactResult | None, Labels | None, str]:
    """What the review's HTML needs beyond the review: the simulated outage, its labels, when it was made."""
    with unit_of_work(context.session_factory) as session:
        found = plan_of_version(session, review.plan.version_id) if review.plan.version_id else None
        found = found or current_plan(session)
        outage = get_outage(session, review.outage_id) if review.outage_id is not None else None
    result, labels = None, None
    if found is not None and outage is not None:
        result = SIMULATIONS(found[1], outage, context.clock.now())[0]
        labels = Labels.of(found[1])
    generated = context.clock.now().astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return result, labels, generated


def review_html(context: WebContext, review: Review) -> str:
    """The review as one self-contained HTML file, its simulated outage drawn by the impact report."""
    result, labels, generated = review_parts(context, review)
    return render_review_html(review, result, labels, generated=generated)


@router.get("/{incident_id}/review", summary="The incident's review", responses=FORMATS)
def get_review(
    incident_id: RowId,
    principal: ReadOutages,
    context: Context,
    format: Annotated[Literal["json", "md", "html"], Query(description="json, md or html.")] = "json",
) -> Response:
    """The review drafted from the records, with what was written and the actions set (409 until resolved)."""
    review = drafted(context, incident_id)
    if format == "md":
        return PlainTextResponse(
            render_markdown(review),
            media_type="text/markdown; charset=utf-8",
            headers={"Content-Disposition": f'inline; filename="incident-{incident_id}-review.md"'},
        )
    if format == "html":
        return HTMLResponse(
            review_html(context, review),
            headers={
                "Content-Disposition": f'attachment; filename="incident-{incident_id}-review.html"',
                **REPORT_CSP,
            },
        )
    return JSONResponse(review.as_dict())


@router.put(
    "/{incident_id}/review",
    summary="Write the review",
    responses={
        404: {"description": "No such incident."},
        409: {"description": "Not resolved, or signed off."},
    },
)
def put_review(
    incident_id: RowId, body: WrittenIn, principal: ManageIncidents, context: Context
) -> JSONResponse:
    """Write some of the review's texts: contributing factors, went well, went wrong, where lucky."""
    with unit_of_work(context.session_factory) as session:
        save_written(
            session,
            incident_id=incident_id,
            texts=body.model_dump(exclude_unset=True),
            by=principal.signed,
            now=context.clock.now(),
        )
    return JSONResponse(drafted(context, incident_id).as_dict())


@router.post(
    "/{incident_id}/review/sign-off",
    summary="Sign the review off",
    responses={
        404: {"description": "No such incident."},
        409: {"description": "Not resolved, already signed off, or nothing written."},
    },
)
def post_sign_off(incident_id: RowId, principal: ManageIncidents, context: Context) -> JSONResponse:
    """Sign the review off: the incident moves to reviewed (its last step)."""
    with unit_of_work(context.session_factory) as session:
        sign_off(session, incident_id=incident_id, by=principal.signed, now=context.clock.now())
    return JSONResponse(drafted(context, incident_id).as_dict())


def trends_now(context: WebContext) -> Trends:
    """The reviews across incidents as they stand now."""
    with unit_of_work(context.session_factory) as session:
        found = current_plan(session)
        return trends(session, plan=found[1] if found is not None else None, now=context.clock.now())


def trends_dict(found: Trends) -> dict[str, Any]:
    """The API's shape of the trends."""
    return {
        "quarters": [
            {
                "quarter": q.quarter,
                "incidents": q.incidents,
                "measures": {name: vars(spread) for name, spread in q.measures.items()},
            }
            for q in found.quarters
        ],
        "definitions": {m.name: m.definition for m in MEASURES},
        "outages_per_component": [vars(c) for c in found.by_component],
        "outages_per_vendor": [vars(c) for c in found.by_vendor],
        "actions": {
            "open": found.actions_open,
            "overdue": found.actions_overdue,
            "closed": found.actions_closed,
        },
        "reviews": [
            {
                "incident_id": r.incident_id,
                "title": r.title,
                "state": r.state,
                "detected_at": r.detected_at.isoformat(),
                "signed_off_at": r.signed_off_at.isoformat() if r.signed_off_at else None,
            }
            for r in found.reviews
        ],
    }


@across.get(
    "",
    summary="Reviews across incidents",
    responses={200: {"description": "Trends per quarter, outages per component and vendor, actions."}},
)
def get_reviews(principal: ReadOutages, context: Context) -> JSONResponse:
    """Each measure's median and 90th percentile per quarter (seconds), outages per component and per
    vendor, the actions open and overdue, and the closed incidents (newest first)."""
    return JSONResponse(trends_dict(trends_now(context)))
