"""Security headers on every response: a Content Security Policy, no sniffing, and the referrer.

- Content-Security-Policy: scripts, styles, images, fetches and workers from this site
  only; no inline script or style (the pages load theirs from /static/), no plugins,
  no <base> tricks, forms post only here, and no other site may frame a page
  (`frame-ancestors 'none'`: clickjacking). On the API it is harmless and stops a JSON
  answer opened in a tab from running anything.
- X-Content-Type-Options: nosniff, so a browser never runs an upload or a CSV as a script.
- Referrer-Policy: same-origin. Other sites never learn which page of ours linked to
  them (acknowledgement links carry a signed token in their path, and the calendar feed
  a key in its query); our own pages still send the Origin header on their POSTs, which
  the CSRF check reads (`no-referrer` would make browsers send `Origin: null`).

A response that sets one of these itself keeps its own (the acknowledgement page sends
no referrer at all; the self-contained impact report allows its inline styles).

A plain ASGI middleware, not Starlette's BaseHTTPMiddleware: that one buffers streamed
answers through a task, and the event stream (/api/v1/stream) is open for hours.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; base-uri 'none'; object-src 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # For browsers that predate frame-ancestors.
    "X-Frame-Options": "DENY",
}


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to the response's start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
