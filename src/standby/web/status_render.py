"""The public status documents as bytes, and how they are served from memory.

`renderer` turns a snapshot into every public document (the page, each notice's
permalink, /status.json, Statuspage's v2 JSON and the Atom feed); `serve` answers a
request from the board's latest rendering with a strong ETag, Last-Modified, 304 on
revalidation and a Cache-Control that lets caches serve a stale copy when Standby errs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from standby.status import statuspage
from standby.status.board import Document, Renderer
from standby.status.feed import atom_feed
from standby.status.notices import NOTICE_WORDS
from standby.status.services import STATUS_WORDS
from standby.status.snapshot import Snapshot, status_document
from standby.status.uptime import HOW_COUNTED, uptime_text
from standby.web.rendered import etag_matches

CACHE_CONTROL = "public, max-age=5, stale-while-revalidate=30, stale-if-error=86400"
"""Caches may keep a copy 5 s, revalidate in the background, and serve it for a day when we fail."""
JSON = "application/json"
HTML = "text/html; charset=utf-8"
ATOM = "application/atom+xml"


def renderer(templates: Jinja2Templates, base_url: str) -> Renderer:
    """A function from a snapshot to every public document, by path."""

    def render(snapshot: Snapshot) -> Mapping[str, tuple[bytes, str]]:
        documents: dict[str, tuple[bytes, str]] = {
            "/status": (_page(templates, "status.html", snapshot, base_url, None), HTML),
            "/status.json": (_json(status_document(snapshot, base_url)), JSON),
            "/status/feed.atom": (atom_feed(snapshot, base_url), ATOM),
        }
        for name, body in statuspage.documents(snapshot, base_url).items():
            documents[f"/api/v2/{name}"] = (_json(body), JSON)
        for notice in snapshot.notices:
            page = _page(templates, "status_incident.html", snapshot, base_url, notice.id)
            documents[f"/status/incidents/{notice.id}"] = (page, HTML)
        return documents

    return render


def _json(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _page(
    templates: Jinja2Templates, name: str, snapshot: Snapshot, base_url: str, notice_id: int | None
) -> bytes:
    zone = ZoneInfo(snapshot.timezone)

    def when(moment: datetime | None) -> str:
        return "" if moment is None else moment.astimezone(zone).strftime("%d %b %Y %H:%M %Z")

    model = {
        "snapshot": snapshot,
        "notice": next((n for n in snapshot.notices if n.id == notice_id), None),
        "base_url": base_url,
        "when": when,
        "status_words": STATUS_WORDS,
        "notice_words": NOTICE_WORDS,
        "how_counted": HOW_COUNTED,
        "uptime_text": uptime_text,
    }
    return templates.get_template(name).render(model).encode()


def validators(document: Document) -> dict[str, str]:
    """The caching headers every answer of the document carries, 304s too."""
    return {
        "ETag": document.etag,
        "Last-Modified": format_datetime(document.last_modified, usegmt=True),
        "Cache-Control": CACHE_CONTROL,
        "Vary": "Accept-Encoding",
    }


def serve(request: Request, document: Document) -> Response:
    """The document, or 304 when the caller's copy is current."""
    headers = validators(document)
    if _fresh(request, document):
        return Response(status_code=304, headers=headers)
    body = b"" if request.method == "HEAD" else document.body
    response = Response(body, media_type=document.media_type, headers=headers)
    if request.method == "HEAD":
        response.headers["Content-Length"] = str(len(document.body))
    return response


def _fresh(request: Request, document: Document) -> bool:
    """Whether the caller's copy is the current one (RFC 9110: If-None-Match wins over the date)."""
    return fresh(request.headers.get("if-none-match"), request.headers.get("if-modified-since"), document)


def fresh(tags: str | None, since: str | None, document: Document) -> bool:
    """Whether a copy with these validators is the current one (If-None-Match wins over the date)."""
    if tags is not None:
        return etag_matches(tags, document.etag)
    if since is None:
        return False
    try:
        moment = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False  # a date we cannot read: answer in full
    if moment.tzinfo is None:
        return False
    return document.last_modified <= moment
