"""The overview and the components list answered before routing, when what they show is built.

A plain ASGI middleware, inside the request metrics and the security headers (so these
answers are counted under their route and carry the same headers), in front of FastAPI's
routing and dependency machinery, which cost more than the answer itself. A GET of `/`
or `/api/v1/components` goes through the same door as the route (standby.web.quick_door:
the credential and the change mark, read on every request), and when a rendering is kept
for that mark it is sent as is. Everything else goes on to the routes, which answer it
in full: no credential or a refused one, a role without the permission, a conditional
request, a rendering not built yet, a database away.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Request
from starlette.types import ASGIApp, Scope

from standby.access.roles import Permission
from standby.web.api.components import listing_key
from standby.web.context import WebContext
from standby.web.kept_answer import KeptAnswer, KeptAnswers, RawHeaders
from standby.web.pages.overview import page_key
from standby.web.quick_door import Admitted, QuickDoor

Found = tuple[bytes, RawHeaders] | None


def _listing(context: WebContext, seen: Admitted) -> Found:
    body = context.rendered.peek(listing_key(seen))
    if body is None:
        return None
    # The headers standby.web.rendered.answer sends.
    headers = [
        (b"content-type", b"application/json"),
        (b"etag", body.etag.encode()),
        (b"cache-control", b"private, no-cache"),
    ]
    return body.content, headers


def _overview(context: WebContext, seen: Admitted) -> Found:
    page = context.overview_pages.peek(page_key(context, seen))
    return None if page is None else (page, [(b"content-type", b"text/html; charset=utf-8")])


KEPT: dict[str, Callable[[WebContext, Admitted], Found]] = {
    "/api/v1/components": _listing,
    "/": _overview,
}


class HotFastPath(KeptAnswers):
    """Sends the kept overview or components list to a request the door lets in (see the module)."""

    def __init__(self, app: ASGIApp, web: FastAPI) -> None:
        """In front of `app`'s routing; `web` holds the context and the door."""
        super().__init__(app)
        self.web = web
        self._routes: dict[str, object] = {}

    def wants(self, scope: Scope) -> bool:
        """A GET of the overview or of the components list."""
        return bool(scope["method"] == "GET" and scope["path"] in KEPT)

    async def kept(self, scope: Scope) -> KeptAnswer | None:
        """What is kept for the mark the door read, when it lets the request in; else None."""
        request = Request(scope)
        if "if-none-match" in request.headers:
            return None  # the route answers 304s
        context: WebContext = self.web.state.standby
        try:
            seen = await QuickDoor.of(request).admit(request, context, Permission.READ_COMPONENTS)
        except Exception:  # the route asks again, and answers the refusal or the failure in full
            return None
        found = KEPT[scope["path"]](context, seen)
        if found is None:
            return None
        body, headers = found
        scope["route"] = self._routes.get(scope["path"])  # counted under its route (web/metrics.py)
        headers.append((b"content-length", str(len(body)).encode()))
        return 200, headers, body

    def passed(self, scope: Scope) -> None:
        """Note the route that answered: whatever is kept was built by it first (for the metrics)."""
        if "route" in scope:
            self._routes[scope["path"]] = scope["route"]
