"""Atlassian Statuspage's public read API at /api/v2/: the same answers a Statuspage page gives.

No login (the contract lists these operations as public). Answers come from the status
board's latest rendering, like the page itself: never a database read per request.
Beside them, `POST /api/v1/incidents/{id}/status-updates`: the communications lead's
update for the page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from standby.status.notices import NoticeStatus
from standby.status.updates_service import MAX_TEXT, PublicUpdate, post_public_update
from standby.store.engine import unit_of_work
from standby.web.auth import ManageIncidents
from standby.web.context import Context
from standby.web.contract import STATUSPAGE_DOCUMENTS, RowId
from standby.web.pages.status import published

router = APIRouter(prefix="/api/v2", tags=["statuspage"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The document, in Statuspage's v2 shape.",
        "content": {"application/json": {"schema": {"type": "object"}}},
    },
    304: {"description": "Not modified: the copy named by If-None-Match or If-Modified-Since is current."},
    503: {"description": "Nothing published yet (no plan, or starting): try again (Retry-After)."},
}
_SUMMARIES = {
    "summary.json": "Status summary: page, components, unresolved incidents, upcoming maintenance, status",
    "status.json": "Overall status: the indicator and its description",
    "components.json": "Components (the public services) and their status",
    "incidents.json": "The 50 most recent incidents with their updates",
    "scheduled-maintenances.json": "Planned maintenance in progress or to come",
    "incidents/unresolved.json": "Unresolved incidents: those not yet resolved, with their updates",
    "scheduled-maintenances/upcoming.json": "Upcoming maintenance: planned work not yet started",
    "scheduled-maintenances/active.json": "Active maintenance: planned work in progress",
}


def _route(name: str) -> None:
    async def document(request: Request) -> Response:
        return await published(request, f"/api/v2/{name}")

    document.__doc__ = _SUMMARIES[name] + "."
    router.add_api_route(
        f"/{name}",
        document,
        methods=["GET"],
        summary=_SUMMARIES[name].split(":")[0],
        description=_SUMMARIES[name] + ". Atlassian Statuspage's field names and values; no login.",
        responses=_RESPONSES,
        response_class=Response,
        operation_id="statuspage_" + name.removesuffix(".json").replace("-", "_").replace("/", "_"),
    )


for _name in STATUSPAGE_DOCUMENTS:
    _route(_name)


# -- what the communications lead publishes ---------------------------------------------

updates_router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


class PublicUpdateIn(BaseModel):
    """An update for the status page: the status it announces, and the words customers read."""

    status: NoticeStatus = Field(description="Statuspage's incident status this update announces.")
    text: str = Field(min_length=1, max_length=MAX_TEXT, description="What customers read.")


@updates_router.post(
    "/{incident_id}/status-updates",
    summary="Publish an update on the status page",
    status_code=201,
    response_model=PublicUpdate,
    responses={404: {"description": "No such incident."}},
)
def publish_update(
    incident_id: RowId, body: PublicUpdateIn, principal: ManageIncidents, context: Context
) -> PublicUpdate:
    """Write an update for the public status page on the incident's timeline."""
    with unit_of_work(context.session_factory) as session:
        return post_public_update(
            session,
            incident_id=incident_id,
            status=body.status,
            text=body.text,
            by=principal.signed,
            now=context.clock.now(),
        )
