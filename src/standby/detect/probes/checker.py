"""The dispatcher: one check of any network probe, bounded by its timeout, that never raises.

Every failure becomes a `CheckResult(ok=False)` whose detail names what went wrong in plain
words, and a timeout names the step that never finished ("no connection within 2 s").
Only `asyncio.CancelledError` goes through, so a worker that is stopping stops at once.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from standby.detect.probes.dns import check_dns
from standby.detect.probes.http import HttpChecker, ssl_context
from standby.detect.probes.result import CheckResult, NetworkProbe, Progress, describe_error
from standby.detect.probes.sip import SipChecker
from standby.detect.probes.tcp import check_tcp
from standby.plan.probes import DnsProbe, HttpProbe, SipOptionsProbe, TcpProbe


class ProbeChecker:
    """Checks probes over the network; reusable for thousands of checks.

    Owns the shared resources: the SSL contexts of HTTPS (one per TLS setting) and SIP's
    shared UDP sockets. Call `aclose` when done.
    """

    def __init__(self, *, max_body_bytes: int = 1 << 20) -> None:
        self._http = HttpChecker(max_body_bytes=max_body_bytes)
        self._sip = SipChecker(lambda: ssl_context(True, None))

    async def check(self, probe: NetworkProbe, *, now: datetime) -> CheckResult:
        """One check of `probe`; never raises except asyncio.CancelledError."""
        progress = Progress()
        deadline = asyncio.timeout(probe.timeout_s)
        try:
            async with deadline:
                return await self._dispatch(probe, now, progress)
        except TimeoutError as exc:
            # TimeoutError is also the OSError of a connect that timed out in the kernel.
            if deadline.expired():
                return CheckResult(ok=False, detail=progress.timeout_detail(probe.timeout_s), rtt_ms=None)
            return CheckResult(ok=False, detail=describe_error(exc), rtt_ms=None)
        except Exception as exc:
            return CheckResult(ok=False, detail=describe_error(exc), rtt_ms=None)

    async def aclose(self) -> None:
        """Close SIP's UDP sockets; the checker must not be used afterwards."""
        self._sip.close()

    async def _dispatch(self, probe: NetworkProbe, now: datetime, progress: Progress) -> CheckResult:
        if isinstance(probe, HttpProbe):
            return await self._http.check(probe, now=now, progress=progress)
        if isinstance(probe, TcpProbe):
            return await check_tcp(probe, progress)
        if isinstance(probe, DnsProbe):
            return await check_dns(probe, progress)
        if isinstance(probe, SipOptionsProbe):
            return await self._sip.check(probe, progress)
        detail = f"probe type {type(probe).__name__} is not checked over the network"
        return CheckResult(ok=False, detail=detail, rtt_ms=None)
