"""The TCP probe: a connection that must open, then closes at once.

Cheap on purpose, since a worker runs thousands of these a second: one non-blocking socket and
`loop.sock_connect`, no streams or transports, and IP literals never touch the resolver. The
socket closes with a reset (SO_LINGER 0), as HAProxy's checks do, so that thousands of checks
do not leave thousands of TIME_WAIT sockets holding the machine's ephemeral ports.
"""

from __future__ import annotations

import socket
import time

from standby.detect.probes.net import close_abortively, connect_any, resolve, split_host_port
from standby.detect.probes.result import CheckResult, Progress, ms_text
from standby.plan.probes import TcpProbe


async def check_tcp(probe: TcpProbe, progress: Progress) -> CheckResult:
    """Connect to the probe's host:port and close; healthy when the connection opened."""
    host, port = split_host_port(probe.target)
    targets = await resolve(host, port, socket.SOCK_STREAM, progress)
    progress.waiting_for = "connection"
    start = time.perf_counter()
    sock = await connect_any(targets)
    rtt_ms = (time.perf_counter() - start) * 1000
    close_abortively(sock)
    return CheckResult(ok=True, detail=f"connected in {ms_text(rtt_ms)}", rtt_ms=rtt_ms)
