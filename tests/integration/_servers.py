"""Real servers on 127.0.0.1 for the probe tests: HTTP(S), DNS, raw TCP and UDP peers, SIPp.

Each asyncio server runs in the test's own event loop and is an async context manager that
cancels its connection handlers and closes every socket on exit, since an unclosed transport
is a warning and warnings are errors here. SIPp runs as a background process killed by pid.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any, Self

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
import trustme

from standby.detect.probes import ProbeChecker

HOST = "127.0.0.1"
SIPP_DIR = Path(__file__).parent / "sipp"

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
async def checker() -> AsyncIterator[ProbeChecker]:
    """A ProbeChecker, closed after the test."""
    probe_checker = ProbeChecker()
    try:
        yield probe_checker
    finally:
        await probe_checker.aclose()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """A certificate authority of the test's own (trustme) for HTTPS servers."""
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    """The `ca` fixture's certificate as a PEM file, for a probe's ca_file."""
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


class TcpServer:
    """A TCP (or TLS) server on 127.0.0.1 whose every connection runs `handler`."""

    def __init__(self, handler: Handler, *, ssl_context: ssl.SSLContext | None = None, port: int = 0) -> None:
        self._handler = handler
        self._ssl = ssl_context
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = port
        self.connections = 0

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, HOST, self.port, ssl=self._ssl)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            await self._handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass  # the probe hung up first: that is the point of several tests
        finally:
            writer.transport.abort()
            self._tasks.discard(task)


async def hang_forever() -> None:
    """Never finish (until the server's exit cancels the handler)."""
    await asyncio.Event().wait()


def reset(writer: asyncio.StreamWriter) -> None:
    """Close the connection with a TCP reset."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


# --- HTTP -----------------------------------------------------------------------------------

JSON_DOC = {
    "status": {"db": "ok", "code": 200, "ratio": 1.0, "up": True, "nothing": None},
    "items": [{"state": "green"}],
}
BIG_BODY_BYTES = 100 * 1024 * 1024


@cache
def gzip_bomb() -> bytes:
    """32 MiB of zeros, gzipped to about 32 KiB."""
    return gzip.compress(bytes(32 * 1024 * 1024), compresslevel=1)


def http_reply(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    """A complete HTTP/1.1 reply that closes the connection."""
    head = [f"HTTP/1.1 {status} Whatever", f"Content-Length: {len(body)}", "Connection: close"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def http_handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The test site: the request path picks a behaviour, well-mannered or hostile."""
    head = await reader.readuntil(b"\r\n\r\n")
    method, path = head.split(b" ", 2)[:2]
    route = path.decode()
    if route == "/ok":
        writer.write(http_reply(200, b"" if method == b"HEAD" else b"all systems ok"))
    elif route.startswith("/status/"):
        writer.write(http_reply(int(route.rsplit("/", 1)[1]), b"status page"))
    elif route == "/json":
        writer.write(http_reply(200, json.dumps(JSON_DOC).encode(), {"Content-Type": "application/json"}))
    elif route == "/notjson":
        writer.write(http_reply(200, b"<html>not json</html>"))
    elif route == "/redirect":
        writer.write(http_reply(302, b"", {"Location": "/ok"}))
    elif route == "/late-keyword":
        writer.write(http_reply(200, b"x" * (2 * 1024 * 1024) + b" needle"))
    elif route == "/gzip-bomb":
        writer.write(http_reply(200, gzip_bomb(), {"Content-Encoding": "gzip"}))
    elif route == "/big":
        await _send_big_body(writer)
    elif route == "/endless-headers":
        writer.write(b"HTTP/1.1 200 OK\r\n")
        while True:
            writer.write(b"X-Filler: " + b"a" * 1000 + b"\r\n")
            await writer.drain()
    elif route == "/half":
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n")
        await writer.drain()
        await hang_forever()
    elif route == "/half-body":
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nall sys")
        await writer.drain()
        await hang_forever()
    elif route == "/hang":
        await hang_forever()
    elif route == "/garbage":
        writer.write(bytes(range(256)) * 4)
    elif route == "/reset":
        reset(writer)
        return
    else:
        writer.write(http_reply(404, b"no such route"))
    await writer.drain()


async def _send_big_body(writer: asyncio.StreamWriter) -> None:
    chunk = b"x" * 65536
    writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {BIG_BODY_BYTES}\r\n\r\n".encode())
    for _ in range(BIG_BODY_BYTES // len(chunk)):
        writer.write(chunk)
        await writer.drain()


# --- DNS ------------------------------------------------------------------------------------

ZONE: dict[tuple[str, str], list[str]] = {
    ("www.test.", "A"): ["192.0.2.1", "192.0.2.2"],
    ("www.test.", "AAAA"): ["2001:db8::1"],
    ("alias.test.", "CNAME"): ["www.test."],
    ("test.", "MX"): ["10 mail.test."],
    ("test.", "TXT"): ['"v=spf1 -all"'],
    ("test.", "NS"): ["ns1.test."],
    ("_sip._udp.test.", "SRV"): ["10 5 5060 sip.test."],
    ("big.test.", "A"): [f"192.0.2.{i}" for i in range(1, 61)],
}
SERVFAIL_NAME, SILENT_NAME, GARBAGE_NAME = "servfail.test.", "silent.test.", "garbage.test."


def dns_answer(query: dns.message.Message) -> dns.message.Message | None:
    """The zone's reply to `query`, or None for the name that never gets one."""
    response = dns.message.make_response(query)
    question = query.question[0]
    name, rdtype = question.name.to_text().lower(), dns.rdatatype.to_text(question.rdtype)
    if name == SILENT_NAME:
        return None
    if name == SERVFAIL_NAME:
        response.set_rcode(dns.rcode.SERVFAIL)
        return response
    if not any(owner == name for owner, _ in ZONE):
        response.set_rcode(dns.rcode.NXDOMAIN)
        return response
    alias = ZONE.get((name, "CNAME"))
    if alias and rdtype != "CNAME":
        response.answer.append(dns.rrset.from_text(name, 300, "IN", "CNAME", *alias))
        name = alias[0]
    values = ZONE.get((name, rdtype))
    if values:
        response.answer.append(dns.rrset.from_text(name, 300, "IN", rdtype, *values))
    return response


class DnsServer:
    """An authoritative-looking server for ZONE on 127.0.0.1, over UDP and TCP on one port.

    Over UDP a reply larger than 512 bytes goes out empty with the TC bit, as RFC 1035 says,
    so the client must ask again over TCP. It counts the queries of each transport.
    """

    def __init__(self) -> None:
        self.port = 0
        self.udp_queries = 0
        self.tcp_queries = 0
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: TcpServer | None = None

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        for _ in range(20):  # the TCP port must be free as well as the UDP one
            self._udp, _ = await loop.create_datagram_endpoint(lambda: _DnsUdp(self), local_addr=(HOST, 0))
            self.port = self._udp.get_extra_info("sockname")[1]
            try:
                self._tcp = await TcpServer(self._serve_tcp, port=self.port).__aenter__()
                return self
            except OSError:
                self._udp.close()
        raise RuntimeError("no port free for both UDP and TCP")

    async def __aexit__(self, *exc: object) -> None:
        assert self._udp is not None and self._tcp is not None
        self._udp.close()
        await self._tcp.__aexit__(*exc)
        await asyncio.sleep(0)  # let the UDP transport finish closing its socket

    def answer_udp(self, data: bytes) -> bytes | None:
        self.udp_queries += 1
        query = dns.message.from_wire(data)
        if query.question[0].name.to_text().lower() == GARBAGE_NAME:
            return b"\x00\x01garbage that is not DNS"
        response = dns_answer(query)
        if response is None:
            return None
        wire = response.to_wire()
        if len(wire) > 512:
            truncated = dns.message.make_response(query)
            truncated.flags |= dns.flags.TC
            wire = truncated.to_wire()
        return wire

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            length = int.from_bytes(await reader.readexactly(2), "big")
            self.tcp_queries += 1
            response = dns_answer(dns.message.from_wire(await reader.readexactly(length)))
            if response is None:
                await hang_forever()
            assert response is not None
            wire = response.to_wire()
            writer.write(len(wire).to_bytes(2, "big") + wire)
            await writer.drain()


class _DnsUdp(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        reply = self.server.answer_udp(data)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


# --- UDP peers (SIP) --------------------------------------------------------------------------

Behaviour = Callable[[bytes], list[tuple[float, bytes]]]


class UdpPeer:
    """A UDP server on 127.0.0.1: for each datagram, `behaviour` says what to send back and when."""

    def __init__(self, behaviour: Behaviour) -> None:
        self._behaviour = behaviour
        self._transport: asyncio.DatagramTransport | None = None
        self._pending: set[asyncio.TimerHandle] = set()
        self.received: list[bytes] = []
        self.port = 0

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: _UdpProtocol(self), local_addr=(HOST, 0)
        )
        self.port = self._transport.get_extra_info("sockname")[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        for handle in self._pending:
            handle.cancel()
        assert self._transport is not None
        self._transport.close()
        await asyncio.sleep(0)  # let the transport finish closing its socket

    def received_datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.append(data)
        loop = asyncio.get_running_loop()
        for delay, reply in self._behaviour(data):
            self._pending.add(loop.call_later(delay, self._send, reply, addr))

    def _send(self, data: bytes, addr: tuple[str, int]) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.sendto(data, addr)


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, peer: UdpPeer) -> None:
        self.peer = peer

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.peer.received_datagram(data, addr)


def sip_response(request: bytes, code: int, reason: str, *, call_id: str | None = None) -> bytes:
    """A response to a SIP request, with its Via, From, To, Call-ID and CSeq copied back."""
    headers = request.decode().split("\r\n\r\n")[0].split("\r\n")[1:]
    kept = [h for h in headers if h.split(":")[0].lower() in ("via", "from", "to", "call-id", "cseq")]
    if call_id is not None:
        kept = [f"Call-ID: {call_id}" if h.lower().startswith("call-id") else h for h in kept]
    return ("\r\n".join([f"SIP/2.0 {code} {reason}", *kept, "Content-Length: 0"]) + "\r\n\r\n").encode()


def free_port(kind: socket.SocketKind) -> int:
    """A port on 127.0.0.1 free right now for `kind` (TCP or UDP)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


# --- SIPp -------------------------------------------------------------------------------------


def sipp_required() -> bool:
    """Whether a missing SIPp fails the run rather than skipping (CI=true or STANDBY_REQUIRE_SIPP=1)."""
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("STANDBY_REQUIRE_SIPP") == "1"


def sipp_binary() -> str:
    """The sipp executable; skips the test without it, or fails it where SIPp is required."""
    found = shutil.which("sipp")
    if found is None:
        message = "SIPp not installed (Debian package sip-tester); the SIP peer tests need it"
        if sipp_required():
            pytest.fail(message)
        pytest.skip(message)
    return found


@contextlib.contextmanager
def sipp_uas(scenario: str, *, transport: str, workdir: Path) -> Iterator[int]:
    """SIPp playing `scenario` (a file in tests/integration/sipp) on a free port; yields the port.

    transport is SIPp's -t: "u1" for UDP, "t1" for TCP. SIPp runs in the background and is
    killed by its pid on exit; its own -timeout ends it anyway if this process dies first.
    """
    binary = sipp_binary()
    kind = socket.SOCK_DGRAM if transport.startswith("u") else socket.SOCK_STREAM
    port = free_port(kind)
    out = workdir / f"sipp-{port}.out"
    command = [binary, "-sf", str(SIPP_DIR / scenario), "-i", HOST, "-p", str(port), "-t", transport]
    command += ["-bg", "-nostdin", "-timeout", "60s"]
    with out.open("w") as stdout:
        # -bg forks: the parent prints the daemon's pid and exits; stdout is a file, not a pipe,
        # so that the daemon holding it open cannot make this wait.
        subprocess.run(command, cwd=workdir, stdout=stdout, stderr=subprocess.STDOUT, timeout=10, check=False)
    found = re.search(r"PID=\[(\d+)\]", out.read_text())
    assert found, f"SIPp did not start: {out.read_text()}"
    pid = int(found[1])
    try:
        _wait_bound(kind, port)
        yield port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _wait_bound(kind: socket.SocketKind, port: int) -> None:
    """Wait (at most 5 s) until the port is taken, which is when SIPp listens on it."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                return
        time.sleep(0.02)
    raise AssertionError(f"SIPp never listened on port {port}")
