"""What one check of a component returns, the protocol of a checker, and the plain words for failures.

A probe adapter either returns a `CheckResult` or raises `ProbeFailure` with the detail to show;
`ProbeChecker.check` turns anything else into a failed result with `describe_error`, so a
hostile reply never reaches the worker as a traceback.
"""

from __future__ import annotations

import errno
import ssl
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from standby.plan.probes import DnsProbe, HttpProbe, SipOptionsProbe, TcpProbe

NetworkProbe = HttpProbe | TcpProbe | DnsProbe | SipOptionsProbe
"""The probes that Standby checks itself over the network (heartbeats and metrics are pushed)."""


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: healthy or not, why in a few words, and how long the reply took."""

    ok: bool
    detail: str
    rtt_ms: float | None
    warning: str | None = None


class Checker(Protocol):
    """Something that checks a component once against its probe settings."""

    async def check(self, probe: NetworkProbe, *, now: datetime) -> CheckResult:
        """One check; never raises except `asyncio.CancelledError`."""
        ...


class ProbeFailure(Exception):
    """A check that failed for a reason already put in plain words (the exception's message)."""


class Progress:
    """What a check is waiting for, so that a timeout can say which step never finished."""

    __slots__ = ("waiting_for",)

    def __init__(self, waiting_for: str = "reply") -> None:
        self.waiting_for = waiting_for

    def timeout_detail(self, timeout_s: float) -> str:
        """Such as 'no reply within 2 s' or 'no connection within 0.5 s'."""
        return f"no {self.waiting_for} within {seconds_text(timeout_s)} s"


def seconds_text(value: float) -> str:
    """2.0 as '2' and 0.25 as '0.25': seconds as a plan author wrote them."""
    return f"{value:g}"


def ms_text(rtt_ms: float) -> str:
    """A round-trip time for a detail: '12 ms', or '0.4 ms' under one millisecond."""
    return f"{rtt_ms:.1f} ms" if rtt_ms < 1 else f"{rtt_ms:.0f} ms"


def clean(text: str, limit: int = 80) -> str:
    """Text that came from a peer, made safe to show: printable, one line, at most `limit` characters."""
    printable = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    return printable if len(printable) <= limit else printable[: limit - 1] + "…"


_ERRNO_WORDS = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset by the peer",
    errno.ECONNABORTED: "connection aborted",
    errno.EPIPE: "connection closed by the peer while sending",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
    errno.ENETDOWN: "network is down",
    errno.ETIMEDOUT: "connection timed out",
    errno.EADDRNOTAVAIL: "address not available",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted (a firewall?)",
}


def describe_error(exc: BaseException) -> str:
    """An exception from any layer (TLS, dnspython, the socket) in plain words, never a traceback."""
    if isinstance(exc, ProbeFailure):
        return str(exc)
    root = root_os_error(exc)
    if isinstance(root, ssl.SSLCertVerificationError):
        return tls_verify_detail(root)
    if isinstance(root, ssl.SSLError):
        reason = root.reason or root.strerror or str(root)
        return f"TLS handshake failed: {clean(str(reason)).lower().replace('_', ' ')}"
    if root is not None and root.errno in _ERRNO_WORDS:
        return _ERRNO_WORDS[root.errno]
    if root is not None and root.strerror:
        return clean(root.strerror).lower()
    text = clean(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def tls_verify_detail(exc: ssl.SSLCertVerificationError) -> str:
    """A certificate that failed verification, with OpenSSL's reason (expired, untrusted, wrong name)."""
    # X509_V_ERR_CERT_HAS_EXPIRED: the case operators most need to recognise at a glance.
    if exc.verify_code == 10:
        return "TLS certificate expired"
    reason = clean(exc.verify_message or exc.reason or "unknown reason", 120)
    return f"TLS certificate not accepted: {reason}"


def root_os_error(exc: BaseException) -> OSError | None:
    """The OSError at the bottom: libraries (dnspython, asyncio) wrap the one that says what happened."""
    current: BaseException | None = exc
    for _ in range(16):  # a bound, not a count: cause chains are short, but never trust them to end
        if current is None:
            return None
        if isinstance(current, BaseExceptionGroup) and current.exceptions:
            current = current.exceptions[0]
            continue
        # An OSError without an errno only carries a message about the one it wraps.
        if isinstance(current, OSError) and (current.errno is not None or current.__cause__ is None):
            return current
        current = current.__cause__ or current.__context__
    return None
