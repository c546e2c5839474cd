"""The DNS probe: one query to one resolver, whose answer must hold the expected records.

Decisions a plan author can rely on:

- The query goes over UDP on a connected socket (so "port unreachable" is reported at once),
  is sent again after 1, 2 and 4 s like a stub resolver, and is repeated over TCP when the
  reply comes back truncated (TC bit).
- NXDOMAIN, SERVFAIL (any rcode but NOERROR) and an answer without a record of the asked type
  are failures. A CNAME chain is followed as the resolver returned it.
- `expect`: every entry must match some record of the answer. Matching ignores case, a trailing
  dot and repeated spaces; addresses compare as addresses ('2001:db8::1' matches
  '2001:DB8:0:0::1'). An MX or SRV record matches either its target name ('mail.example.com')
  or its whole text ('10 mail.example.com'); a TXT record matches its text, quoted or not.
- `resolver` is host[:port] (port 53; IPv6 as [addr]:port); without it, the first nameserver of
  the system's configuration (/etc/resolv.conf) is asked.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from typing import Any

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver

from standby.detect.probes.net import Target, UdpPeer, resolve, split_host_port
from standby.detect.probes.result import CheckResult, ProbeFailure, Progress, clean, ms_text
from standby.plan.probes import DnsProbe

_TC_BIT = 0x02  # in the third byte of the header


async def check_dns(probe: DnsProbe, progress: Progress) -> CheckResult:
    """Ask the resolver for the probe's name and type; healthy when every expected answer is there."""
    family, address = await _resolver_target(probe.resolver, progress)
    try:
        name = dns.name.from_text(probe.target)
    except dns.exception.DNSException as exc:
        raise ProbeFailure(f"{clean(probe.target)!r} is not a valid DNS name: {clean(str(exc))}") from exc
    rdtype = dns.rdatatype.from_text(probe.record_type)
    query = dns.message.make_query(name, rdtype)
    progress.waiting_for = "reply"
    start = time.perf_counter()
    reply = await _ask_udp(query, family, address)
    over = ""
    if reply is None:
        progress.waiting_for = "reply over TCP (the UDP reply was truncated)"
        reply = await _ask_tcp(query, address)
        over = " over TCP"
    rtt_ms = (time.perf_counter() - start) * 1000
    shown = name.to_text(omit_final_dot=True)
    rcode = reply.rcode()
    if rcode == dns.rcode.NXDOMAIN:
        return CheckResult(ok=False, detail=f"NXDOMAIN: {clean(shown)} does not exist", rtt_ms=rtt_ms)
    if rcode != dns.rcode.NOERROR:
        return CheckResult(ok=False, detail=f"{dns.rcode.to_text(rcode)} from the resolver", rtt_ms=rtt_ms)
    records = [rdata for rrset in reply.answer if rrset.rdtype == rdtype for rdata in rrset]
    if not records:
        detail = f"no {probe.record_type} record for {clean(shown)} (empty answer)"
        return CheckResult(ok=False, detail=detail, rtt_ms=rtt_ms)
    forms = [_forms(rdata, rdtype) for rdata in records]
    # Sorted: an RRset has no order, and the detail should not change from check to check.
    texts = ", ".join(sorted(clean(_shown(rdata, rdtype), 60) for rdata in records)[:3])
    if len(records) > 3:
        texts += f" and {len(records) - 3} more"
    missing = [e for e in probe.expect or [] if not any(_norm(e) in f for f in forms)]
    if missing:
        listed = ", ".join(repr(clean(m, 60)) for m in missing[:3])
        detail = f"expected {probe.record_type} {listed} not in the answer ({texts})"
        return CheckResult(ok=False, detail=detail, rtt_ms=rtt_ms)
    detail = f"{probe.record_type} {texts} in {ms_text(rtt_ms)}{over}"
    return CheckResult(ok=True, detail=detail, rtt_ms=rtt_ms)


async def _resolver_target(setting: str | None, progress: Progress) -> Target:
    if setting is not None:
        host, port = split_host_port(setting, default_port=53)
    else:
        host, port = _system_nameserver()
    return (await resolve(host, port, socket.SOCK_DGRAM, progress))[0]


def _system_nameserver() -> tuple[str, int]:
    try:
        system = dns.resolver.get_default_resolver()
    except dns.exception.DNSException as exc:
        raise ProbeFailure(
            f"no resolver configured on this machine; set 'resolver' ({clean(str(exc))})"
        ) from exc
    if not system.nameservers:
        raise ProbeFailure("no resolver configured on this machine; set 'resolver'")
    first: Any = system.nameservers[0]
    if isinstance(first, str):
        return first, system.nameserver_ports.get(first, system.port)
    address, port = getattr(first, "address", None), getattr(first, "port", None)
    if not isinstance(address, str) or not isinstance(port, int):
        raise ProbeFailure(
            f"the system's first nameserver ({clean(str(first))}) is not plain DNS; set 'resolver'"
        )
    return address, port


async def _ask_udp(
    query: dns.message.Message, family: socket.AddressFamily, address: Any
) -> dns.message.Message | None:
    """The reply over UDP, or None when it came back truncated and TCP must be asked."""
    with UdpPeer(family, address) as peer:
        peer.send(query.to_wire(), first_interval=1.0, cap=4.0)
        while True:
            try:
                data = await peer.receive()
            except ConnectionRefusedError as exc:
                raise ProbeFailure("ICMP port unreachable: no DNS server on that port") from exc
            if len(data) >= 12 and int.from_bytes(data[:2], "big") == query.id and data[2] & _TC_BIT:
                return None
            try:
                reply = dns.message.from_wire(data)
            except Exception as exc:  # dnspython raises many kinds for malformed wire data
                raise ProbeFailure(f"invalid DNS reply: {clean(str(exc)) or type(exc).__name__}") from exc
            if query.is_response(reply):
                return reply
            # Another query's late reply, or a spoofing attempt: keep waiting for ours.


async def _ask_tcp(query: dns.message.Message, address: Any) -> dns.message.Message:
    try:
        reply = await dns.asyncquery.tcp(query, address[0], port=address[1])
    except dns.exception.DNSException as exc:
        raise ProbeFailure(f"invalid DNS reply over TCP: {clean(str(exc))}") from exc
    except EOFError as exc:
        raise ProbeFailure("connection closed without a DNS reply over TCP") from exc
    return reply


def _forms(rdata: Any, rdtype: dns.rdatatype.RdataType) -> set[str]:
    """Every normalised text that an expected answer may give to match this record."""
    forms = {rdata.to_text()}
    if rdtype == dns.rdatatype.MX:
        forms.add(rdata.exchange.to_text())
    elif rdtype == dns.rdatatype.SRV:
        forms.add(rdata.target.to_text())
    elif rdtype == dns.rdatatype.TXT:
        forms.add(b"".join(rdata.strings).decode("utf-8", errors="replace"))
    return {_norm(form) for form in forms}


def _shown(rdata: Any, rdtype: dns.rdatatype.RdataType) -> str:
    if rdtype == dns.rdatatype.TXT:
        return str(b"".join(rdata.strings).decode("utf-8", errors="replace"))
    return str(rdata.to_text()).rstrip(".")


def _norm(text: str) -> str:
    """Lower case, single spaces, no trailing dot; an IP address in its canonical form."""
    text = " ".join(text.split()).lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text
