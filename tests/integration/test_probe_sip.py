"""The SIP OPTIONS probe against SIPp (UDP and TCP) and against scripted UDP and TLS peers.

SIPp is Debian's sip-tester. Without it the SIPp tests skip with a message, except where
CI=true or STANDBY_REQUIRE_SIPP=1, where its absence fails them.
"""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import ssl
import warnings
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import anyio
import pytest
import trustme
from _servers import (
    HOST,
    Behaviour,
    TcpServer,
    UdpPeer,
    checker,
    free_port,
    sip_response,
    sipp_binary,
    sipp_uas,
)

from standby.detect.probes import CheckResult, ProbeChecker, sip_udp
from standby.detect.probes.sip import build_options, parse_sip_uri
from standby.plan.probes import SipOptionsProbe

pytestmark = pytest.mark.anyio
__all__ = ["checker", "sipp"]  # fixtures, imported or defined for pytest


def options(target: str, **settings: object) -> SipOptionsProbe:
    return SipOptionsProbe.model_validate(
        {"type": "sip_options", "target": target, "timeout_s": 2, **settings}
    )


async def check(checker: ProbeChecker, probe: SipOptionsProbe) -> CheckResult:
    with anyio.fail_after(probe.timeout_s + 5):
        return await checker.check(probe, now=datetime.now(UTC))


@pytest.fixture
def sipp() -> str:
    """The sipp binary: skips without it, or fails where SIPp is required (CI)."""
    return sipp_binary()


# --- against SIPp ------------------------------------------------------------------------------


@pytest.mark.parametrize(("transport", "suffix"), [("u1", ""), ("t1", ";transport=tcp")])
async def test_sipp_answering_200_is_healthy(
    checker, sipp, tmp_path: Path, transport: str, suffix: str
) -> None:
    with sipp_uas("options_200.xml", transport=transport, workdir=tmp_path) as port:
        first = await check(checker, options(f"sip:health@{HOST}:{port}{suffix}"))
        second = await check(checker, options(f"sip:{HOST}:{port}{suffix}"))
    assert first.ok and first.detail.startswith("SIP 200 OK in ") and first.rtt_ms is not None
    assert second.ok


@pytest.mark.parametrize(("transport", "suffix"), [("u1", ""), ("t1", ";transport=tcp")])
async def test_sipp_answering_503_is_down_unless_accepted(
    checker, sipp, tmp_path: Path, transport: str, suffix: str
) -> None:
    with sipp_uas("options_503.xml", transport=transport, workdir=tmp_path) as port:
        down = await check(checker, options(f"sip:health@{HOST}:{port}{suffix}"))
        accepted = await check(checker, options(f"sip:health@{HOST}:{port}{suffix}", accept_codes=[200, 503]))
    assert not down.ok and down.detail == "SIP 503 Service Unavailable" and down.rtt_ms is not None
    assert accepted.ok and accepted.detail.startswith("SIP 503 Service Unavailable in ")


@pytest.mark.parametrize(("transport", "suffix"), [("u1", ""), ("t1", ";transport=tcp")])
async def test_sipp_sending_100_trying_first_is_waited_for(
    checker, sipp, tmp_path: Path, transport: str, suffix: str
) -> None:
    with sipp_uas("options_100_200.xml", transport=transport, workdir=tmp_path) as port:
        result = await check(checker, options(f"sip:health@{HOST}:{port}{suffix}"))
    assert result.ok and result.detail.startswith("SIP 200 OK in ")
    assert result.rtt_ms is not None and result.rtt_ms >= 150  # the scenario pauses 200 ms


# --- against scripted peers ---------------------------------------------------------------------


def answer(code: int, reason: str) -> Behaviour:
    return lambda request: [(0.0, sip_response(request, code, reason))]


async def test_a_silent_peer_is_down_after_the_timeout_and_was_asked_again(checker) -> None:
    async with UdpPeer(lambda _request: []) as peer:
        result = await check(checker, options(f"sip:{HOST}:{peer.port}", timeout_s=1.7))
    assert result == CheckResult(ok=False, detail="no reply within 1.7 s", rtt_ms=None)
    assert len(peer.received) == 3  # at 0, 0.5 and 1.5 s: timer E, T1 = 500 ms doubling
    assert len(set(peer.received)) == 1  # retransmissions are the same request


async def test_a_closed_udp_port_is_down_at_once(checker) -> None:
    port = free_port(socket.SOCK_DGRAM)
    result = await check(checker, options(f"sip:{HOST}:{port}", timeout_s=5))
    assert result == CheckResult(ok=False, detail="ICMP port unreachable", rtt_ms=None)


async def test_a_closed_tcp_port_is_refused(checker) -> None:
    port = free_port(socket.SOCK_STREAM)
    result = await check(checker, options(f"sip:{HOST}:{port};transport=tcp"))
    assert result == CheckResult(ok=False, detail="connection refused", rtt_ms=None)


async def test_408_is_down_with_its_code(checker) -> None:
    async with UdpPeer(answer(408, "Request Timeout")) as peer:
        result = await check(checker, options(f"sip:{HOST}:{peer.port}"))
    assert not result.ok and result.detail == "SIP 408 Request Timeout"


async def test_replies_to_another_request_are_ignored(checker) -> None:
    def behaviour(request: bytes) -> list[tuple[float, bytes]]:
        return [
            (0.0, sip_response(request, 503, "Not Yours", call_id="someone-else")),
            (0.0, b"\r\n\r\n"),  # a keep-alive
            (0.05, sip_response(request, 200, "OK")),
        ]

    async with UdpPeer(behaviour) as peer:
        result = await check(checker, options(f"sip:{HOST}:{peer.port}"))
    assert result.ok and result.detail.startswith("SIP 200 OK")


async def test_a_provisional_reply_alone_is_not_enough(checker) -> None:
    async with UdpPeer(answer(100, "Trying")) as peer:
        result = await check(checker, options(f"sip:{HOST}:{peer.port}", timeout_s=0.8))
    assert result == CheckResult(ok=False, detail="no final reply after SIP 100 within 0.8 s", rtt_ms=None)


async def test_a_garbage_reply_is_down(checker) -> None:
    async with UdpPeer(lambda _request: [(0.0, b"\x16\x03\x01 this is no SIP")]) as peer:
        result = await check(checker, options(f"sip:{HOST}:{peer.port}"))
    assert not result.ok and result.detail.startswith("invalid SIP reply: ")


def test_the_request_follows_rfc_3261() -> None:
    target = parse_sip_uri("sip:health@sbc.example.org:5070;transport=tcp")
    assert (target.host, target.port, target.transport) == ("sbc.example.org", 5070, "TCP")
    text = build_options(target, ("192.0.2.7", 40000), ("c4ll", "z9hG4bKbr4nch", "t4g")).decode()
    head, _, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    assert lines[0] == "OPTIONS sip:health@sbc.example.org:5070;transport=tcp SIP/2.0"
    assert body == ""
    assert set(lines[1:]) == {
        "Via: SIP/2.0/TCP 192.0.2.7:40000;branch=z9hG4bKbr4nch;rport",
        "Max-Forwards: 70",
        "From: <sip:standby@192.0.2.7>;tag=t4g",
        "To: <sip:health@sbc.example.org:5070>",
        "Call-ID: c4ll@192.0.2.7",
        "CSeq: 1 OPTIONS",
        "Contact: <sip:standby@192.0.2.7:40000;transport=tcp>",
        "Accept: application/sdp",
        "User-Agent: Standby",
        "Content-Length: 0",
    }


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("sip:10.0.0.1", ("10.0.0.1", 5060, "UDP")),
        ("sips:sbc.example.org", ("sbc.example.org", 5061, "TLS")),
        ("sip:u@[2001:db8::1]:5080;transport=TCP", ("2001:db8::1", 5080, "TCP")),
    ],
)
def test_uris_give_host_port_and_transport(uri: str, expected: tuple[str, int, str]) -> None:
    target = parse_sip_uri(uri)
    assert (target.host, target.port, target.transport) == expected


async def test_an_unsupported_transport_is_explained(checker) -> None:
    result = await check(checker, options(f"sip:{HOST}:5060;transport=sctp"))
    assert not result.ok and result.detail == "SIP transport 'sctp' is not supported: use udp, tcp or sips:"


# --- sips: over TLS -------------------------------------------------------------------------------


@pytest.fixture
async def tls_peer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[int]:
    """A SIP peer over TLS answering OPTIONS with 200; its CA is trusted through SSL_CERT_FILE."""
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # read when the checker makes its context
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST).configure_cert(context)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        writer.write(sip_response(request, 200, "OK"))
        await writer.drain()
        await reader.read()

    async with TcpServer(serve, ssl_context=context) as server:
        yield server.port


async def test_sips_runs_over_tls(checker, tls_peer: int) -> None:
    result = await check(checker, options(f"sips:health@{HOST}:{tls_peer}"))
    assert result.ok and result.detail.startswith("SIP 200 OK in ")


async def test_sips_with_an_untrusted_certificate_is_down(tmp_path: Path) -> None:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST).configure_cert(context)

    async def serve(reader: asyncio.StreamReader, _writer: asyncio.StreamWriter) -> None:
        await reader.read()

    probe_checker = ProbeChecker()
    try:
        async with TcpServer(serve, ssl_context=context) as server:
            result = await check(probe_checker, options(f"sips:{HOST}:{server.port}"))
    finally:
        await probe_checker.aclose()
    assert result == CheckResult(
        ok=False, detail="TLS certificate not accepted: unable to get local issuer certificate", rtt_ms=None
    )


# --- the shared UDP sockets ------------------------------------------------------------------------


async def test_many_checks_at_once_to_one_sipp_are_all_answered(checker, sipp, tmp_path: Path) -> None:
    with sipp_uas("options_200.xml", transport="u1", workdir=tmp_path) as port:
        probe = options(f"sip:health@{HOST}:{port}", timeout_s=5)
        results = await asyncio.gather(*(check(checker, probe) for _ in range(1000)))
    assert [r.detail for r in results if not r.ok] == []


async def test_checks_beyond_one_sockets_buffer_spread_over_more_sockets(
    sipp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 32 KiB buffer holds about 25 replies: 400 at once into one socket would drop most, and
    # SIPp, done with those transactions, would not answer the retransmissions.
    monkeypatch.setattr(sip_udp, "RECEIVE_BUFFER", 16 * 1024)
    probe_checker = ProbeChecker()
    try:
        with sipp_uas("options_200.xml", transport="u1", workdir=tmp_path) as port:
            probe = options(f"sip:health@{HOST}:{port}", timeout_s=5)
            results = await asyncio.gather(*(check(probe_checker, probe) for _ in range(400)))
    finally:
        await probe_checker.aclose()
    assert [r.detail for r in results if not r.ok] == []


async def test_concurrent_checks_get_their_own_replies(checker) -> None:
    async with UdpPeer(answer(200, "OK")) as healthy, UdpPeer(answer(503, "Service Unavailable")) as busy:
        results = await asyncio.gather(
            *(check(checker, options(f"sip:{HOST}:{peer.port}")) for peer in [healthy, busy] * 50)
        )
    assert all(r.ok for r in results[0::2])
    assert {r.detail for r in results[1::2]} == {"SIP 503 Service Unavailable"}


async def test_a_closed_port_fails_alone_while_other_checks_wait(checker) -> None:
    def slow_200(request: bytes) -> list[tuple[float, bytes]]:
        return [(0.3, sip_response(request, 200, "OK"))]

    closed = free_port(socket.SOCK_DGRAM)
    async with UdpPeer(slow_200) as peer:
        waiting = [asyncio.create_task(check(checker, options(f"sip:{HOST}:{peer.port}"))) for _ in range(20)]
        await asyncio.sleep(0.05)
        started = asyncio.get_running_loop().time()
        refused = await check(checker, options(f"sip:{HOST}:{closed}", timeout_s=5))
        elapsed = asyncio.get_running_loop().time() - started
        answered = await asyncio.gather(*waiting)
    assert refused == CheckResult(ok=False, detail="ICMP port unreachable", rtt_ms=None)
    assert elapsed < 0.25  # at once, not after a retransmission or the timeout
    assert all(r.ok for r in answered)


async def test_a_closed_udp_port_on_ipv6_is_down_at_once(checker) -> None:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.bind(("::1", 0))
            port = sock.getsockname()[1]
    except OSError:
        pytest.skip("no IPv6 loopback here")
    result = await check(checker, options(f"sip:[::1]:{port}", timeout_s=5))
    assert result == CheckResult(ok=False, detail="ICMP port unreachable", rtt_ms=None)


async def test_stray_datagrams_and_late_replies_are_ignored(checker) -> None:
    def twice(request: bytes) -> list[tuple[float, bytes]]:
        # A final reply, a duplicate, and a late 503 for the same request (lands in the next check).
        return [
            (0.0, sip_response(request, 200, "OK")),
            (0.0, sip_response(request, 200, "OK")),
            (0.15, sip_response(request, 503, "Too Late")),
        ]

    async with UdpPeer(twice) as peer:
        first = await check(checker, options(f"sip:{HOST}:{peer.port}"))
        via_port = int(peer.received[0].split(b";branch=")[0].rsplit(b":", 1)[1])

        async def strays() -> None:
            # From another address than the checked peer's: garbage, a reply to nobody.
            await asyncio.sleep(0.05)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
                stranger.sendto(b"\x16\x03\x01 not SIP", (HOST, via_port))
                stranger.sendto(
                    b"SIP/2.0 200 OK\r\nCall-ID: nobody@x\r\nCSeq: 1 OPTIONS\r\n\r\n", (HOST, via_port)
                )

        def after_strays(request: bytes) -> list[tuple[float, bytes]]:
            return [(0.3, sip_response(request, 200, "OK"))]

        async with UdpPeer(after_strays) as slow:
            second, _ = await asyncio.gather(
                check(checker, options(f"sip:{HOST}:{peer.port}")),
                strays(),
            )
            third = await check(checker, options(f"sip:{HOST}:{slow.port}"))
    assert first.ok and second.ok and third.ok


async def test_after_a_provisional_reply_the_request_is_repeated_only_every_4_s(checker) -> None:
    def trying_once(request: bytes) -> list[tuple[float, bytes]]:
        return [(0.0, sip_response(request, 100, "Trying"))]

    async with UdpPeer(trying_once) as peer:
        result = await check(checker, options(f"sip:{HOST}:{peer.port}", timeout_s=1.7))
    assert result == CheckResult(ok=False, detail="no final reply after SIP 100 within 1.7 s", rtt_ms=None)
    assert len(peer.received) == 1  # not again at 0.5 and 1.5 s: timer E is at T2 after a 1xx


async def test_the_checker_closes_its_udp_sockets() -> None:
    def open_files() -> set[str]:
        return set(os.listdir("/proc/self/fd"))

    before = open_files()
    probe_checker = ProbeChecker()
    async with UdpPeer(answer(200, "OK")) as peer:
        result = await check(probe_checker, options(f"sip:{HOST}:{peer.port}"))
        await probe_checker.aclose()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gc.collect()
    assert result.ok
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
    assert open_files() <= before
