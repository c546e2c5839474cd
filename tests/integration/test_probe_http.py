"""The HTTP(S) probe against a real server on 127.0.0.1: statuses, keywords, JSON fields and TLS."""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import anyio
import pytest
import trustme
from _servers import HOST, TcpServer, ca, ca_file, checker, free_port, http_handler

from standby.detect.probes import CheckResult, ProbeChecker
from standby.detect.probes.http import der_not_after
from standby.plan.probes import HttpProbe

pytestmark = pytest.mark.anyio
__all__ = ["ca", "ca_file", "checker"]  # fixtures, imported for pytest


def http(url: str, **settings: object) -> HttpProbe:
    return HttpProbe.model_validate({"type": "http", "target": url, "timeout_s": 2, **settings})


async def check(checker: ProbeChecker, probe: HttpProbe, now: datetime | None = None) -> CheckResult:
    with anyio.fail_after(probe.timeout_s + 5):
        return await checker.check(probe, now=now or datetime.now(UTC))


@pytest.fixture
async def site() -> AsyncIterator[str]:
    async with TcpServer(http_handler) as server:
        yield f"http://{HOST}:{server.port}"


async def test_a_matching_status_is_healthy_with_its_round_trip_time(checker, site) -> None:
    result = await check(checker, http(f"{site}/ok"))
    assert result.ok and result.detail.startswith("HTTP 200 in ") and result.detail.endswith(" ms")
    assert result.rtt_ms is not None and result.rtt_ms > 0 and result.warning is None


@pytest.mark.parametrize("method", ["HEAD", "POST"])
async def test_head_and_post_are_sent_as_asked(checker, site, method: str) -> None:
    assert (await check(checker, http(f"{site}/ok", method=method))).ok


async def test_another_status_is_down_and_says_which(checker, site) -> None:
    result = await check(checker, http(f"{site}/status/503"))
    assert not result.ok and result.detail == "HTTP 503 (expected 200)" and result.rtt_ms is not None
    assert (await check(checker, http(f"{site}/status/503", expect_status=503))).ok


async def test_a_redirect_is_not_followed_but_compared(checker, site) -> None:
    result = await check(checker, http(f"{site}/redirect"))
    assert not result.ok and result.detail == "HTTP 302 (expected 200), redirect to /ok"
    assert (await check(checker, http(f"{site}/redirect", expect_status=302))).ok


async def test_the_keyword_must_be_in_the_body(checker, site) -> None:
    assert (await check(checker, http(f"{site}/ok", keyword="systems ok"))).ok
    result = await check(checker, http(f"{site}/ok", keyword="banana"))
    assert not result.ok and result.detail == "keyword 'banana' not in the body"


async def test_a_keyword_past_the_body_limit_counts_as_missing(checker, site) -> None:
    result = await check(checker, http(f"{site}/late-keyword", keyword="needle"))
    assert not result.ok and result.detail == "keyword 'needle' not in the first 1 MiB of the body"
    roomy = ProbeChecker(max_body_bytes=4 << 20)
    try:
        assert (await check(roomy, http(f"{site}/late-keyword", keyword="needle"))).ok
    finally:
        await roomy.aclose()


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("status.db", "ok", None),
        ("status.code", 200, None),
        ("status.code", 200.0, None),
        ("status.ratio", 1, None),
        ("status.up", True, None),
        ("items.0.state", "green", None),
        ("status.nothing", None, None),  # without json_value the field only has to be there
        ("status.db", "down", 'JSON field \'status.db\' is "ok" (expected "down")'),
        ("status.code", "200", "JSON field 'status.code' is the number 200, expected the string \"200\""),
        ("status.up", 1, "JSON field 'status.up' is the boolean true, expected the number 1"),
        ("status.db", False, "JSON field 'status.db' is the string \"ok\", expected the boolean false"),
        ("status.missing", "x", "JSON field 'status.missing' missing (no 'missing' in 'status')"),
        ("nowhere.deep", "x", "JSON field 'nowhere.deep' missing"),
        ("items.5.state", "green", "JSON field 'items.5.state' missing (no '5' in 'items')"),
    ],
)
async def test_json_fields_compare_with_json_types(checker, site, field: str, value: object, problem) -> None:
    result = await check(checker, http(f"{site}/json", json_field=field, json_value=value))
    assert (result.ok, None if result.ok else result.detail) == (problem is None, problem)


async def test_a_body_that_is_not_json_fails_a_json_check(checker, site) -> None:
    result = await check(checker, http(f"{site}/notjson", json_field="status"))
    assert not result.ok and result.detail == "body is not JSON, so JSON field 'status' cannot be checked"


async def test_each_check_opens_a_new_connection_so_a_dead_listener_is_noticed(checker) -> None:
    async with TcpServer(http_handler) as server:
        url = f"http://{HOST}:{server.port}/ok"
        assert (await check(checker, http(url))).ok and (await check(checker, http(url))).ok
        assert server.connections == 2
    result = await check(checker, http(url))
    assert not result.ok and result.detail == "connection refused"


async def test_a_closed_port_is_refused(checker) -> None:
    port = free_port(socket.SOCK_STREAM)
    result = await check(checker, http(f"http://{HOST}:{port}/"))
    assert result == CheckResult(ok=False, detail="connection refused", rtt_ms=None)


async def test_an_unknown_host_name_is_named(checker) -> None:
    result = await check(checker, http("http://no-such-host.invalid/"))
    assert not result.ok and result.detail.startswith("host name 'no-such-host.invalid' not found")


# --- HTTPS ---------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def tls_site(
    ca: trustme.CA, *, days: float = 365, names: tuple[str, ...] = (HOST,)
) -> AsyncIterator[str]:
    """An HTTPS server whose certificate from `ca` ends `days` from now (negative: already ended)."""
    now = datetime.now(UTC)
    leaf = ca.issue_cert(*names, not_before=now - timedelta(days=30), not_after=now + timedelta(days=days))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(context)
    async with TcpServer(http_handler, ssl_context=context) as server:
        yield f"https://{HOST}:{server.port}"


async def test_https_with_a_valid_certificate_is_healthy(checker, ca, ca_file) -> None:
    async with tls_site(ca) as url:
        result = await check(checker, http(f"{url}/ok", ca_file=ca_file, keyword="ok"))
    assert result.ok and result.detail.startswith("HTTP 200 in ") and result.warning is None


async def test_a_certificate_expiring_soon_gives_a_warning(checker, ca, ca_file) -> None:
    async with tls_site(ca, days=5.05) as url:
        result = await check(checker, http(f"{url}/ok", ca_file=ca_file))
        quiet = await check(checker, http(f"{url}/ok", ca_file=ca_file, cert_warn_days=3))
    expiry = (datetime.now(UTC) + timedelta(days=5.05)).date().isoformat()
    assert result.ok and result.warning == f"TLS certificate expires in 5 days ({expiry})"
    assert quiet.ok and quiet.warning is None


async def test_a_certificate_expired_by_the_time_given_fails(checker, ca, ca_file) -> None:
    async with tls_site(ca, days=10) as url:
        later = datetime.now(UTC) + timedelta(days=20)
        result = await check(checker, http(f"{url}/ok", ca_file=ca_file), now=later)
    expiry = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    assert not result.ok and result.detail == f"TLS certificate expired on {expiry}"


async def test_an_expired_certificate_fails(checker, ca, ca_file) -> None:
    async with tls_site(ca, days=-1) as url:
        result = await check(checker, http(f"{url}/ok", ca_file=ca_file))
    assert result == CheckResult(ok=False, detail="TLS certificate expired", rtt_ms=None)


async def test_a_certificate_from_an_untrusted_ca_fails(checker, ca) -> None:
    async with tls_site(ca) as url:
        result = await check(checker, http(f"{url}/ok"))
    assert not result.ok
    assert result.detail == "TLS certificate not accepted: unable to get local issuer certificate"


async def test_a_certificate_for_another_name_fails(checker, ca, ca_file) -> None:
    async with tls_site(ca, names=("example.org",)) as url:
        result = await check(checker, http(f"{url}/ok", ca_file=ca_file))
    assert not result.ok and result.detail.startswith("TLS certificate not accepted: IP address mismatch")


async def test_tls_verify_false_accepts_any_certificate_but_still_warns(checker, ca) -> None:
    async with tls_site(ca, days=-1, names=("example.org",)) as url:
        result = await check(checker, http(f"{url}/ok", tls_verify=False))
    assert result.ok and result.warning is not None
    assert (
        result.warning.startswith("TLS certificate expired on ") and "tls_verify is false" in result.warning
    )


async def test_an_unreadable_ca_file_is_named(checker, tmp_path) -> None:
    missing = tmp_path / "nope.pem"
    result = await check(checker, http(f"https://{HOST}:1/", ca_file=str(missing)))
    # The detail shortens a long path (as pytest-xdist's temporary ones are) with an ellipsis.
    assert not result.ok and result.detail.startswith(f"CA file '{str(missing)[:20]}")
    assert result.detail.endswith("' cannot be read: [Errno 2] No such file or directory")


def test_the_expiry_date_is_read_from_the_certificate_itself(ca) -> None:
    not_after = datetime(2031, 3, 4, 5, 6, 7, tzinfo=UTC)
    leaf = ca.issue_cert("example.org", not_after=not_after)
    der = ssl.PEM_cert_to_DER_cert(leaf.cert_chain_pems[0].bytes().decode())
    assert der_not_after(der) == not_after
    with pytest.raises(ValueError, match="DER"):
        der_not_after(der[:40])
