"""The status documents answered on the wire (web/status_wire.py), under real uvicorn on 127.0.0.1.

Each answer is held to the bytes uvicorn's own httptools protocol sends for the ASGI fast
path (web/status_fast.py), on the same app at the same time (the Date header aside); a
wrapper in front of the app notes every request that reached it, so a test knows which
path answered. Raw sockets: keep-alive, pipelining, HTTP/1.0 and Connection: close are
the client's bytes to choose.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from io import BufferedReader
from pathlib import Path

import pytest
import uvicorn
from _status import ivr_down, refresh
from _web import Web, web
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from standby.web.status_wire import status_wire

__all__ = ["web"]
DOCUMENTS = ("/status", "/status.json", "/status/feed.atom")
SLOW_S = 0.3


class Seen:
    """The app, noting each request reaching it; /slow answers after SLOW_S (a request still in the app)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.requests: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope["query_string"].decode()
        self.requests.append(f"{scope['method']} {scope['path']}" + (f"?{query}" if query else ""))
        if scope["path"] != "/slow":
            await self.app(scope, receive, send)
            return
        await asyncio.sleep(SLOW_S)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"4")]})
        await send({"type": "http.response.body", "body": b"slow"})


@contextmanager
def serving(
    app: ASGIApp, http: type[asyncio.Protocol], keep_alive_s: int = 5, access_log: bool = False
) -> Iterator[int]:
    """`app` under uvicorn with this HTTP protocol, in a thread; yields the port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    # No lifespan: the tests render the board themselves, and two servers share the app.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, http=http, lifespan="off", log_level="warning",
        access_log=access_log, timeout_graceful_shutdown=5, timeout_keep_alive=keep_alive_s,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{http.__name__}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        assert not thread.is_alive(), "the server did not stop"


class Both:
    """The same app served twice: by uvicorn's httptools protocol (the ASGI path) and on the wire."""

    def __init__(self, web: Web, asgi_port: int, wire_port: int, seen: Seen) -> None:
        self.web, self.asgi_port, self.wire_port, self.seen = web, asgi_port, wire_port, seen

    def exchange(self, port: int, data: bytes, heads: list[bool], *, closes: bool = False) -> list[bytes]:
        """Send `data` on one new connection; the raw answers, one per request (True: a HEAD's)."""
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn, conn.makefile("rb") as reader:
            conn.sendall(data)
            answers = [read_answer(reader, head) for head in heads]
            if closes:
                assert reader.read() == b"", "the server should have closed the connection"
        return answers

    def both(self, request: bytes, *, head: bool = False, closes: bool = False) -> bytes:
        """One request's answer from each server; asserts they are the same bytes, Date aside."""
        before = len(self.seen.requests)
        asgi = self.exchange(self.asgi_port, request, [head], closes=closes)[0]
        assert len(self.seen.requests) == before + 1, "the ASGI path must have asked the app"
        wire = self.exchange(self.wire_port, request, [head], closes=closes)[0]
        assert len(self.seen.requests) == before + 1, "the wire must have answered without the app"
        assert same(wire) == same(asgi)
        return wire


def read_answer(reader: BufferedReader, head: bool) -> bytes:
    """One raw HTTP/1.1 answer, its body read by Content-Length (none for a HEAD or a 304)."""
    lines = [reader.readline()]
    while lines[-1] not in (b"\r\n", b""):
        lines.append(reader.readline())
    raw = b"".join(lines)
    assert raw.endswith(b"\r\n\r\n"), raw
    found = re.search(rb"\r\ncontent-length: (\d+)\r\n", raw)
    if found is not None and not head and not raw.startswith(b"HTTP/1.1 304 "):
        raw += reader.read(int(found.group(1)))
    return bytes(raw)


def same(answer: bytes) -> bytes:
    """The answer with its Date (uvicorn's, to the second) set aside."""
    dated, count = re.subn(rb"\r\ndate: [^\r]+\r\n", b"\r\ndate: -\r\n", answer, count=1)
    assert count == 1, answer[:200]
    return dated


def request(method: str, path: str, *headers: str, version: str = "1.1") -> bytes:
    """A raw request."""
    lines = [f"{method} {path} HTTP/{version}", "Host: 127.0.0.1", *headers, "", ""]
    return "\r\n".join(lines).encode()


def header(answer: bytes, name: str) -> str:
    """A header's value in a raw answer."""
    found = re.search(rf"\r\n{name}: ([^\r]*)\r\n".encode(), answer)
    assert found is not None, (name, answer[:400])
    return found.group(1).decode()


@pytest.fixture
def served(web: Web) -> Iterator[Both]:
    """`web`'s app behind both protocols, its board not rendered yet."""
    seen = Seen(web.app)
    wire = status_wire(web.app.state.status_board)
    with serving(seen, HttpToolsProtocol) as asgi_port, serving(seen, wire) as wire_port:
        yield Both(web, asgi_port, wire_port, seen)


def test_each_document_as_the_asgi_path_sends_it(served: Both, tmp_path: Path) -> None:
    ivr_down(served.web, tmp_path)  # a published notice: its permalink is a document too
    refresh(served.web)
    board = served.web.app.state.status_board
    permalinks = [p for p in board._documents if p.startswith("/status/incidents/")]
    assert len(permalinks) == 1
    for path in (*DOCUMENTS, *permalinks):
        full = served.both(request("GET", path))
        assert full.startswith(b"HTTP/1.1 200 OK\r\n")
        assert full.endswith(board.get(path).body)
        for name in ("content-security-policy", "x-frame-options", "cache-control", "etag"):
            header(full, name)
        head = served.both(request("HEAD", path), head=True)
        assert same(full).startswith(same(head)) and head.endswith(b"\r\n\r\n")
        assert len(full) == len(head) + len(board.get(path).body)
        etag, modified = header(full, "etag"), header(full, "last-modified")
        for validator in (f"If-None-Match: {etag}", f"If-Modified-Since: {modified}"):
            unchanged = served.both(request("GET", path, validator))
            assert unchanged.startswith(b"HTTP/1.1 304 Not Modified\r\n")
            assert header(unchanged, "etag") == etag and "content-length" not in unchanged.decode()
            served.both(request("HEAD", path, validator), head=True)
        changed = served.both(request("GET", path, 'If-None-Match: "another"'))
        assert same(changed) == same(full)


def test_the_wire_answers_without_the_app(served: Both) -> None:
    refresh(served.web)
    served.seen.requests.clear()
    answers = served.exchange(
        served.wire_port,
        b"".join(request(m, p) for p in DOCUMENTS for m in ("GET", "HEAD")),
        [m == "HEAD" for _ in DOCUMENTS for m in ("GET", "HEAD")],
    )
    assert all(a.startswith(b"HTTP/1.1 200 OK\r\n") for a in answers)
    assert served.seen.requests == []  # six answers on one connection, none through the app


def test_keep_alive_several_requests_on_one_connection(served: Both) -> None:
    refresh(served.web)
    served.seen.requests.clear()
    with socket.create_connection(("127.0.0.1", served.wire_port), timeout=10) as conn:
        reader = conn.makefile("rb")
        for path in (*DOCUMENTS, "/status", "/status.json"):
            conn.sendall(request("GET", path))
            answer = read_answer(reader, False)
            assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and b"connection: close" not in answer
        conn.sendall(request("GET", "/status?via=app"))  # then the app, on the same connection
        assert read_answer(reader, False).startswith(b"HTTP/1.1 200 OK\r\n")
        conn.sendall(request("GET", "/status"))
        assert read_answer(reader, False).startswith(b"HTTP/1.1 200 OK\r\n")
        reader.close()
    assert served.seen.requests == ["GET /status?via=app"]


def test_pipelined_answers_keep_the_order_of_the_requests(served: Both) -> None:
    refresh(served.web)
    board = served.web.app.state.status_board
    status, feed = board.get("/status").body, board.get("/status/feed.atom").body
    served.seen.requests.clear()
    # A document behind a request the app is still answering waits its turn (the app answers it).
    slow_first = request("GET", "/slow") + request("GET", "/status") + request("GET", "/status/feed.atom")
    answers = served.exchange(served.wire_port, slow_first, [False, False, False])
    assert [a.endswith(b) for a, b in zip(answers, (b"slow", status, feed), strict=True)] == [True] * 3
    assert served.seen.requests == ["GET /slow", "GET /status", "GET /status/feed.atom"]
    served.seen.requests.clear()
    # Answered on the wire before the slow one; the one after it waits for it.
    around = request("GET", "/status") + request("GET", "/slow") + request("HEAD", "/status")
    answers = served.exchange(served.wire_port, around, [False, False, True])
    assert answers[0].endswith(status) and answers[1].endswith(b"slow")
    assert answers[2].startswith(b"HTTP/1.1 200 OK\r\n") and answers[2].endswith(b"\r\n\r\n")
    assert served.seen.requests == ["GET /slow", "HEAD /status"]
    served.seen.requests.clear()
    # Once the app has answered, the connection's next documents are the wire's again.
    with socket.create_connection(("127.0.0.1", served.wire_port), timeout=10) as conn:
        reader = conn.makefile("rb")
        conn.sendall(request("GET", "/slow"))
        assert read_answer(reader, False).endswith(b"slow")
        conn.sendall(request("GET", "/status"))
        assert read_answer(reader, False).endswith(status)
        reader.close()
    assert served.seen.requests == ["GET /slow"]


def test_http_1_0_and_connection_close(served: Both) -> None:
    refresh(served.web)
    served.seen.requests.clear()
    closing = (("1.0", ()), ("1.0", ("Connection: keep-alive",)), ("1.1", ("Connection: close",)))
    for version, extra in closing:
        answer = served.both(request("GET", "/status", *extra, version=version), closes=True)
        assert b"\r\nconnection: close\r\n" in answer
        served.both(request("HEAD", "/status.json", *extra, version=version), head=True, closes=True)
    assert len(served.seen.requests) == 6  # the ASGI path's only
    # Nothing after a request that closes the connection is answered, as uvicorn does.
    closing = request("GET", "/status", "Connection: close") + request("GET", "/status.json")
    (answer,) = served.exchange(served.wire_port, closing, [False], closes=True)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert len(served.seen.requests) == 6


def test_a_query_a_post_or_a_body_go_to_the_app(served: Both) -> None:
    refresh(served.web)
    served.seen.requests.clear()
    for sent, status in (
        (request("GET", "/status?via=app"), 200),
        (request("GET", "/stat%75s"), 200),  # percent-encoded: uvicorn decodes it, the app answers
        (request("GET", "/status/incidents/999"), 404),  # no such document: the route says so
        (request("GET", "/status", "Content-Length: 0"), 200),
        (request("POST", "/status", "Origin: http://127.0.0.1", "Content-Length: 0"), 405),
        (request("OPTIONS", "/status"), 405),
    ):
        (answer,) = served.exchange(served.wire_port, sent, [False])
        assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer[:100]
    assert served.seen.requests == [
        "GET /status?via=app",
        "GET /status",
        "GET /status/incidents/999",
        "GET /status",
        "POST /status",
        "OPTIONS /status",
    ]


def test_a_document_not_rendered_yet_goes_to_the_app(served: Both) -> None:
    board = served.web.app.state.status_board
    assert not board.ready
    (first,) = served.exchange(served.wire_port, request("GET", "/status"), [False])
    assert first.startswith(b"HTTP/1.1 200 OK\r\n") and served.seen.requests == ["GET /status"]
    assert board.ready  # the route rendered it: from now on the wire answers
    (second,) = served.exchange(served.wire_port, request("GET", "/status"), [False])
    assert served.seen.requests == ["GET /status"]
    assert header(second, "etag") == header(first, "etag") and second.endswith(board.get("/status").body)


def test_a_new_rendering_is_served_once_the_board_changes(served: Both, tmp_path: Path) -> None:
    refresh(served.web)
    before = served.both(request("GET", "/status"))
    ivr_down(served.web, tmp_path)
    refresh(served.web)
    after = served.both(request("GET", "/status"))
    assert header(after, "etag") != header(before, "etag")
    assert after.endswith(served.web.app.state.status_board.get("/status").body)
    (unchanged,) = served.exchange(
        served.wire_port, request("GET", "/status", f"If-None-Match: {header(before, 'etag')}"), [False]
    )
    assert unchanged.startswith(b"HTTP/1.1 200 OK\r\n")  # the old copy is stale now


def test_an_idle_connection_closes_after_uvicorns_keep_alive_timeout(web: Web) -> None:
    refresh(web)
    seen = Seen(web.app)
    with serving(seen, status_wire(web.app.state.status_board), keep_alive_s=1) as port:
        # Answered on the wire, asked again within the timeout: open for as long as the client talks.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            reader = conn.makefile("rb")
            started = time.monotonic()
            for _ in range(4):
                conn.sendall(request("GET", "/status.json"))
                assert read_answer(reader, False).startswith(b"HTTP/1.1 200 OK\r\n")
                time.sleep(0.6)
            assert time.monotonic() - started > 2  # longer than the timeout
            heard = time.monotonic()
            assert reader.read() == b""  # then closed once idle for the timeout
            assert 0.3 <= time.monotonic() - heard < 3
            reader.close()
        # The app answered last: uvicorn's own timer closes it, a timeout after that answer.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            reader = conn.makefile("rb")
            sent = time.monotonic()
            conn.sendall(request("GET", "/status") + request("GET", "/slow"))
            assert read_answer(reader, False).startswith(b"HTTP/1.1 200 OK\r\n")
            assert read_answer(reader, False).endswith(b"slow")
            assert reader.read() == b""
            # The wire's check, a timeout after the first answer, left it to uvicorn's.
            assert SLOW_S + 0.9 <= time.monotonic() - sent < 4
            reader.close()
    assert seen.requests == ["GET /slow"]


def test_the_access_log_has_uvicorns_line_for_each_answer(web: Web) -> None:
    refresh(web)
    etag = web.app.state.status_board.get("/status/feed.atom").etag
    sent = [
        request("GET", "/status"),
        request("HEAD", "/status.json", version="1.0"),
        request("GET", "/status/feed.atom", f"If-None-Match: {etag}"),
    ]
    lines: list[logging.LogRecord] = []
    keep = logging.Handler()
    keep.emit = lines.append  # type: ignore[method-assign]
    access = logging.getLogger("uvicorn.access")
    seen = Seen(web.app)
    wire = status_wire(web.app.state.status_board)
    logged = {}
    with serving(seen, HttpToolsProtocol, access_log=True) as asgi_port, serving(
        seen, wire, access_log=True
    ) as wire_port:
        level = access.level
        access.addHandler(keep)
        access.setLevel(logging.INFO)
        try:
            for name, port in (("asgi", asgi_port), ("wire", wire_port)):
                lines.clear()
                for one in sent:
                    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
                        reader = conn.makefile("rb")
                        conn.sendall(one)
                        read_answer(reader, one.startswith(b"HEAD"))
                        reader.close()
                logged[name] = [(r.msg, r.args) for r in lines]
        finally:
            access.removeHandler(keep)
            access.setLevel(level)
    assert len(seen.requests) == 3  # the ASGI path's
    assert len(logged["wire"]) == 3
    for (asgi_msg, asgi_args), (wire_msg, wire_args) in zip(logged["asgi"], logged["wire"], strict=True):
        assert wire_msg == asgi_msg
        assert isinstance(asgi_args, tuple) and isinstance(wire_args, tuple)
        assert re.fullmatch(r"127\.0\.0\.1:\d+", wire_args[0])
        assert wire_args[1:] == asgi_args[1:]
    assert [args[1:] for _, args in logged["wire"]] == [  # type: ignore[index]
        ("GET", "/status", "1.1", 200),
        ("HEAD", "/status.json", "1.0", 200),
        ("GET", "/status/feed.atom", "1.1", 304),
    ]
