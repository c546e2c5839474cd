"""The HTTP(S) probe: one request on a new connection whose reply must match.

Decisions a plan author can rely on:

- A new connection per check (no keep-alive), so a listener that died is noticed at once.
- Redirects are not followed: a 30x is a status like any other, compared with `expect_status`.
- The body is read only when `keyword` or `json_field` needs it, streaming, and at most
  `max_body_bytes` of it (after decompression, which is bounded too), so a 100 MB reply costs
  no more memory than a small one. A keyword beyond that point counts as missing.
- `json_value` is compared with JSON's types: the string "200" does not match the number 200,
  true does not match 1, and 200 matches 200.0; the detail names both types when they differ.
  `json_field` without `json_value` only asks that the field be present.
- The certificate's expiry date is read from the connection itself; a certificate expiring
  within `cert_warn_days` of `now` gives a warning on a healthy result, and one expired at
  `now` is a failure. With `tls_verify: false` nothing about the certificate fails the check
  (expiry is then only a warning), which is what the author asked for.
- Proxies and certificate settings from the environment are ignored: the probe reaches the
  target directly, with the system's CAs plus certifi's (or `ca_file` alone when given).
  A probe asks whether the target answers from where the worker runs; a proxy in between
  would answer for it (and a proxy's own failure would look like the target's).
- HTTP/1.1 only, spoken by the probe itself (`http_reply`): every server and load balancer
  answers it, and a general client cost about six times the CPU a check needs.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import socket
import ssl
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import certifi

from standby.detect.probes.http_reply import Reply, Url, parse_url
from standby.detect.probes.net import close_abortively, connect_any, reset_on_close, resolve
from standby.detect.probes.result import CheckResult, ProbeFailure, Progress, clean, ms_text
from standby.plan.probes import HttpProbe

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_READ_SIZE = 65536


class HttpChecker:
    """Runs HTTP probes; holds one SSL context per TLS setting, reused across checks."""

    def __init__(self, *, max_body_bytes: int) -> None:
        self._max_body = max_body_bytes
        self._contexts: dict[tuple[bool, str | None], ssl.SSLContext] = {}

    async def check(self, probe: HttpProbe, *, now: datetime, progress: Progress) -> CheckResult:
        """One request; healthy when status, keyword and JSON field all match."""
        url = parse_url(probe.target, probe.method)
        context = self._context(probe) if url.tls else None  # an unreadable CA file fails first
        want_body = probe.keyword is not None or probe.json_field is not None
        reply = Reply(want_body=want_body, limit=self._max_body, head_only=probe.method == "HEAD")
        start = time.perf_counter()
        targets = await resolve(url.host, url.port, socket.SOCK_STREAM, progress)
        progress.waiting_for = "connection"
        sock = await connect_any(targets)
        if context is None:
            exchange = _over_socket(sock, url, reply, progress)
        else:
            exchange = _over_tls(sock, url, context, reply, progress)
        async with exchange as ssl_object:
            return await self._judge(reply, probe, now, progress, start, ssl_object)

    async def _judge(
        self,
        reply: Reply,
        probe: HttpProbe,
        now: datetime,
        progress: Progress,
        start: float,
        ssl_object: ssl.SSLObject | None,
    ) -> CheckResult:
        """Wait for the reply's head, then (if needed) its body, and say whether they match."""
        await reply.head
        rtt_ms = (time.perf_counter() - start) * 1000
        warning, cert_failure = _certificate_expiry(ssl_object, probe, now)
        if cert_failure is not None:
            return CheckResult(ok=False, detail=cert_failure, rtt_ms=rtt_ms, warning=warning)
        failure = await self._mismatch(reply, probe, progress)
        if failure is not None:
            return CheckResult(ok=False, detail=failure, rtt_ms=rtt_ms, warning=warning)
        detail = f"HTTP {reply.status} in {ms_text(rtt_ms)}"
        return CheckResult(ok=True, detail=detail, rtt_ms=rtt_ms, warning=warning)

    def _context(self, probe: HttpProbe) -> ssl.SSLContext:
        key = (probe.tls_verify, probe.ca_file if probe.tls_verify else None)
        context = self._contexts.get(key)
        if context is None:
            context = self._contexts[key] = ssl_context(*key)
        return context

    async def _mismatch(self, reply: Reply, probe: HttpProbe, progress: Progress) -> str | None:
        """Why the reply does not match the probe, or None when it does."""
        if reply.status != probe.expect_status:
            detail = f"HTTP {reply.status} (expected {probe.expect_status})"
            location = reply.headers.get(b"location")
            if reply.status in _REDIRECTS and location:
                detail += f", redirect to {clean(location.decode('latin-1'))}"
            return detail
        if probe.keyword is None and probe.json_field is None:
            return None
        progress.waiting_for = "complete body"
        body, truncated = await reply.body
        if probe.keyword is not None:
            text = body.decode(_charset(reply), errors="replace")
            if probe.keyword not in text:
                where = f"the first {size_text(self._max_body)} of the body" if truncated else "the body"
                return f"keyword {clean(probe.keyword)!r} not in {where}"
        if probe.json_field is not None:
            if truncated:
                limit = size_text(self._max_body)
                return f"body larger than {limit}: JSON field {probe.json_field!r} not checked"
            return json_mismatch(body, probe.json_field, probe.json_value)
        return None


@contextlib.asynccontextmanager
async def _over_socket(
    sock: socket.socket, url: Url, reply: Reply, progress: Progress
) -> AsyncIterator[ssl.SSLObject | None]:
    """Plain HTTP straight on the non-blocking socket: no transport, a reader callback."""
    loop = asyncio.get_running_loop()
    fd = sock.fileno()
    reading = False
    try:
        progress.waiting_for = "chance to send the request"
        try:
            sent = sock.send(url.request)
        except BlockingIOError:
            sent = 0
        if sent < len(url.request):
            await loop.sock_sendall(sock, url.request[sent:])
        progress.waiting_for = "reply"
        loop.add_reader(fd, _read_into, sock, reply)
        reading = True
        yield None
    finally:
        reply.close()
        if reading:
            loop.remove_reader(fd)
        close_abortively(sock)


@contextlib.asynccontextmanager
async def _over_tls(
    sock: socket.socket, url: Url, context: ssl.SSLContext, reply: Reply, progress: Progress
) -> AsyncIterator[ssl.SSLObject | None]:
    """HTTPS through asyncio's TLS transport, which owns the socket (and closes it) from here."""
    loop = asyncio.get_running_loop()
    progress.waiting_for = "TLS handshake"
    reset_on_close(sock)  # the transport's abort then leaves no TIME_WAIT
    try:
        transport, _ = await loop.create_connection(
            lambda: reply, sock=sock, ssl=context, server_hostname=url.host
        )
    except BaseException:
        reply.close()
        raise
    try:
        progress.waiting_for = "reply"
        transport.write(url.request)
        yield transport.get_extra_info("ssl_object")
    finally:
        reply.close()
        transport.abort()


def _read_into(sock: socket.socket, reply: Reply) -> None:
    """The reader callback of a plain connection: what the socket holds, to the parser."""
    try:
        data = sock.recv(_READ_SIZE)
    except (BlockingIOError, InterruptedError):
        return
    except OSError as exc:
        reply.connection_lost(exc)
        return
    if data:
        reply.data_received(data)
    else:
        reply.eof_received()


def _charset(reply: Reply) -> str:
    """The body's charset from Content-Type, if Python knows it; UTF-8 otherwise."""
    content_type = reply.headers.get(b"content-type", b"").decode("latin-1")
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"')
            try:
                return codecs.lookup(charset).name
            except LookupError:
                break
    return "utf-8"


def ssl_context(verify: bool, ca_file: str | None) -> ssl.SSLContext:
    """A client context: unverified, trusting `ca_file` alone, or the system's CAs plus certifi's."""
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if ca_file is not None:
        try:
            return ssl.create_default_context(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ProbeFailure(f"CA file {clean(ca_file)!r} cannot be read: {clean(str(exc))}") from exc
    context = ssl.create_default_context()
    # certifi as well as the system's store: slim containers often ship without the latter.
    context.load_verify_locations(cafile=certifi.where())
    return context


def json_mismatch(body: bytes, path: str, expected: str | int | float | bool | None) -> str | None:
    """Why the JSON body's field at the dotted `path` does not match, or None when it does."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return f"body is not JSON, so JSON field {path!r} cannot be checked"
    node: Any = document
    walked: list[str] = []
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            where = f" (no {part!r} in {'.'.join(walked)!r})" if walked else ""
            return f"JSON field {path!r} missing{where}"
        walked.append(part)
    if expected is None or json_equal(node, expected):
        return None
    if _json_type(node) != _json_type(expected):
        return (
            f"JSON field {path!r} is the {_json_type(node)} {_json_text(node)},"
            f" expected the {_json_type(expected)} {_json_text(expected)}"
        )
    return f"JSON field {path!r} is {_json_text(node)} (expected {_json_text(expected)})"


def json_equal(actual: Any, expected: str | int | float | bool) -> bool:
    """Equal as JSON values: same JSON type (numbers compare by value), so '200' != 200 and true != 1."""
    if _json_type(actual) != _json_type(expected):
        return False
    return bool(actual == expected)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return "array" if isinstance(value, list) else "object"


def _json_text(value: Any) -> str:
    return clean(json.dumps(value, ensure_ascii=False), 60)


def size_text(size: int) -> str:
    """A byte count as a person writes it: '1 MiB', '64 KiB', '1000 bytes'."""
    if size >= 1 << 20 and size % (1 << 20) == 0:
        return f"{size >> 20} MiB"
    if size >= 1 << 10 and size % (1 << 10) == 0:
        return f"{size >> 10} KiB"
    return f"{size} bytes"


def _certificate_expiry(
    ssl_object: ssl.SSLObject | None, probe: HttpProbe, now: datetime
) -> tuple[str | None, str | None]:
    """(warning, failure) about the peer certificate's expiry; (None, None) on plain HTTP."""
    if ssl_object is None:
        return None, None
    der = ssl_object.getpeercert(binary_form=True)
    try:
        not_after = der_not_after(der) if der else None
    except ValueError:
        not_after = None
    if not_after is None:
        return "TLS certificate expiry date could not be read", None
    left = not_after - now
    day = not_after.date().isoformat()
    if left.total_seconds() <= 0:
        if probe.tls_verify:
            return None, f"TLS certificate expired on {day}"
        return f"TLS certificate expired on {day} (not verified: tls_verify is false)", None
    if left.days < probe.cert_warn_days:
        when = {0: "within a day", 1: "in 1 day"}.get(left.days, f"in {left.days} days")
        return f"TLS certificate expires {when} ({day})", None
    return None, None


def der_not_after(der: bytes) -> datetime:
    """The notAfter date of a DER X.509 certificate (RFC 5280 4.1), found by walking the TLV tree."""
    certificate = _tlv(der, 0)
    tbs = _tlv(der, certificate[1])
    item = _tlv(der, tbs[1])
    if item[0] == 0xA0:  # the optional explicit [0] version
        item = _tlv(der, item[2])
    for _ in range(3):  # from serialNumber past signature and issuer to validity
        item = _tlv(der, item[2])
    not_before = _tlv(der, item[1])
    not_after = _tlv(der, not_before[2])
    tag = not_after[0]
    text = der[not_after[1] : not_after[2]].decode("ascii")
    if tag == 0x17:  # UTCTime, YYMMDDHHMMSSZ; RFC 5280 uses it for years up to 2049 only
        parsed = datetime.strptime(text, "%y%m%d%H%M%SZ")
    elif tag == 0x18:
        parsed = datetime.strptime(text, "%Y%m%d%H%M%SZ")
    else:
        raise ValueError(f"unexpected time tag {tag:#x}")
    return parsed.replace(tzinfo=UTC)


def _tlv(der: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the DER element at `pos`, bounds-checked."""
    if pos + 2 > len(der):
        raise ValueError("truncated DER")
    tag, length = der[pos], der[pos + 1]
    start = pos + 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or start + count > len(der):
            raise ValueError("bad DER length")
        length = int.from_bytes(der[start : start + count], "big")
        start += count
    if start + length > len(der):
        raise ValueError("truncated DER")
    return tag, start, start + length
