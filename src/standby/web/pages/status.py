"""The public status page: /status, each notice's permalink, /status.json and the Atom feed.

No login, no script, no database read per request: every answer comes from the status
board's latest rendering (standby.status.board), revalidated by ETag or date. Only
before the very first rendering (just after start) does a request wait for one.
"""

from __future__ import annotations

import anyio.to_thread
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from standby.status.board import StatusBoard
from standby.web.contract import RowId
from standby.web.status_render import serve

router = APIRouter(include_in_schema=False)
NOT_READY = (
    "the status page is not published yet (no plan is loaded, or Standby is starting): try again shortly"
)


async def published(request: Request, path: str) -> Response:
    """The board's document at `path`; 503 before anything is published, 404 for no such notice."""
    board: StatusBoard = request.app.state.status_board
    if not board.ready:
        await anyio.to_thread.run_sync(lambda: board.refresh(tell=False))
    document = board.get(path)
    if document is None:
        if board.ready:
            raise HTTPException(404, "there is no such incident on the status page")
        raise HTTPException(503, NOT_READY, headers={"Retry-After": "5"})
    return serve(request, document)


@router.api_route("/status", methods=["GET", "HEAD"])
async def status_page(request: Request) -> Response:
    """The public status page."""
    return await published(request, "/status")


@router.api_route("/status.json", methods=["GET", "HEAD"])
async def status_json(request: Request) -> Response:
    """The status page as JSON (Standby's own shape, with the uptime per day)."""
    return await published(request, "/status.json")


@router.api_route("/status/feed.atom", methods=["GET", "HEAD"])
async def status_feed(request: Request) -> Response:
    """The Atom feed of public notices."""
    return await published(request, "/status/feed.atom")


@router.api_route("/status/incidents/{incident_id}", methods=["GET", "HEAD"])
async def status_incident(request: Request, incident_id: RowId) -> Response:
    """One public notice's permalink."""
    return await published(request, f"/status/incidents/{incident_id}")
