"""The HTTP probe's own HTTP/1.1 on the wire, against real servers on 127.0.0.1 (plain and TLS).

What a general client used to do for the probe and the probe now does itself: the request it
sends, chunked bodies and bodies ended by the connection's close, compressed bodies, replies
cut short, slow and silent servers, informational replies and the charset of a keyword.
"""

from __future__ import annotations

import asyncio
import gzip
import ssl
import zlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import anyio
import pytest
import trustme
from _servers import HOST, TcpServer, ca, ca_file, checker, hang_forever

from standby.detect.probes import CheckResult, ProbeChecker
from standby.detect.probes.http_reply import parse_url
from standby.detect.probes.result import ProbeFailure
from standby.plan.probes import HttpProbe

pytestmark = pytest.mark.anyio
__all__ = ["ca", "ca_file", "checker"]  # fixtures, imported for pytest

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
TIMEOUT = 1.5


def http(url: str, **settings: object) -> HttpProbe:
    return HttpProbe.model_validate({"type": "http", "target": url, "timeout_s": TIMEOUT, **settings})


async def check(checker: ProbeChecker, probe: HttpProbe) -> CheckResult:
    with anyio.fail_after(probe.timeout_s + 5):
        return await checker.check(probe, now=datetime.now(UTC))


def answering(*pieces: bytes, pause_s: float = 0.0, then_hang: bool = False) -> Handler:
    """A server that reads the request, then writes `pieces` one by one, `pause_s` apart."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        for piece in pieces:
            writer.write(piece)
            await writer.drain()
            if pause_s:
                await asyncio.sleep(pause_s)
        if then_hang:
            await hang_forever()

    return serve


async def probe_against(
    checker: ProbeChecker, serve: Handler, path: str = "/", **settings: object
) -> CheckResult:
    async with TcpServer(serve) as server:
        return await check(checker, http(f"http://{HOST}:{server.port}{path}", **settings))


def chunked(*chunks: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"


async def test_the_request_is_one_http_11_request_that_closes(checker) -> None:
    seen: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    async with TcpServer(serve) as server:
        assert (await check(checker, http(f"http://{HOST}:{server.port}/health?deep=1"))).ok
        assert (await check(checker, http(f"http://{HOST}:{server.port}", method="POST"))).ok
    lines = seen[0].decode().split("\r\n")
    assert lines[0] == "GET /health?deep=1 HTTP/1.1"
    assert {f"Host: 127.0.0.1:{server.port}", "Connection: close", "User-Agent: Standby"} <= set(lines)
    assert "Accept-Encoding: identity" in lines
    post = seen[1].decode().split("\r\n")
    assert post[0] == "POST / HTTP/1.1" and "Content-Length: 0" in post


async def test_a_chunked_body_is_read_chunk_by_chunk(checker) -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    body = chunked(b'{"status": ', b'{"db": "o', b'k"}}')
    serve = answering(head, body[:9], body[9:], pause_s=0.05, then_hang=True)
    assert (await probe_against(checker, serve, json_field="status.db", json_value="ok")).ok
    result = await probe_against(checker, serve, keyword="down")
    assert result == CheckResult(ok=False, detail="keyword 'down' not in the body", rtt_ms=result.rtt_ms)


async def test_a_body_without_a_length_ends_with_the_connection(checker) -> None:
    serve = answering(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", b"all ", b"systems ok", pause_s=0.05)
    assert (await probe_against(checker, serve, keyword="systems ok")).ok


async def test_a_complete_reply_on_a_connection_left_open_needs_no_close(checker) -> None:
    serve = answering(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhealthy!!", then_hang=True)
    result = await probe_against(checker, serve, keyword="healthy")
    assert result.ok, result.detail


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [("gzip", gzip.compress), ("deflate", zlib.compress)],
)
async def test_a_compressed_body_is_inflated_before_the_keyword_is_looked_for(
    checker, encoding, encode
) -> None:
    body = encode(b"all systems ok")
    head = f"HTTP/1.1 200 OK\r\nContent-Encoding: {encoding}\r\nContent-Length: {len(body)}\r\n\r\n"
    assert (await probe_against(checker, answering(head.encode() + body), keyword="systems ok")).ok


@pytest.mark.parametrize(
    ("reply", "settings", "detail"),
    [
        (
            b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 3\r\n\r\nabc",
            {"keyword": "a"},
            "body encoded as 'br', which Standby does not decode",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 9\r\n\r\nnot gzip!",
            {"keyword": "a"},
            "body is not valid gzip: ",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nall sys",
            {"keyword": "x"},
            "connection closed before",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nall s",
            {"keyword": "x"},
            "connection closed before",
        ),
        (b"HTTP/1.1 200 OK\r\nContent-Ty", {}, "connection closed in the reply's header block"),
        (b"", {}, "connection closed without a reply"),
        (b"SIP/2.0 200 OK\r\n\r\n", {}, "invalid HTTP reply: "),
        (b"HTTP/1.1 abc OK\r\n\r\n", {}, "invalid HTTP reply: "),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n", {"keyword": "x"}, "invalid HTTP reply: "),
    ],
)
async def test_bad_replies_fail_with_their_reason(checker, reply: bytes, settings, detail: str) -> None:
    result = await probe_against(checker, answering(reply), **settings)
    assert not result.ok and result.detail.startswith(detail), result.detail


async def test_a_status_mismatch_is_named_before_the_body_is_read(checker) -> None:
    serve = answering(b"HTTP/1.1 503 Busy\r\nContent-Encoding: br\r\nContent-Length: 3\r\n\r\nabc")
    result = await probe_against(checker, serve, keyword="ok")
    assert not result.ok and result.detail == "HTTP 503 (expected 200)"


async def test_an_informational_reply_is_skipped(checker) -> None:
    serve = answering(b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.1 204 No Content\r\n\r\n", pause_s=0.05)
    assert (await probe_against(checker, serve, expect_status=204)).ok


async def test_a_head_reply_has_no_body_whatever_its_length_says(checker) -> None:
    serve = answering(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n", then_hang=True)
    result = await probe_against(checker, serve, method="HEAD", keyword="ok")
    assert result == CheckResult(ok=False, detail="keyword 'ok' not in the body", rtt_ms=result.rtt_ms)


async def test_the_keyword_is_read_in_the_bodys_charset(checker) -> None:
    body = "état : opérationnel".encode("latin-1")
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=ISO-8859-1\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    assert (await probe_against(checker, answering(head.encode() + body), keyword="opérationnel")).ok
    odd = (
        f"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=klingon\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    assert (await probe_against(checker, answering(odd.encode() + body), keyword="tat : op")).ok


async def test_a_slow_reply_within_the_timeout_is_healthy_with_its_time(checker) -> None:
    serve = answering(b"HTTP/1.1 200 OK\r\n", b"Content-Length: 2\r\n\r\nok", pause_s=0.3)
    async with TcpServer(serve) as server:
        result = await check(checker, http(f"http://{HOST}:{server.port}/"))
    assert result.ok and result.rtt_ms is not None and result.rtt_ms >= 250


async def test_a_reply_trickling_past_the_timeout_times_out(checker) -> None:
    serve = answering(b"HTTP/1.1 200 OK\r\n", *[b"X-Slow: 1\r\n"] * 40, pause_s=0.1)
    result = await probe_against(checker, serve, timeout_s=0.5)
    assert result == CheckResult(ok=False, detail="no reply within 0.5 s", rtt_ms=None)


async def test_checks_at_once_each_get_their_own_reply(checker) -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        path = (await reader.readuntil(b"\r\n\r\n")).split(b" ")[1]
        body = b"you asked for " + path
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()

    async with TcpServer(serve) as server:
        probes = [http(f"http://{HOST}:{server.port}/n{i}", keyword=f"for /n{i}") for i in range(200)]
        results = await asyncio.gather(*(check(checker, p) for p in probes))
    assert all(r.ok for r in results), [r.detail for r in results if not r.ok][:3]


# --- TLS ------------------------------------------------------------------------------------------


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    now = datetime.now(UTC)
    leaf = ca.issue_cert(HOST, not_before=now - timedelta(days=1), not_after=now + timedelta(days=90))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(context)
    return context


async def tls_probe(checker: ProbeChecker, ca: trustme.CA, serve: Handler, **settings: object) -> CheckResult:
    async with TcpServer(serve, ssl_context=server_context(ca)) as server:
        return await check(checker, http(f"https://{HOST}:{server.port}/", **settings))


async def test_https_reads_a_chunked_body_and_a_body_ended_by_close(checker, ca, ca_file) -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    serve = answering(head, chunked(b"all systems", b" ok"), pause_s=0.05, then_hang=True)
    assert (await tls_probe(checker, ca, serve, ca_file=ca_file, keyword="systems ok")).ok
    closing = answering(b"HTTP/1.1 200 OK\r\n\r\n", b"all systems ok", pause_s=0.05)
    assert (await tls_probe(checker, ca, closing, ca_file=ca_file, keyword="systems ok")).ok


async def test_https_silent_after_the_handshake_times_out_waiting_for_the_reply(checker, ca, ca_file) -> None:
    result = await tls_probe(checker, ca, answering(then_hang=True), ca_file=ca_file)
    assert result == CheckResult(ok=False, detail="no reply within 1.5 s", rtt_ms=None)


async def test_a_server_that_never_starts_tls_times_out_in_the_handshake(checker) -> None:
    async def silent(_reader: asyncio.StreamReader, _writer: asyncio.StreamWriter) -> None:
        await hang_forever()

    async with TcpServer(silent) as server:
        result = await check(checker, http(f"https://{HOST}:{server.port}/"))
    assert result == CheckResult(ok=False, detail="no TLS handshake within 1.5 s", rtt_ms=None)


async def test_a_plain_http_server_on_an_https_url_fails_the_handshake(checker) -> None:
    async def plain(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        await hang_forever()

    async with TcpServer(plain) as server:
        result = await check(checker, http(f"https://{HOST}:{server.port}/"))
    assert not result.ok and result.detail.startswith("TLS handshake failed: "), result.detail


# --- the URL ------------------------------------------------------------------------------------


def test_the_url_gives_the_connection_and_the_request() -> None:
    url = parse_url("https://[::1]:8443/a/b?c=d", "GET")
    assert (url.tls, url.host, url.port) == (True, "::1", 8443)
    assert url.request.startswith(b"GET /a/b?c=d HTTP/1.1\r\nHost: [::1]:8443\r\n")
    plain = parse_url("http://Example.ORG", "HEAD")
    assert (plain.tls, plain.host, plain.port) == (False, "example.org", 80)
    assert plain.request.startswith(b"HEAD / HTTP/1.1\r\nHost: example.org\r\n")
    assert (
        parse_url("http://bücher.example:80/", "GET").request.split(b"\r\n")[1]
        == b"Host: xn--bcher-kva.example"
    )


@pytest.mark.parametrize(
    ("target", "detail"),
    [
        ("http://host:abc/", "invalid URL: Invalid port: 'abc'"),
        ("http://host:70000/", "invalid URL: Invalid port: '70000'"),
        ("http:///path", "invalid URL: no host in 'http:///path'"),
        ("http://host/ü", "invalid URL: 'http://host/ü' has characters that are not URL-encoded"),
    ],
)
def test_a_bad_url_is_explained(target: str, detail: str) -> None:
    with pytest.raises(ProbeFailure) as caught:
        parse_url(target, "GET")
    assert str(caught.value) == detail
