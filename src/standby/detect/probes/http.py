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
"""

from __future__ import annotations

import json
import socket
import ssl
import time
import zlib
from datetime import UTC, datetime
from typing import Any

import certifi
import httpx

from standby.detect.probes.result import CheckResult, ProbeFailure, Progress, clean, ms_text, root_os_error
from standby.plan.probes import HttpProbe

_TRACE_STEPS = {
    "connection.connect_tcp.started": "connection",
    "connection.start_tls.started": "TLS handshake",
    "http11.send_request_headers.started": "chance to send the request",
    "http11.receive_response_headers.started": "reply",
}


class HttpChecker:
    """Runs HTTP probes; holds one keep-alive-free client per TLS setting, reused across checks."""

    def __init__(self, *, max_body_bytes: int) -> None:
        self._max_body = max_body_bytes
        self._clients: dict[tuple[bool, str | None], httpx.AsyncClient] = {}

    async def aclose(self) -> None:
        """Close every client (and so every connection still open)."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    async def check(self, probe: HttpProbe, *, now: datetime, progress: Progress) -> CheckResult:
        """One request; healthy when status, keyword and JSON field all match."""
        client = self._client(probe)

        async def trace(event: str, _info: dict[str, Any]) -> None:
            step = _TRACE_STEPS.get(event)
            if step is not None:
                progress.waiting_for = step

        progress.waiting_for = "connection"
        start = time.perf_counter()
        try:
            request = client.build_request(probe.method, probe.target, extensions={"trace": trace})
            response = await client.send(request, stream=True)
        except httpx.RemoteProtocolError as exc:
            raise ProbeFailure(_protocol_detail(exc)) from exc
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise ProbeFailure(f"invalid URL: {clean(str(exc))}") from exc
        except httpx.ConnectError as exc:
            root = root_os_error(exc)
            if isinstance(root, socket.gaierror):
                host = clean(httpx.URL(probe.target).host)
                raise ProbeFailure(
                    f"host name {host!r} not found ({clean(str(root.strerror)).lower()})"
                ) from exc
            raise
        try:
            rtt_ms = (time.perf_counter() - start) * 1000
            warning, cert_failure = _certificate_expiry(response, probe, now)
            if cert_failure is not None:
                return CheckResult(ok=False, detail=cert_failure, rtt_ms=rtt_ms, warning=warning)
            failure = await self._mismatch(response, probe, progress)
            if failure is not None:
                return CheckResult(ok=False, detail=failure, rtt_ms=rtt_ms, warning=warning)
            detail = f"HTTP {response.status_code} in {ms_text(rtt_ms)}"
            return CheckResult(ok=True, detail=detail, rtt_ms=rtt_ms, warning=warning)
        finally:
            await response.aclose()

    def _client(self, probe: HttpProbe) -> httpx.AsyncClient:
        key = (probe.tls_verify, probe.ca_file if probe.tls_verify else None)
        client = self._clients.get(key)
        if client is None:
            client = httpx.AsyncClient(
                verify=ssl_context(*key),
                trust_env=False,
                follow_redirects=False,
                timeout=None,  # the checker bounds the whole check with the probe's timeout
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
                # identity: a compressed body would have to be inflated to search it
                headers={"User-Agent": "Standby", "Accept-Encoding": "identity"},
            )
            self._clients[key] = client
        return client

    async def _mismatch(self, response: httpx.Response, probe: HttpProbe, progress: Progress) -> str | None:
        """Why the reply does not match the probe, or None when it does."""
        if response.status_code != probe.expect_status:
            detail = f"HTTP {response.status_code} (expected {probe.expect_status})"
            location = response.headers.get("location")
            if response.is_redirect and location:
                detail += f", redirect to {clean(location)}"
            return detail
        if probe.keyword is None and probe.json_field is None:
            return None
        progress.waiting_for = "complete body"
        body, truncated = await _read_body(response, self._max_body)
        if probe.keyword is not None:
            text = body.decode(response.charset_encoding or "utf-8", errors="replace")
            if probe.keyword not in text:
                where = f"the first {size_text(self._max_body)} of the body" if truncated else "the body"
                return f"keyword {clean(probe.keyword)!r} not in {where}"
        if probe.json_field is not None:
            if truncated:
                limit = size_text(self._max_body)
                return f"body larger than {limit}: JSON field {probe.json_field!r} not checked"
            return json_mismatch(body, probe.json_field, probe.json_value)
        return None


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


def _protocol_detail(exc: httpx.RemoteProtocolError) -> str:
    text = str(exc)
    if "disconnected without sending" in text:
        return "connection closed without a reply"
    return f"invalid HTTP reply: {clean(text)}"


async def _read_body(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    """At most `limit` bytes of the decoded body, and whether there was more."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    inflater: Any = None
    if encoding in ("gzip", "x-gzip"):
        inflater = zlib.decompressobj(wbits=31)
    elif encoding == "deflate":
        inflater = zlib.decompressobj(wbits=15)
    elif encoding not in ("", "identity"):
        raise ProbeFailure(f"body encoded as {clean(encoding)!r}, which Standby does not decode")
    parts: list[bytes] = []
    size = 0
    try:
        async for raw in response.aiter_raw():
            pending = raw
            while pending:
                if inflater is None:
                    piece, pending = pending[: limit + 1 - size], b""
                else:
                    # max_length bounds what a small compressed chunk may inflate to (a zip bomb).
                    piece = inflater.decompress(pending, limit + 1 - size)
                    pending = inflater.unconsumed_tail
                size += len(piece)
                parts.append(piece)
                if size > limit:
                    return b"".join(parts)[:limit], True
                if inflater is not None and not piece:
                    break
    except zlib.error as exc:
        raise ProbeFailure(f"body is not valid {encoding}: {clean(str(exc))}") from exc
    except httpx.RemoteProtocolError as exc:
        raise ProbeFailure(_protocol_detail(exc)) from exc
    return b"".join(parts), False


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
    response: httpx.Response, probe: HttpProbe, now: datetime
) -> tuple[str | None, str | None]:
    """(warning, failure) about the peer certificate's expiry; (None, None) on plain HTTP."""
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    if not isinstance(ssl_object, ssl.SSLObject):
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
