"""The DNS probe against a real DNS server on 127.0.0.1 (UDP and TCP) written with dnspython."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import anyio
import pytest
from _servers import HOST, DnsServer, checker, free_port

from standby.detect.probes import CheckResult, ProbeChecker
from standby.plan.probes import DnsProbe

pytestmark = pytest.mark.anyio
__all__ = ["checker"]  # a fixture, imported for pytest


@pytest.fixture
async def server() -> AsyncIterator[DnsServer]:
    async with DnsServer() as dns_server:
        yield dns_server


def query(server: DnsServer, name: str, record_type: str = "A", **settings: object) -> DnsProbe:
    return DnsProbe.model_validate(
        {"type": "dns", "target": name, "record_type": record_type, "resolver": f"{HOST}:{server.port}"}
        | {"timeout_s": 2, **settings}
    )


async def check(checker: ProbeChecker, probe: DnsProbe) -> CheckResult:
    with anyio.fail_after(probe.timeout_s + 5):
        return await checker.check(probe, now=datetime.now(UTC))


@pytest.mark.parametrize(
    ("name", "record_type", "expect", "shown"),
    [
        ("www.test", "A", ["192.0.2.2", "192.0.2.1"], "A 192.0.2.1, 192.0.2.2 in "),
        ("www.test.", "AAAA", ["2001:DB8:0:0::1"], "AAAA 2001:db8::1 in "),
        ("alias.test", "CNAME", ["WWW.test."], "CNAME www.test in "),
        ("alias.test", "A", ["192.0.2.1"], "A 192.0.2.1, 192.0.2.2 in "),  # through the CNAME
        ("test", "MX", ["mail.test"], "MX 10 mail.test in "),
        ("test", "MX", ["10 mail.test."], "MX 10 mail.test in "),
        ("test", "TXT", ["v=spf1 -all"], "TXT v=spf1 -all in "),
        ("test", "TXT", ['"V=SPF1 -all"'], "TXT v=spf1 -all in "),
        ("test", "NS", ["ns1.test"], "NS ns1.test in "),
        ("_sip._udp.test", "SRV", ["sip.test"], "SRV 10 5 5060 sip.test in "),
        ("_sip._udp.test", "SRV", ["10  5 5060 sip.test"], "SRV 10 5 5060 sip.test in "),
    ],
)
async def test_every_expected_answer_present_is_healthy(
    checker, server, name: str, record_type: str, expect: list[str], shown: str
) -> None:
    result = await check(checker, query(server, name, record_type, expect=expect))
    assert result.ok and result.detail.startswith(shown) and result.rtt_ms is not None


async def test_without_expect_any_answer_will_do(checker, server) -> None:
    assert (await check(checker, query(server, "www.test"))).ok


async def test_a_missing_expected_answer_fails(checker, server) -> None:
    result = await check(checker, query(server, "www.test", expect=["192.0.2.1", "192.0.2.9"]))
    assert not result.ok
    assert result.detail == "expected A '192.0.2.9' not in the answer (192.0.2.1, 192.0.2.2)"


async def test_nxdomain_fails(checker, server) -> None:
    result = await check(checker, query(server, "nowhere.test"))
    assert not result.ok and result.detail == "NXDOMAIN: nowhere.test does not exist"


async def test_servfail_fails(checker, server) -> None:
    result = await check(checker, query(server, "servfail.test"))
    assert not result.ok and result.detail == "SERVFAIL from the resolver"


async def test_an_empty_answer_fails(checker, server) -> None:
    result = await check(checker, query(server, "test", "AAAA"))
    assert not result.ok and result.detail == "no AAAA record for test (empty answer)"


async def test_a_truncated_reply_is_asked_again_over_tcp(checker, server) -> None:
    result = await check(checker, query(server, "big.test", expect=["192.0.2.60"]))
    assert result.ok and result.detail.endswith(" over TCP") and "and 57 more" in result.detail
    assert (server.udp_queries, server.tcp_queries) == (1, 1)


async def test_a_silent_server_times_out_after_retransmitting(checker, server) -> None:
    result = await check(checker, query(server, "silent.test", timeout_s=1.5))
    assert result == CheckResult(ok=False, detail="no reply within 1.5 s", rtt_ms=None)
    assert server.udp_queries == 2  # at 0 and 1 s


async def test_a_closed_port_is_reported_at_once(checker) -> None:
    probe = DnsProbe(type="dns", target="www.test", resolver=f"{HOST}:{free_port(socket.SOCK_DGRAM)}")
    result = await check(checker, probe)
    assert not result.ok and result.detail == "ICMP port unreachable: no DNS server on that port"


async def test_a_garbage_reply_fails(checker, server) -> None:
    result = await check(checker, query(server, "garbage.test"))
    assert not result.ok and result.detail.startswith("invalid DNS reply")


async def test_the_system_resolver_is_asked_without_a_resolver_setting(checker, monkeypatch) -> None:
    # The machine's resolver is outside the test's control: aim the default at the test server.
    import dns.resolver

    async with DnsServer() as dns_server:
        fake = dns.resolver.Resolver(configure=False)
        fake.nameservers = [HOST]
        fake.port = dns_server.port
        monkeypatch.setattr(dns.resolver, "default_resolver", fake)
        result = await check(checker, DnsProbe(type="dns", target="www.test", timeout_s=2))
    assert result.ok and dns_server.udp_queries == 1
