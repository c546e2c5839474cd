"""The SIP OPTIONS probe (RFC 3261 11): an OPTIONS request whose final reply must be accepted.

- `sip:user@host[:port]` goes over UDP, `;transport=tcp` over TCP, and `sips:` over TLS (port
  5061, certificate checked against the system's CAs plus certifi's).
- UDP: a connected socket per check, so an ICMP "port unreachable" fails the check at once;
  the request is sent again after 0.5, 1, 2 and then every 4 s (timer E with T1 = 500 ms,
  T2 = 4 s), every 4 s once a provisional reply came.
- Replies whose Call-ID or CSeq are not ours are ignored; a 1xx keeps the check waiting; the
  first final reply decides: its code in `accept_codes` is healthy, any other (408 included)
  is down, with the code and reason. A datagram that is not SIP at all fails the check.
- rtt_ms runs from the first transmission to the final reply.
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from standby.detect.probes.net import (
    Target,
    UdpPeer,
    connect_any,
    resolve,
    split_host_port,
)
from standby.detect.probes.result import CheckResult, ProbeFailure, Progress, clean, ms_text
from standby.plan.probes import SipOptionsProbe

MAX_HEAD = 64 * 1024
T1, T2 = 0.5, 4.0
_STATUS = re.compile(r"^SIP/2\.0\s+([1-6][0-9]{2})(?:\s+(.*))?$")
_CONTENT_LENGTH = re.compile(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*([0-9]+)[ \t]*\r?$")
_COMPACT = {"i": "call-id", "l": "content-length", "v": "via", "f": "from", "t": "to", "m": "contact"}


@dataclass(frozen=True)
class SipTarget:
    """Where and how to send the OPTIONS request, as read from the probe's SIP URI."""

    scheme: str
    host: str
    port: int
    transport: str  # "UDP", "TCP" or "TLS", as Via writes it
    request_uri: str
    to_uri: str


@dataclass(frozen=True)
class SipReply:
    """The parts of a SIP response the probe looks at."""

    code: int
    reason: str
    call_id: str
    cseq: str


class SipChecker:
    """Runs SIP OPTIONS probes; keeps the TLS context for sips: targets."""

    def __init__(self, tls_context: Callable[[], ssl.SSLContext]) -> None:
        self._make_tls_context = tls_context
        self._tls: ssl.SSLContext | None = None

    async def check(self, probe: SipOptionsProbe, progress: Progress) -> CheckResult:
        """Send OPTIONS to the probe's URI; healthy when the final reply's code is accepted."""
        target = parse_sip_uri(probe.target)
        kind = socket.SOCK_DGRAM if target.transport == "UDP" else socket.SOCK_STREAM
        addresses = await resolve(target.host, target.port, kind, progress)
        ids = os.urandom(24).hex()
        call_id, branch, tag = ids[:24], "z9hG4bK" + ids[24:40], ids[40:]
        progress.waiting_for = "reply"
        if target.transport == "UDP":
            reply, rtt_ms = await _over_udp(target, addresses[0], (call_id, branch, tag), progress)
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


@functools.lru_cache(maxsize=4096)
def parse_sip_uri(text: str) -> SipTarget:
    """The probe's `sip:` or `sips:` URI as a target; malformed ones fail with the reason."""
    scheme, _, rest = text.strip().partition(":")
    scheme = scheme.lower()
    rest = rest.split("?", 1)[0]
    address, *param_list = rest.split(";")
    params = {k.strip().lower(): v.strip().lower() for k, _, v in (p.partition("=") for p in param_list)}
    hostport = address.rpartition("@")[2]
    host, port = split_host_port(hostport, default_port=5061 if scheme == "sips" else 5060)
    host = host.strip("[]")
    wanted = params.get("transport")
    if scheme == "sips":
        if wanted not in (None, "tcp", "tls"):
            raise ProbeFailure(
                f"sips: runs over TLS on TCP; transport={clean(wanted or '')} cannot be used with it"
            )
        transport = "TLS"
    elif scheme == "sip" and wanted in (None, "udp", "tcp", "tls"):
        transport = (wanted or "udp").upper()
    elif scheme == "sip":
        raise ProbeFailure(f"SIP transport {clean(wanted or '')!r} is not supported: use udp, tcp or sips:")
    else:
        raise ProbeFailure(f"{clean(text)!r} is not a sip: or sips: URI")
    return SipTarget(scheme, host, port, transport, f"{scheme}:{rest}", f"{scheme}:{address}")


def build_options(target: SipTarget, local: tuple[str, int], ids: tuple[str, str, str]) -> bytes:
    """An OPTIONS request as RFC 3261 8.1.1 and 11 describe it, from `local` (host, port)."""
    call_id, branch, tag = ids
    host = f"[{local[0]}]" if ":" in local[0] else local[0]
    contact_params = ";transport=tcp" if target.transport == "TCP" else ""
    lines = (
        f"OPTIONS {target.request_uri} SIP/2.0",
        f"Via: SIP/2.0/{target.transport} {host}:{local[1]};branch={branch};rport",
        "Max-Forwards: 70",
        f"From: <{target.scheme}:standby@{host}>;tag={tag}",
        f"To: <{target.to_uri}>",
        f"Call-ID: {call_id}@{host}",
        "CSeq: 1 OPTIONS",
        f"Contact: <{target.scheme}:standby@{host}:{local[1]}{contact_params}>",
        "Accept: application/sdp",
        "User-Agent: Standby",
        "Content-Length: 0",
        "",
        "",
    )
    return "\r\n".join(lines).encode()


def parse_reply(head: bytes) -> SipReply | None:
    """A response's status and ids; None for what a peer may send besides (a request, a keep-alive)."""
    text = head.decode("utf-8", errors="replace")
    lines = text.replace("\r\n", "\n").split("\n")
    first = lines[0].strip()
    if not first or first.endswith("SIP/2.0"):
        return None  # a CRLF keep-alive (RFC 5626) or a request to us: not our reply
    match = _STATUS.match(first)
    if match is None:
        raise ProbeFailure(f"invalid SIP reply: {clean(first, 60)!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            key = name.strip().lower()
            headers.setdefault(_COMPACT.get(key, key), value.strip())
    return SipReply(
        int(match[1]), clean(match[2] or "", 60), headers.get("call-id", ""), headers.get("cseq", "")
    )


def _is_ours(reply: SipReply, call_id: str) -> bool:
    return reply.call_id.split("@", 1)[0] == call_id and reply.cseq.split() == ["1", "OPTIONS"]


async def _over_udp(
    target: SipTarget, address: Target, ids: tuple[str, str, str], progress: Progress
) -> tuple[SipReply, float]:
    with UdpPeer(*address) as peer:
        request = build_options(target, peer.local_address, ids)
        start = time.perf_counter()
        peer.send(request, first_interval=T1, cap=T2)
        while True:
            try:
                datagram = await peer.receive()
            except ConnectionRefusedError as exc:
                raise ProbeFailure("ICMP port unreachable") from exc
            reply = parse_reply(datagram.partition(b"\r\n\r\n")[0])
            if reply is None or not _is_ours(reply, ids[0]):
                continue
            if reply.code < 200:
                peer.hold_interval()
                progress.waiting_for = f"final reply after SIP {reply.code}"
                continue
            return reply, (time.perf_counter() - start) * 1000


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
        if reply is None or not _is_ours(reply, call_id):
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
