"""The status documents answered on the wire: inside uvicorn's HTTP protocol, before any ASGI cycle.

A surge on /status is what the page is for. The ASGI fast path (web/status_fast.py)
already skips FastAPI, but each request still costs uvicorn a task and an ASGI cycle
(about 35 µs), which held one process to a quarter of nginx serving the same bytes
(docs/benchmarks.md, the status page under load). `StatusWire` is uvicorn's httptools
protocol with one change: a complete GET or HEAD, without a query or a body, of a
document the status board has rendered (/status, /status.json, /status/feed.atom, a
notice's permalink) is answered by writing the whole response, built once per rendering
and per second (uvicorn's Date header), straight to the socket. The bytes are those the
ASGI path sends: uvicorn's status line and default headers, the same header blocks
(status_fast.DocumentHeaders), the same 304 rule (status_render.fresh), `connection:
close` where uvicorn would add it.

Everything else goes on to the app unchanged: other paths and methods, a query string,
a percent-encoded path, a request with a body or an upgrade, a document not rendered
yet, a server started with a root path or a concurrency limit, a client not reading
its answers; and any request behind one the app is still answering on the same
connection (pipelining: answers must leave in the order the requests came).

After answers given here, one keep-alive check per timeout period replaces uvicorn's
timer armed and cancelled per answer; it also closes a connection whose next request
stopped half-way through its headers for that long, which uvicorn would leave open.

uvicorn has no supported hook for this: `http=` takes a protocol class (uvicorn issue
1228), and this one overrides four of HttpToolsProtocol's methods (two parser callbacks,
data_received and connection_lost), so it follows uvicorn's internals: check it at each
uvicorn upgrade (tests/e2e/test_status_wire.py holds it to uvicorn's own protocol, byte
for byte). These answers are not counted by the request metrics, like the ASGI fast path's.
"""

from __future__ import annotations

import urllib.parse
from asyncio import TimerHandle
from typing import ClassVar

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from standby.status.board import Document, StatusBoard
from standby.web.kept_answer import RawHeaders
from standby.web.status_fast import PREFIX, DocumentHeaders
from standby.web.status_render import fresh

_PREFIX = PREFIX.encode()
_READS = (b"GET", b"HEAD")
# A request that may carry a body, or waits for a 100 Continue, is the app's to read.
_NOT_PLAIN = frozenset((b"content-length", b"transfer-encoding", b"expect"))
_KEPT_AT_MOST = 4096
"""Answers kept before the old ones are let go (documents of past renderings)."""

_Kept = tuple[Document, RawHeaders, bytes]


class WireAnswers:
    """Whole responses (status line, headers, body) per document and kind, rebuilt once a second."""

    def __init__(self) -> None:
        """Nothing built yet."""
        self._headers = DocumentHeaders()
        self._kept: dict[tuple[int, int, bool, bool], _Kept] = {}

    def answer(
        self, document: Document, status: int, head: bool, keep_alive: bool, defaults: RawHeaders
    ) -> bytes:
        """The bytes uvicorn would write for the ASGI fast path's answer, with `defaults` (Date, Server)."""
        key = (id(document), status, head, keep_alive)
        found = self._kept.get(key)
        # uvicorn replaces its default headers' list each second (a new Date): the same list, same bytes.
        if found is not None and found[0] is document and found[1] is defaults:
            return found[2]
        full, short = self._headers.of(document)
        parts = [STATUS_LINE[status]]
        for name, value in (*defaults, *(full if status == 200 else short)):
            parts += [name, b": ", value, b"\r\n"]
        if not keep_alive:
            parts.append(b"connection: close\r\n")
        parts.append(b"\r\n")
        if status == 200 and not head:
            parts.append(document.body)
        built = b"".join(parts)
        if len(self._kept) >= _KEPT_AT_MOST:
            self._kept.clear()
        self._kept[key] = (document, defaults, built)
        return built


class StatusWire(HttpToolsProtocol):
    """uvicorn's httptools protocol, answering the rendered status documents before any ASGI cycle."""

    board: ClassVar[StatusBoard]
    answers: ClassVar[WireAnswers]
    _wired: bytes | None = None
    """The answer to the request being parsed, when it is answered here."""
    _closing = False
    """Whether the connection closes after that answer (HTTP/1.0, Connection: close)."""
    _heard_at = 0.0
    """When the client last sent anything (the loop's clock)."""
    _idle_timer: TimerHandle | None = None
    """The keep-alive timeout's check after answers given here."""

    def data_received(self, data: bytes) -> None:
        """Note the time (the keep-alive timeout counts from it), then parse as uvicorn does."""
        self._heard_at = self.loop.time()
        super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the keep-alive check, then let uvicorn tidy up."""
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        super().connection_lost(exc)

    def on_headers_complete(self) -> None:
        """Answer here when the request qualifies; else start (or queue) the ASGI cycle as uvicorn does."""
        wired = self._answer_here()
        if wired is None:
            super().on_headers_complete()
        else:
            self._wired = wired

    def on_message_complete(self) -> None:
        """Write the answer decided at the headers, or let uvicorn tell the app the body is all in."""
        wired = self._wired
        if wired is None:
            super().on_message_complete()
            return
        self._wired = None
        self.transport.write(wired)
        self.server_state.total_requests += 1  # uvicorn's count (--limit-max-requests)
        if self._closing:
            self.transport.close()
        elif self._idle_timer is None:
            # uvicorn arms a timer after every answer and cancels it at the next data (about a
            # microsecond each, a tenth of an answer here): one check per timeout period instead.
            self._idle_timer = self.loop.call_later(self.timeout_keep_alive, self._idle_check)

    def _idle_check(self) -> None:
        """Close the connection when it was idle for uvicorn's keep-alive timeout; else look again later."""
        self._idle_timer = None
        if self.transport.is_closing() or self.timeout_keep_alive_task is not None:
            return  # closed, or the app answered last: uvicorn's own timer runs
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            return  # the app is answering: uvicorn arms its timer when it is done
        idle = self.loop.time() - self._heard_at
        if idle >= self.timeout_keep_alive:
            self.transport.close()
        else:
            self._idle_timer = self.loop.call_later(self.timeout_keep_alive - idle, self._idle_check)

    def _answer_here(self) -> bytes | None:
        """The whole answer when this request may be answered on the wire; None sends it to the app."""
        url = self.url
        if not url.startswith(_PREFIX):
            return None
        # latin-1 never fails: a path that is not ASCII matches no document and goes to uvicorn.
        # A document's path holds no query or fragment: a target with either finds none.
        path = url.decode("latin-1")
        document = self.board.get(path)
        if document is None or b"%" in url or self.root_path:
            return None  # uvicorn would decode the escapes, or prefix the root path: its answer
        parser = self.parser
        method = parser.get_method()
        if method not in _READS or parser.should_upgrade() or self.limit_concurrency is not None:
            return None
        cycle = self.cycle
        if (cycle is not None and not cycle.response_complete) or self.flow.write_paused:
            return None  # behind an answer still in the app, or a client not reading: uvicorn's order
        tags = since = None
        for name, value in self.headers:
            if name == b"if-none-match":
                tags = value.decode("latin-1")
            elif name == b"if-modified-since":
                since = value.decode("latin-1")
            elif name in _NOT_PLAIN:
                return None
        status = 304 if (tags is not None or since is not None) and fresh(tags, since, document) else 200
        version = parser.get_http_version()
        keep_alive = version != "1.0" and parser.should_keep_alive()
        self._closing = not keep_alive
        if self.access_log:  # the line uvicorn's cycle would log
            self.access_logger.info(
                '%s - "%s %s HTTP/%s" %d',
                f"{self.client[0]}:{self.client[1]}" if self.client else "",
                method.decode("ascii"),
                urllib.parse.quote(path),
                version,
                status,
            )
        defaults = self.server_state.default_headers
        return self.answers.answer(document, status, method == b"HEAD", keep_alive, defaults)


def status_wire(board: StatusBoard) -> type[StatusWire]:
    """A StatusWire protocol class serving `board`'s documents: uvicorn's `http=`."""

    class BoardWire(StatusWire):
        pass

    BoardWire.board = board
    BoardWire.answers = WireAnswers()
    return BoardWire
