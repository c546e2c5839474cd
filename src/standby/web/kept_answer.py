"""Answering from what is kept, or passing the request on: the shape of our raw ASGI fast paths.

A hot route (the status documents, the overview, the components list) can often be
answered from a rendering already kept in memory, for less than FastAPI's routing and
dependency machinery would cost. Each fast path says which requests it may answer
(`wants`) and what it would send (`kept`, None when it has nothing fit); this base
sends it, or hands the request to the app unchanged, and then lets the fast path see
what the app did (`passed`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from starlette.types import ASGIApp, Receive, Scope, Send

RawHeaders = list[tuple[bytes, bytes]]


KeptAnswer = tuple[int, RawHeaders, bytes]
"""A whole response sent from what is kept: status, raw headers and body (a plain tuple: no
object built per request on the path a surge takes)."""


class KeptAnswers(ABC):
    """A plain ASGI middleware that answers some requests from what is kept, and passes the rest on."""

    def __init__(self, app: ASGIApp) -> None:
        """In front of `app`, which answers whatever is not answered here."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the kept answer when there is one for this request; else pass the request on."""
        wanted = scope["type"] == "http" and self.wants(scope)
        if wanted:
            answer = await self.kept(scope)
            if answer is not None:
                status, headers, body = answer
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
        if wanted:
            self.passed(scope)

    @abstractmethod
    def wants(self, scope: Scope) -> bool:
        """Whether this HTTP request is one this fast path may answer (method, path, query)."""

    @abstractmethod
    async def kept(self, scope: Scope) -> KeptAnswer | None:
        """The answer from what is kept, or None to pass the request on to the app."""

    def passed(self, scope: Scope) -> None:
        """A request this fast path wanted was answered by the app; by default, nothing to note."""
        return None
