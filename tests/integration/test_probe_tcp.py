"""The TCP probe against real sockets on 127.0.0.1: open, refused, and a port that never answers."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import anyio
import pytest
from _servers import HOST, checker, free_port

from standby.detect.probes import CheckResult, ProbeChecker
from standby.plan.probes import TcpProbe

pytestmark = pytest.mark.anyio
__all__ = ["checker"]  # a fixture, imported for pytest


def tcp(target: str, timeout_s: float = 2) -> TcpProbe:
    return TcpProbe(type="tcp", target=target, timeout_s=timeout_s)


async def check(checker: ProbeChecker, probe: TcpProbe) -> CheckResult:
    with anyio.fail_after(probe.timeout_s + 5):
        return await checker.check(probe, now=datetime.now(UTC))


@contextlib.contextmanager
def listener() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        sock.listen(64)
        yield sock.getsockname()[1]


async def test_an_open_port_is_healthy(checker) -> None:
    with listener() as port:
        result = await check(checker, tcp(f"{HOST}:{port}"))
    assert result.ok and result.detail.startswith("connected in ") and result.rtt_ms is not None


async def test_ipv6_in_brackets(checker) -> None:
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    try:
        sock.bind(("::1", 0))
    except OSError as exc:
        sock.close()
        pytest.skip(f"no IPv6 loopback on this machine: {exc}")
    with sock:
        sock.listen(8)
        assert (await check(checker, tcp(f"[::1]:{sock.getsockname()[1]}"))).ok


async def test_a_host_name_is_resolved(checker) -> None:
    with listener() as port:
        assert (await check(checker, tcp(f"localhost:{port}"))).ok


async def test_a_closed_port_is_refused(checker) -> None:
    result = await check(checker, tcp(f"{HOST}:{free_port(socket.SOCK_STREAM)}"))
    assert result == CheckResult(ok=False, detail="connection refused", rtt_ms=None)


async def test_a_malformed_target_is_explained(checker) -> None:
    result = await check(checker, tcp(f"{HOST}:70000"))
    assert not result.ok and result.detail == "port '70000' is not a number from 1 to 65535"


async def test_a_listener_with_a_full_backlog_times_out(checker) -> None:
    # A listener that never accepts, with its queue full: the kernel drops further SYNs, so the
    # connection never opens, deterministically, and without leaving 127.0.0.0/8.
    with socket.socket() as server:
        server.bind((HOST, 0))
        server.listen(0)
        port = server.getsockname()[1]
        fillers: list[socket.socket] = []
        try:
            for _ in range(8):
                filler = socket.socket()
                filler.settimeout(0.2)
                try:
                    filler.connect((HOST, port))
                except OSError:
                    filler.close()
                    break
                fillers.append(filler)
            else:
                pytest.skip("this kernel never filled the listen queue")
            result = await check(checker, tcp(f"{HOST}:{port}", timeout_s=0.5))
        finally:
            for filler in fillers:
                filler.close()
    assert result == CheckResult(ok=False, detail="no connection within 0.5 s", rtt_ms=None)
