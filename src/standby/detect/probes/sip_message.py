"""SIP messages for the OPTIONS probe (RFC 3261): the target from a URI, the request, the reply.

Shared by the stream transports (sip.py) and the UDP exchanges (sip_udp.py); no I/O here.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from standby.detect.probes.net import split_host_port
from standby.detect.probes.result import ProbeFailure, clean

_STATUS = re.compile(r"^SIP/2\.0\s+([1-6][0-9]{2})(?:\s+(.*))?$")
# The first Call-ID or CSeq header line, in full or compact form (RFC 3261 7.3.3), any case.
_CALL_ID_HEADER = re.compile(rb"^[ \t]*(?:call-id|i)[ \t]*:(.*)$", re.IGNORECASE | re.MULTILINE)
_CSEQ_HEADER = re.compile(rb"^[ \t]*cseq[ \t]*:(.*)$", re.IGNORECASE | re.MULTILINE)


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


@functools.lru_cache(maxsize=16384)  # above a worker's count of probes: a full cache never hits
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
    head, middle, tail = _request_parts(target, local)
    return b"".join((head, branch.encode(), middle, tag.encode(), b"\r\nCall-ID: ", call_id.encode(), tail))


@functools.lru_cache(maxsize=4096)
def _request_parts(target: SipTarget, local: tuple[str, int]) -> tuple[bytes, bytes, bytes]:
    # The request without its three ids, cached: targets and local addresses repeat, and
    # formatting a dozen header lines was a tenth of a UDP check's cost.
    host = f"[{local[0]}]" if ":" in local[0] else local[0]
    contact_params = ";transport=tcp" if target.transport == "TCP" else ""
    head = (
        f"OPTIONS {target.request_uri} SIP/2.0\r\nVia: SIP/2.0/{target.transport} {host}:{local[1]};branch="
    )
    middle = f";rport\r\nMax-Forwards: 70\r\nFrom: <{target.scheme}:standby@{host}>;tag="
    tail = (
        f"@{host}\r\nTo: <{target.to_uri}>\r\nCSeq: 1 OPTIONS\r\n"
        f"Contact: <{target.scheme}:standby@{host}:{local[1]}{contact_params}>\r\n"
        "Accept: application/sdp\r\nUser-Agent: Standby\r\nContent-Length: 0\r\n\r\n"
    )
    return head.encode(), middle.encode(), tail.encode()


def parse_reply(head: bytes) -> SipReply | None:
    """A response's status and ids; None for what a peer may send besides (a request, a keep-alive)."""
    first_line, _, rest = head.partition(b"\n")
    first = first_line.decode("utf-8", errors="replace").strip()
    if not first or first.endswith("SIP/2.0"):
        return None  # a CRLF keep-alive (RFC 5626) or a request to us: not our reply
    match = _STATUS.match(first)
    if match is None:
        raise ProbeFailure(f"invalid SIP reply: {clean(first, 60)!r}")
    return SipReply(
        int(match[1]), clean(match[2] or "", 60), _header(_CALL_ID_HEADER, rest), _header(_CSEQ_HEADER, rest)
    )


def _header(pattern: re.Pattern[bytes], headers: bytes) -> str:
    # Two searches instead of splitting every header line into a dict: a UDP check's reply is
    # parsed thousands of times a second, and only these two headers matter.
    found = pattern.search(headers)
    return found[1].decode("utf-8", errors="replace").strip() if found else ""


def is_ours(reply: SipReply, call_id: str) -> bool:
    """Whether `reply` answers our OPTIONS: the Call-ID we chose (before any @host) and CSeq 1."""
    return reply.call_id.split("@", 1)[0] == call_id and reply.cseq.split() == ["1", "OPTIONS"]
