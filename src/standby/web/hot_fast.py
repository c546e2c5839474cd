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
from starlette.types import ASGIApp, Receive, Scope, Send

from standby.access.roles import Permission
from standby.web.api.components import listing_key
from standby.web.context import WebContext
from standby.web.pages.overview import page_key
from standby.web.quick_door import Admitted, QuickDoor

RawHeaders = list[tuple[bytes, bytes]]
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


class HotFastPath:
    """Sends the kept overview or components list to a request the door lets in (see the module)."""

    def __init__(self, app: ASGIApp, web: FastAPI) -> None:
        """In front of `app`'s routing; `web` holds the context and the door."""
        self.app = app
        self.web = web
        self._routes: dict[str, object] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer from what is kept when the door lets the request in; else pass it on."""
        hot = scope["type"] == "http" and scope["method"] == "GET" and scope["path"] in KEPT
        if hot and await self._answered(scope, send):
            return
        await self.app(scope, receive, send)
        if hot and "route" in scope:
            # Whatever is kept was built by the route first: by then its object is known here.
            self._routes[scope["path"]] = scope["route"]

    async def _answered(self, scope: Scope, send: Send) -> bool:
        request = Request(scope)
        if "if-none-match" in request.headers:
            return False  # the route answers 304s
        context: WebContext = self.web.state.standby
        try:
            seen = await QuickDoor.of(request).admit(request, context, Permission.READ_COMPONENTS)
        except Exception:  # the route asks again, and answers the refusal or the failure in full
            return False
        found = KEPT[scope["path"]](context, seen)
        if found is None:
            return False
        body, headers = found
        scope["route"] = self._routes.get(scope["path"])  # counted under its route (web/metrics.py)
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return True
