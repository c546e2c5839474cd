"""Atlassian Statuspage's public read API at /api/v2/: the same answers a Statuspage page gives.

No login (the contract lists these operations as public). Answers come from the status
board's latest rendering, like the page itself: never a database read per request.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from standby.web.contract import STATUSPAGE_DOCUMENTS
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
        operation_id=f"statuspage_{name.removesuffix('.json').replace('-', '_')}",
    )


for _name in STATUSPAGE_DOCUMENTS:
    _route(_name)
