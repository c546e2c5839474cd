"""Posting to HTTP receivers (SMS gateways, webhooks), and judging what they answer.

- A small HTTP/1.1 client of its own (see `Poster`) with kept-alive connections, reused
  across messages; no proxies, nothing from the environment. TLS checks certificates
  against the system's CAs and certifi's.
- A hard deadline on the whole exchange (connect, send, answer), not only on each read,
  so a receiver that trickles a byte every few seconds cannot hold a message forever.
- At most `max_response_bytes` of an answer are read: only an excerpt is kept.
- Redirects are not followed: a webhook that moved is a configuration to fix.
- The verdict: 2xx delivered; 408, 429 and 5xx, timeouts, resets and answers that are
  not HTTP are temporary; any other status is permanent, with the status and an excerpt
  of the body. Messages name the receiver by scheme and host only: webhook paths and
  URL passwords are secrets.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import certifi

from standby.notify.channels.protocol import PermanentFailure, TemporaryFailure

DEFAULT_TIMEOUT_S = 10.0
MAX_RESPONSE_BYTES = 64 * 1024
EXCERPT = 200
USER_AGENT = "Standby-Notify/1"


@dataclass(frozen=True)
class Answer:
    """A receiver's answer: status, the start of its body, its content type."""

    status: int
    reason: str
    body: bytes
    content_type: str

    def excerpt(self) -> str:
        """The start of the body as one printable line."""
        return excerpt(self.body)

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None


def excerpt(body: bytes, limit: int = EXCERPT) -> str:
    """The start of a body as one printable line, for an error message."""
    text = body[: limit * 4].decode("utf-8", errors="replace")
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return flat[:limit] + ("…" if len(flat) > limit else "") if flat else "(empty body)"


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """The URL without user:password, and the (user, password) for HTTP Basic, if any."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port is not None else "")
    bare = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return bare, (unquote(parts.username or ""), unquote(parts.password or ""))


def where(url: str) -> str:
    """The receiver as scheme://host[:port], for messages (no path, no credentials)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}"


class _NotHttp(Exception):
    """The peer answered something that is not HTTP/1.x."""


class _Stale(Exception):
    """A kept-alive connection turned out to be closed before any answer began."""


@dataclass(eq=False)
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def usable(self) -> bool:
        return not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.transport.abort()


@dataclass(frozen=True)
class _Target:
    tls: bool
    host: str
    port: int
    path: bytes
    host_header: str


class Poster:
    """Posts bodies to receivers over kept-alive HTTP/1.1 connections, and judges the answers.

    A small HTTP/1.1 client of its own rather than a general one: it only POSTs, needs no
    proxies, redirects, cookies or compression, and costs a fraction of the CPU per message
    (the outbox sends thousands a second). Each request is written in one piece; answers
    with Content-Length, chunked or until-close bodies are read, at most
    `max_response_bytes` of them; a connection is kept only when its answer was read whole.
    """

    def __init__(
        self,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        max_connections: int = 16,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        """At most `max_connections` requests at once, each on its own connection."""
        self.timeout_s = timeout_s
        self.max_response_bytes = max_response_bytes
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: dict[tuple[bool, str, int], list[_Connection]] = {}
        self._busy: set[_Connection] = set()
        self._tls = tls_context
        self._targets: dict[str, _Target] = {}

    async def aclose(self) -> None:
        """Close every connection."""
        idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.writer.close()
                with contextlib.suppress(OSError, ssl.SSLError):
                    await connection.writer.wait_closed()
        for connection in list(self._busy):
            connection.close()

    async def post(
        self,
        url: str,
        *,
        content: bytes,
        headers: dict[str, str],
        auth: tuple[str, str] | None,
        what: str,
    ) -> Answer:
        """POST and judge: an Answer for 2xx, else TemporaryFailure or PermanentFailure.

        `what` names the receiver in messages, such as "the SMS gateway at https://host".
        """
        try:
            target = self._target(url)
            request = _request(target, content, headers, auth)
        except ValueError as exc:
            raise PermanentFailure(f"cannot post to {what}: {exc}") from None
        try:
            async with self._slots, asyncio.timeout(self.timeout_s):
                answer = await self._exchange(target, request)
        except TimeoutError:
            raise TemporaryFailure(f"{what} did not answer within {self.timeout_s:g} s") from None
        except _NotHttp as exc:
            raise TemporaryFailure(f"{what} answered something that is not HTTP: {exc}") from None
        except asyncio.IncompleteReadError:
            raise TemporaryFailure(f"{what} hung up without answering in full") from None
        except asyncio.LimitOverrunError:
            raise TemporaryFailure(f"{what} answered with a header line longer than 64 KiB") from None
        except ssl.SSLError as exc:
            raise TemporaryFailure(f"TLS with {what} failed: {_text(exc)}") from None
        except ConnectionRefusedError:
            raise TemporaryFailure(f"cannot connect to {what}: connection refused") from None
        except OSError as exc:
            raise TemporaryFailure(f"the connection to {what} failed: {_text(exc)}") from None
        judge(answer, what)
        return answer

    def _target(self, url: str) -> _Target:
        target = self._targets.get(url)
        if target is None:
            parts = urlsplit(url)
            scheme = parts.scheme.lower()
            if scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("only http:// and https:// URLs with a host are supported")
            port = parts.port or (443 if scheme == "https" else 80)
            host = parts.hostname
            if not host.isascii():
                host = host.encode("idna").decode("ascii")  # bücher.example -> xn--bcher-kva.example
            shown = f"[{host}]" if ":" in host else host
            default = port == (443 if scheme == "https" else 80)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            if any(c in path for c in " \r\n"):
                raise ValueError("the URL's path has spaces or line breaks")
            target = _Target(
                scheme == "https",
                host,
                port,
                path.encode("ascii", "strict"),
                shown if default else f"{shown}:{port}",
            )
            if len(self._targets) < 10_000:
                self._targets[url] = target
        return target

    async def _exchange(self, target: _Target, request: bytes) -> Answer:
        key = (target.tls, target.host, target.port)
        for attempt in (1, 2):
            connection, reused = await self._connection(key, target)
            self._busy.add(connection)
            keep = False
            try:
                connection.writer.write(request)
                await connection.writer.drain()
                try:
                    answer, keep = await self._answer(connection.reader)
                except _Stale:
                    # A kept connection the server had closed before answering (an idle
                    # timeout): once more on a new one; the idempotency key covers the rare
                    # server that did take the request first.
                    if reused and attempt == 1:
                        continue
                    raise asyncio.IncompleteReadError(b"", None) from None
                return answer
            except (ConnectionResetError, BrokenPipeError):
                if reused and attempt == 1:
                    continue
                raise
            finally:
                self._busy.discard(connection)
                if keep and connection.usable():
                    self._idle.setdefault(key, []).append(connection)
                else:
                    connection.close()
        raise asyncio.IncompleteReadError(b"", None)  # pragma: no cover - the loop returns or raises

    async def _connection(self, key: tuple[bool, str, int], target: _Target) -> tuple[_Connection, bool]:
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()
            if connection.usable():
                return connection, True
            connection.close()
        context = None
        if target.tls:
            context = self._tls or _default_tls()
        reader, writer = await asyncio.open_connection(
            target.host,
            target.port,
            ssl=context,
            server_hostname=target.host if context else None,
            limit=64 * 1024,
        )
        return _Connection(reader, writer), False

    async def _answer(self, reader: asyncio.StreamReader) -> tuple[Answer, bool]:
        """The answer's status, headers and (the start of) its body, and whether to keep the connection."""
        while True:
            try:
                line = await reader.readuntil(b"\r\n")
            except asyncio.IncompleteReadError as exc:
                if not exc.partial:
                    raise _Stale() from None
                raise _NotHttp(excerpt(exc.partial)) from None
            parts = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
            if (
                len(parts) < 2
                or not parts[0].startswith("HTTP/1.")
                or not parts[1].isdigit()
                or len(parts[1]) != 3
            ):
                raise _NotHttp(excerpt(line))
            version, status, reason = parts[0], int(parts[1]), parts[2] if len(parts) > 2 else ""
            fields: dict[str, str] = {}
            size = 0
            while True:
                header = await reader.readuntil(b"\r\n")
                size += len(header)
                if size > 64 * 1024:
                    raise _NotHttp("more than 64 KiB of headers")
                if header == b"\r\n":
                    break
                name, colon, value = header.decode("latin-1").partition(":")
                if not colon:
                    raise _NotHttp(f"a header line without a colon: {excerpt(header)}")
                fields[name.strip().lower()] = value.strip()
            if 100 <= status < 200:
                continue  # 100 Continue and other interim answers: the real one follows
            break
        keep = version == "HTTP/1.1" and fields.get("connection", "").lower() != "close"
        limit = self.max_response_bytes
        if "chunked" in fields.get("transfer-encoding", "").lower():
            body, whole = await _chunked(reader, limit)
        elif "content-length" in fields:
            try:
                length = int(fields["content-length"])
            except ValueError:
                raise _NotHttp(
                    f"a Content-Length that is not a number: {fields['content-length'][:40]}"
                ) from None
            body = await reader.readexactly(min(length, limit))
            whole = length <= limit
        elif status in (204, 304):
            body, whole = b"", True
        else:
            body = await reader.read(limit)
            whole = keep = False
        answer = Answer(status, reason.strip(), body, fields.get("content-type", ""))
        return answer, keep and whole


async def _chunked(reader: asyncio.StreamReader, limit: int) -> tuple[bytes, bool]:
    body = bytearray()
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise _NotHttp(f"a bad chunk size: {excerpt(size_line)}") from None
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass  # trailers
            return bytes(body), True
        if len(body) + size > limit:
            body += await reader.readexactly(limit - len(body))
            return bytes(body), False
        body += await reader.readexactly(size)
        await reader.readexactly(2)


def _request(target: _Target, content: bytes, headers: dict[str, str], auth: tuple[str, str] | None) -> bytes:
    lines = [
        b"POST " + target.path + b" HTTP/1.1",
        f"Host: {target.host_header}".encode("ascii"),
        f"User-Agent: {USER_AGENT}".encode(),
        b"Accept-Encoding: identity",
        f"Content-Length: {len(content)}".encode(),
    ]
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        lines.append(f"Authorization: Basic {token}".encode())
    for name, value in headers.items():
        if any(c in name or c in value for c in "\r\n\0"):
            raise ValueError(f"the header {name!r} has a line break")
        lines.append(f"{name}: {value}".encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + content


_DEFAULT_TLS: ssl.SSLContext | None = None


def _default_tls() -> ssl.SSLContext:
    """The system's CAs plus certifi's, made once (loading them takes milliseconds)."""
    global _DEFAULT_TLS
    if _DEFAULT_TLS is None:
        context = ssl.create_default_context()
        context.load_verify_locations(certifi.where())
        _DEFAULT_TLS = context
    return _DEFAULT_TLS


def _text(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] or type(exc).__name__


def judge(answer: Answer, what: str) -> None:
    """Raise the failure an answer means; return for 2xx."""
    status = answer.status
    if 200 <= status < 300:
        return
    said = f"{status} {answer.reason}".strip()
    if status in (408, 429) or status >= 500:
        raise TemporaryFailure(f"{what} answered {said}: {answer.excerpt()}")
    if 300 <= status < 400:
        raise PermanentFailure(
            f"{what} answered {said} (a redirect, not followed): use the address it moved to"
        )
    raise PermanentFailure(f"{what} refused the message: {said}: {answer.excerpt()}")


def provider_id(answer: Answer) -> str | None:
    """The receiver's id for the message, from JSON `sid`, `id` or `message_id`, if any."""
    data = answer.json()
    if not isinstance(data, dict):
        return None
    for name in ("sid", "id", "message_id", "messageId"):
        value = data.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)[:200]
    return None
