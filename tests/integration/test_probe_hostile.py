"""Hostile peers: each one a clear failure within the timeout, in bounded memory, never an exception.

Silence, resets, garbage, a 100 MB body, a zip bomb, endless headers and half replies, over
HTTP and SIP on TCP; and targets that are malformed. Warnings are errors in this suite, so a
socket or transport left open by any of these would fail the test too.
"""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import anyio
import pytest
from _servers import HOST, TcpServer, checker, gzip_bomb, hang_forever, http_handler, reset

from standby.detect.probes import CheckResult, NetworkProbe, ProbeChecker
from standby.plan.probes import DnsProbe, HttpProbe, SipOptionsProbe, TcpProbe

pytestmark = pytest.mark.anyio
__all__ = ["checker"]  # a fixture, imported for pytest

# Long enough that a loaded machine (two test workers on two cores) still connects within
# it, so each case ends by the stage it tests rather than by "no connection".
TIMEOUT = 1.5
MEMORY_BOUND = 16 * 1024 * 1024


async def check(checker: ProbeChecker, probe: NetworkProbe) -> CheckResult:
    with anyio.fail_after(probe.timeout_s + 5):
        return await checker.check(probe, now=datetime.now(UTC))


async def check_measured(checker: ProbeChecker, probe: NetworkProbe) -> tuple[CheckResult, int]:
    """The result and the peak memory Python allocated during the check."""
    tracemalloc.start()
    try:
        result = await check(checker, probe)
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture
async def site() -> AsyncIterator[str]:
    gzip_bomb()  # made (and cached) before any memory is measured: the server's 32 MiB are not the probe's
    async with TcpServer(http_handler) as server:
        yield f"http://{HOST}:{server.port}"


def http(url: str, **settings: object) -> HttpProbe:
    return HttpProbe.model_validate({"type": "http", "target": url, "timeout_s": TIMEOUT, **settings})


# --- HTTP ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "settings", "detail"),
    [
        ("/hang", {}, "no reply within 1.5 s"),
        ("/half", {}, "no reply within 1.5 s"),
        ("/half-body", {"keyword": "all systems"}, "no complete body within 1.5 s"),
    ],
)
async def test_http_peers_that_stop_answering_time_out(checker, site, route, settings, detail) -> None:
    result = await check(checker, http(f"{site}{route}", **settings))
    assert result == CheckResult(ok=False, detail=detail, rtt_ms=result.rtt_ms)


async def test_a_100_mb_body_is_not_read_when_only_the_status_matters(checker, site) -> None:
    result, peak = await check_measured(checker, http(f"{site}/big", timeout_s=5))
    assert result.ok and peak < MEMORY_BOUND


@pytest.mark.parametrize("route", ["/big", "/gzip-bomb"])
async def test_a_huge_body_is_read_no_further_than_the_limit(checker, site, route: str) -> None:
    result, peak = await check_measured(checker, http(f"{site}{route}", keyword="needle", timeout_s=5))
    assert not result.ok and result.detail == "keyword 'needle' not in the first 1 MiB of the body"
    assert peak < MEMORY_BOUND


async def test_a_huge_json_body_is_not_parsed(checker, site) -> None:
    result = await check(checker, http(f"{site}/big", json_field="status", timeout_s=5))
    assert not result.ok and result.detail == "body larger than 1 MiB: JSON field 'status' not checked"


@pytest.mark.parametrize(
    ("route", "details"),
    [
        ("/endless-headers", ("invalid HTTP reply: ",)),
        ("/garbage", ("invalid HTTP reply: ",)),
        ("/reset", ("connection reset by the peer", "connection closed without a reply")),
    ],
)
async def test_http_peers_that_misbehave_fail_clearly(checker, site, route: str, details) -> None:
    result, peak = await check_measured(checker, http(f"{site}{route}", timeout_s=5))
    assert not result.ok and result.detail.startswith(details), result.detail
    assert len(result.detail) <= 120 and "Traceback" not in result.detail and peak < MEMORY_BOUND


async def test_a_check_cancelled_from_outside_is_cancelled_not_failed(checker, site) -> None:
    with anyio.move_on_after(0.2) as scope:
        await checker.check(http(f"{site}/hang", timeout_s=5), now=datetime.now(UTC))
    assert scope.cancelled_caught


# --- SIP over TCP -----------------------------------------------------------------------------------

Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], object]


async def sip_tcp(checker: ProbeChecker, serve: Serve) -> CheckResult:
    async with TcpServer(serve) as server:  # type: ignore[arg-type]
        probe = SipOptionsProbe(
            type="sip_options", target=f"sip:{HOST}:{server.port};transport=tcp", timeout_s=TIMEOUT
        )
        return await check(checker, probe)


async def never_reads(_reader: asyncio.StreamReader, _writer: asyncio.StreamWriter) -> None:
    await hang_forever()


async def half_reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.1\r\n")
    await hang_forever()


async def endless_headers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"SIP/2.0 200 OK\r\n")
    while True:
        writer.write(b"X-Filler: " + b"a" * 1000 + b"\r\n")
        await writer.drain()


async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(bytes(range(256)) + b"\r\n\r\n")
    await writer.drain()
    await hang_forever()


async def resets(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    reset(writer)


async def hangs_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"SIP/2.0 200 OK\r\n")
    await writer.drain()
    writer.close()


async def huge_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"SIP/2.0 200 OK\r\nContent-Length: 100000000\r\n\r\n")
    await writer.drain()
    await hang_forever()


@pytest.mark.parametrize(
    ("serve", "detail"),
    [
        (never_reads, "no reply within 1.5 s"),
        (half_reply, "no reply within 1.5 s"),
        (endless_headers, "SIP reply header block larger than 64 KiB"),
        (garbage, "invalid SIP reply: "),
        (resets, "connection reset by the peer"),
        (hangs_up, "connection closed before a complete SIP reply"),
        (huge_body, "SIP reply body of 100000000 bytes is too large"),
    ],
)
async def test_sip_tcp_peers_that_misbehave_fail_clearly(checker, serve: Serve, detail: str) -> None:
    result = await sip_tcp(checker, serve)
    assert not result.ok and result.detail.startswith(detail), result.detail


# --- malformed targets ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("probe", "detail"),
    [
        (HttpProbe(type="http", target="http://host:abc/"), "invalid URL: Invalid port: 'abc'"),
        (TcpProbe(type="tcp", target=f"{HOST}:0"), "port '0' is not a number from 1 to 65535"),
        (TcpProbe(type="tcp", target="[::1:80"), "malformed address '[::1:80': use [IPv6]:port"),
        (DnsProbe(type="dns", target="a..b", resolver=HOST), "'a..b' is not a valid DNS name: "),
        (DnsProbe(type="dns", target="x.test", resolver="[::1"), "malformed address '[::1'"),
        (SipOptionsProbe(type="sip_options", target="sip:@"), "no host in ''"),
        (SipOptionsProbe(type="sip_options", target="sips:h;transport=udp"), "sips: runs over TLS on TCP"),
    ],
)
async def test_malformed_targets_are_explained(checker, probe: NetworkProbe, detail: str) -> None:
    result = await check(checker, probe)
    assert not result.ok and result.detail.startswith(detail), result.detail


async def test_a_sips_peer_that_never_starts_tls_times_out_in_the_handshake(checker) -> None:
    async with TcpServer(never_reads) as server:
        probe = SipOptionsProbe(type="sip_options", target=f"sips:{HOST}:{server.port}", timeout_s=TIMEOUT)
        result = await check(checker, probe)
    assert result == CheckResult(ok=False, detail="no TLS handshake within 1.5 s", rtt_ms=None)
