"""/api/v1/outages, and /api/v1/stream: the change feed as Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from standby.detect.history import (
    Change,
    OutageRecord,
    changes_after,
    get_outage,
    last_change_id,
    list_outages,
    recent_changes,
)
from standby.store.engine import unit_of_work
from standby.web.auth import ReadOutages
from standby.web.context import Context, WebContext
from standby.web.contract import BigPosition, RowId

router = APIRouter(tags=["outages"])


class OutageOut(BaseModel):
    """An outage: probable causes, what it hits, classification, start, end and duration."""

    id: int
    open: bool
    classification: str
    peak_classification: str
    summary: str
    causes: list[str]
    components: list[str]
    sites: list[str]
    queues: list[str]
    degraded_queues: list[str]
    ever: dict[str, list[str]]
    in_maintenance: bool
    exercise_id: int | None  # the exercise that injected it; null for a real outage
    started_at: datetime
    detected_at: datetime
    ended_at: datetime | None
    duration_s: float
    merged_into: int | None
    plan_version: int | None


class ChangeOut(BaseModel):
    """One entry of the change feed."""

    id: int
    at: datetime
    kind: str
    ref: str
    summary: str
    data: dict[str, Any]


class OutageList(BaseModel):
    """Outages, newest first."""

    outages: list[OutageOut]


class OutageDetail(OutageOut):
    """One outage with its changes, oldest first."""

    changes: list[ChangeOut]


def outage_out(record: OutageRecord, now: datetime) -> OutageOut:
    """The API shape of an outage."""
    return OutageOut(
        id=record.id,
        open=record.ended_at is None,
        classification=record.classification,
        peak_classification=record.peak_classification,
        summary=record.summary,
        causes=list(record.causes),
        components=list(record.components),
        sites=list(record.sites),
        queues=list(record.queues),
        degraded_queues=list(record.degraded_queues),
        ever=record.ever,
        in_maintenance=record.in_maintenance,
        exercise_id=record.exercise_id,
        started_at=record.started_at,
        detected_at=record.detected_at,
        ended_at=record.ended_at,
        duration_s=round(record.duration_s(now), 3),
        merged_into=record.merged_into,
        plan_version=record.plan_version_id,
    )


def change_out(change: Change) -> ChangeOut:
    """The API shape of a feed entry."""
    return ChangeOut(
        id=change.id, at=change.at, kind=change.kind, ref=change.ref, summary=change.summary, data=change.data
    )


@router.get("/api/v1/outages", summary="Outages")
def outages(
    principal: ReadOutages,
    context: Context,
    open: Annotated[bool, Query(description="Only outages that have not ended.")] = False,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many.")] = 100,
    before: Annotated[RowId | None, Query(description="Only outages with a lower id (paging).")] = None,
) -> OutageList:
    """Outages, newest first: one per root cause, with what each hits."""
    now = context.clock.now()
    with unit_of_work(context.session_factory) as session:
        records = list_outages(session, open_only=open, limit=limit, before_id=before)
    return OutageList(outages=[outage_out(r, now) for r in records])


@router.get(
    "/api/v1/outages/{outage_id}",
    summary="One outage",
    responses={404: {"description": "No outage with this id."}},
)
def outage(outage_id: RowId, principal: ReadOutages, context: Context) -> OutageDetail:
    """One outage with how it opened, widened, narrowed and ended."""
    now = context.clock.now()
    with unit_of_work(context.session_factory) as session:
        record = get_outage(session, outage_id)
        changes = recent_changes(session, kind="outage", ref=str(outage_id), limit=500)
    return OutageDetail(
        **outage_out(record, now).model_dump(), changes=[change_out(c) for c in reversed(changes)]
    )


_POLL_S = 1.0
_KEEPALIVE_S = 15.0


@router.get(
    "/api/v1/stream",
    summary="Changes as Server-Sent Events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "An event stream."}},
)
async def stream(
    request: Request,
    principal: ReadOutages,
    context: Context,
    last_event_id: Annotated[BigPosition | None, Header(description="Resume after this event id.")] = None,
    after: Annotated[BigPosition | None, Query(description="Resume after this event id.")] = None,
    limit: Annotated[int | None, Query(ge=1, le=100_000, description="Close after this many events.")] = None,
    timeout_s: Annotated[
        float, Query(gt=0, le=86_400, description="Close after this many seconds (browsers reconnect).")
    ] = 3600,
) -> StreamingResponse:
    """Component state changes (`event: component`) and outage changes (`event: outage`), as they happen.

    Each event's `id` is its place in the feed: a client that reconnects with
    Last-Event-ID (browsers do it by themselves) misses nothing that is still kept.
    """
    start = after if after is not None else last_event_id
    if start is None:
        with unit_of_work(context.session_factory) as session:
            start = last_change_id(session)
    return StreamingResponse(
        _events(request, context, start, limit, timeout_s),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(
    request: Request, context: WebContext, after: int, limit: int | None, timeout_s: float
) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    sent = 0
    quiet_since = loop.time()
    yield "retry: 2000\n\n"
    while loop.time() < deadline and not await request.is_disconnected():

        def fetch(after_id: int = after) -> list[Change]:
            with unit_of_work(context.session_factory) as session:
                return changes_after(session, after_id, limit=200)

        for change in await asyncio.to_thread(fetch):
            after = change.id
            payload = change_out(change).model_dump(mode="json")
            yield f"id: {change.id}\nevent: {change.kind}\ndata: {json.dumps(payload)}\n\n"
            sent += 1
            quiet_since = loop.time()
            if limit is not None and sent >= limit:
                return
        if loop.time() - quiet_since > _KEEPALIVE_S:
            yield ": keep-alive\n\n"
            quiet_since = loop.time()
        # Never past the deadline: a client that asked for a short stream gets it closed on time.
        await asyncio.sleep(min(_POLL_S, max(0.0, deadline - loop.time())))
