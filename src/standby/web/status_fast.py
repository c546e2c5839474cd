"""The status documents answered before routing: a plain ASGI middleware, outermost of ours.

A surge on /status is what the page is for, so its GETs skip FastAPI's routing, its
dependency machinery and the other middleware: a GET or HEAD whose path is a document
the status board has rendered (/status, /status.json, /status/feed.atom, a notice's
permalink) is answered here from memory, with the same headers the route would send
(validators, Cache-Control, the security headers) and the same 304 rule
(status_render.fresh). The header block of each document is built once per rendering.
Everything else, and these paths before the first rendering, go on to the app. These
answers are not counted by the request metrics (web/metrics.py), which run inside.

Under `standby serve` most of these requests are answered earlier still, inside uvicorn's
HTTP protocol (web/status_wire.py); this path answers the rest (a request queued behind
one the app is answering, a percent-encoded path) and serves other servers (h11) and ASGI
transports.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Scope

from standby.status.board import Document, StatusBoard
from standby.web.headers import SECURITY_HEADERS
from standby.web.kept_answer import KeptAnswer, KeptAnswers, RawHeaders
from standby.web.status_render import fresh, validators

PREFIX = "/status"


class StatusFastPath(KeptAnswers):
    """Answers GET and HEAD of the rendered status documents straight from the board."""

    def __init__(self, app: ASGIApp, board: StatusBoard) -> None:
        """In front of `app`, serving `board`'s documents."""
        super().__init__(app)
        self.board = board
        self._headers = DocumentHeaders()

    def wants(self, scope: Scope) -> bool:
        """A GET or HEAD of a path under /status, without a query."""
        return (
            scope["method"] in ("GET", "HEAD")
            and scope["path"].startswith(PREFIX)
            and not scope.get("query_string")
        )

    async def kept(self, scope: Scope) -> KeptAnswer | None:
        """The document as the board has it (a 304 when the client's copy is fresh); None before."""
        document = self.board.get(scope["path"])
        if document is None:
            return None
        full, short = self._headers.of(document)
        tags = since = None
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                tags = value.decode("latin-1")
            elif name == b"if-modified-since":
                since = value.decode("latin-1")
        if (tags is not None or since is not None) and fresh(tags, since, document):
            return 304, short, b""
        return 200, full, b"" if scope["method"] == "HEAD" else document.body


class DocumentHeaders:
    """Each rendered document's raw headers, the 200's and the 304's, built once per rendering.

    Shared with the answers on the wire (web/status_wire.py): both send the same headers.
    """

    def __init__(self) -> None:
        """Nothing built yet."""
        self._built: dict[int, tuple[Document, RawHeaders, RawHeaders]] = {}

    def of(self, document: Document) -> tuple[RawHeaders, RawHeaders]:
        """The 200's headers and the 304's (the validators and security headers, no body's)."""
        found = self._built.get(id(document))
        if found is not None and found[0] is document:
            return found[1], found[2]
        named = {**validators(document), **SECURITY_HEADERS}
        common = [(k.lower().encode(), v.encode()) for k, v in named.items()]
        full = [
            (b"content-type", document.media_type.encode()),
            (b"content-length", str(len(document.body)).encode()),
            *common,
        ]
        if len(self._built) > 1000:  # documents of past renderings: let them go
            self._built.clear()
        self._built[id(document)] = (document, full, common)
        return full, common
