"""The SIP OPTIONS probe (RFC 3261 11): an OPTIONS request whose final reply must be accepted.

- `sip:user@host[:port]` goes over UDP, `;transport=tcp` over TCP, and `sips:` over TLS (port
  5061, certificate checked against the system's CAs plus certifi's).
- UDP: through the checker's shared sockets (sip_udp.py), replies matched by Call-ID; an
  ICMP "port unreachable" fails the check at once; the request is sent again after 0.5, 1,
  2 and then every 4 s (timer E with T1 = 500 ms, T2 = 4 s), every 4 s once a provisional
  reply came.
- Replies whose Call-ID or CSeq are not ours are ignored; a 1xx keeps the check waiting; the
  first final reply decides: its code in `accept_codes` is healthy, any other (408 included)
  is down, with the code and reason. A datagram that is not SIP at all fails the check.
- rtt_ms runs from the first transmission to the final reply.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import ssl
import time
from collections.abc import Awaitable, Callable

from standby.detect.probes.net import Target, connect_any, resolve
from standby.detect.probes.result import CheckResult, ProbeFailure, Progress, ms_text
from standby.detect.probes.sip_message import (
    SipReply,
    SipTarget,
    build_options,
    is_ours,
    parse_reply,
    parse_sip_uri,
)
from standby.detect.probes.sip_udp import SharedUdp
from standby.plan.probes import SipOptionsProbe

__all__ = ["SipChecker", "build_options", "parse_sip_uri"]

MAX_HEAD = 64 * 1024
_CONTENT_LENGTH = re.compile(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*([0-9]+)[ \t]*\r?$")


class SipChecker:
    """Runs SIP OPTIONS probes; keeps the TLS context for sips: targets."""

    def __init__(self, tls_context: Callable[[], ssl.SSLContext]) -> None:
        self._make_tls_context = tls_context
        self._tls: ssl.SSLContext | None = None
        self._udp: SharedUdp | None = None

    async def check(self, probe: SipOptionsProbe, progress: Progress) -> CheckResult:
        """Send OPTIONS to the probe's URI; healthy when the final reply's code is accepted."""
        target = parse_sip_uri(probe.target)
        kind = socket.SOCK_DGRAM if target.transport == "UDP" else socket.SOCK_STREAM
        addresses = await resolve(target.host, target.port, kind, progress)
        ids = os.urandom(24).hex()
        call_id, branch, tag = ids[:24], "z9hG4bK" + ids[24:40], ids[40:]
        progress.waiting_for = "reply"
        if target.transport == "UDP":
            reply, rtt_ms = await self._shared_udp().exchange(
                addresses[0], target, (call_id, branch, tag), progress
            )
        elif target.transport == "TCP":
            reply, rtt_ms = await _over_tcp(target, addresses, (call_id, branch, tag), progress)
        else:
            if self._tls is None:
                self._tls = self._make_tls_context()
            reply, rtt_ms = await _over_tls(target, addresses, self._tls, (call_id, branch, tag), progress)
        status = f"SIP {reply.code} {reply.reason}".rstrip()
        if reply.code in probe.accept_codes:
            return CheckResult(ok=True, detail=f"{status} in {ms_text(rtt_ms)}", rtt_ms=rtt_ms)
        return CheckResult(ok=False, detail=status, rtt_ms=rtt_ms)

    def close(self) -> None:
        """Close the shared UDP sockets; checks still pending fail."""
        if self._udp is not None:
            self._udp.close()
            self._udp = None

    def _shared_udp(self) -> SharedUdp:
        # The sockets belong to one event loop: a checker used on another gets new ones.
        if self._udp is None or self._udp.loop is not asyncio.get_running_loop():
            self.close()
            self._udp = SharedUdp()
        return self._udp


async def _over_tcp(
    target: SipTarget, addresses: list[Target], ids: tuple[str, str, str], progress: Progress
) -> tuple[SipReply, float]:
    progress.waiting_for = "connection"
    start = time.perf_counter()
    sock = await connect_any(addresses)
    try:
        local = sock.getsockname()
        loop = asyncio.get_running_loop()
        await loop.sock_sendall(sock, build_options(target, (local[0], local[1]), ids))
        progress.waiting_for = "reply"
        reply = await _final_reply(lambda: loop.sock_recv(sock, 65536), ids[0], progress)
        return reply, (time.perf_counter() - start) * 1000
    finally:
        # An orderly close, unlike the TCP probe's reset: SIP stacks log or even stop (SIPp
        # does) on a reset connection, and SIP over TCP is checked far less often than UDP.
        sock.close()


async def _over_tls(
    target: SipTarget,
    addresses: list[Target],
    context: ssl.SSLContext,
    ids: tuple[str, str, str],
    progress: Progress,
) -> tuple[SipReply, float]:
    progress.waiting_for = "connection"
    start = time.perf_counter()
    sock = await connect_any(addresses)
    progress.waiting_for = "TLS handshake"
    try:
        reader, writer = await asyncio.open_connection(sock=sock, ssl=context, server_hostname=target.host)
    except BaseException:
        sock.close()  # asyncio closes it on most failures, not all; closing twice is harmless
        raise
    try:
        local = writer.get_extra_info("sockname")
        writer.write(build_options(target, (local[0], local[1]), ids))
        progress.waiting_for = "reply"
        reply = await _final_reply(lambda: reader.read(65536), ids[0], progress)
        return reply, (time.perf_counter() - start) * 1000
    finally:
        writer.transport.abort()  # no TLS close_notify dance: a slow peer must not hold the check


async def _final_reply(read: Callable[[], Awaitable[bytes]], call_id: str, progress: Progress) -> SipReply:
    """The first final reply to our request on a stream, skipping provisional and foreign ones."""
    buffer = bytearray()
    while True:
        head = await _next_message(buffer, read)
        reply = parse_reply(head)
        if reply is None or not is_ours(reply, call_id):
            continue
        if reply.code >= 200:
            return reply
        progress.waiting_for = f"final reply after SIP {reply.code}"


async def _next_message(buffer: bytearray, read: Callable[[], Awaitable[bytes]]) -> bytes:
    """The next message's header block from a stream; its body is read and dropped (bounded)."""
    while True:
        while buffer[:2] == b"\r\n":
            del buffer[:2]  # CRLF keep-alives between messages (RFC 5626 4.4.1)
        end = buffer.find(b"\r\n\r\n")
        if end >= 0:
            head = bytes(buffer[:end])
            del buffer[: end + 4]
            length_match = _CONTENT_LENGTH.search(head)
            length = int(length_match[1]) if length_match else 0
            if length > MAX_HEAD:
                raise ProbeFailure(f"SIP reply body of {length} bytes is too large")
            while len(buffer) < length:
                await _fill(buffer, read)
            del buffer[:length]
            return head
        if len(buffer) > MAX_HEAD:
            raise ProbeFailure("SIP reply header block larger than 64 KiB")
        await _fill(buffer, read)


async def _fill(buffer: bytearray, read: Callable[[], Awaitable[bytes]]) -> None:
    chunk = await read()
    if not chunk:
        raise ProbeFailure("connection closed before a complete SIP reply")
    buffer += chunk
