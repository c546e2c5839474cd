"""Real receivers on 127.0.0.1 for the notification tests: an HTTP server and an SMTP server.

Both run in the test's own event loop and close every connection on exit (an unclosed
transport is a warning, and warnings are errors here). The HTTP receiver speaks HTTP/1.1
with keep-alive, records every request, and honours `Idempotency-Key` the way Twilio- or
Stripe-style gateways do: a key it has seen before is answered again without a second
delivery. `deliveries` counts what arrived per key; `raw_repeats` says how often a key
came more than once.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import ssl
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, Self
from urllib.parse import parse_qs

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"


@dataclass
class Request:
    """One request as received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        """The body as an HTML form, one value per name."""
        return {k: v[0] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)

    def basic_auth(self) -> tuple[str, str] | None:
        """The HTTP Basic credentials, if any."""
        scheme, _, value = self.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        user, _, password = base64.b64decode(value).decode().partition(":")
        return user, password


@dataclass
class Reply:
    """What to answer: a status, a body, headers, after a delay."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


class Garbage(bytes):
    """Bytes written instead of an HTTP answer, then the connection is closed."""


HANG = None
Behaviour = Callable[[Request], Awaitable[Reply | Garbage | None]]


async def accept(_request: Request) -> Reply:
    """Take everything: 200 with a JSON id."""
    return Reply(200, b'{"id": "ok"}', {"Content-Type": "application/json"})


class HttpReceiver:
    """An HTTP/1.1 server on 127.0.0.1 whose answers come from `behaviour`."""

    def __init__(self, behaviour: Behaviour = accept, *, honour_keys: bool = True) -> None:
        self.behaviour = behaviour
        self.honour_keys = honour_keys
        self.requests: list[Request] = []
        self.deliveries: Counter[str] = Counter()
        self.effective: dict[str, Request] = {}
        self._answers: dict[str, Reply] = {}
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        """The receiver's base address."""
        return f"http://{HOST}:{self.port}"

    @property
    def raw_repeats(self) -> int:
        """How many requests repeated a key that had come before."""
        return sum(n - 1 for n in self.deliveries.values() if n > 1)

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                self.requests.append(request)
                key = request.headers.get("idempotency-key")
                if key is not None:
                    self.deliveries[key] += 1
                    if self.honour_keys and key in self._answers:
                        await _write(writer, self._answers[key])
                        continue
                answer = await self.behaviour(request)
                if answer is None:
                    await asyncio.Event().wait()  # hang until the server closes
                if isinstance(answer, Garbage):
                    writer.write(bytes(answer))
                    await writer.drain()
                    return
                assert isinstance(answer, Reply)
                if key is not None and 200 <= answer.status < 300:
                    self.effective.setdefault(key, request)
                    self._answers[key] = answer
                await _write(writer, answer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        except asyncio.CancelledError:
            pass  # the server is closing: end quietly (a cancelled handler is logged as an error)
        finally:
            writer.transport.abort()
            self._tasks.discard(task)


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Request(method, path, headers, body)


async def _write(writer: asyncio.StreamWriter, reply: Reply) -> None:
    if reply.delay_s:
        await asyncio.sleep(reply.delay_s)
    head = [f"HTTP/1.1 {reply.status} Whatever", f"Content-Length: {len(reply.body)}"]
    head += [f"{k}: {v}" for k, v in reply.headers.items()]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + reply.body)
    await writer.drain()


# --- SMTP ---------------------------------------------------------------------------------------


@dataclass
class Mail:
    """One email as the server received it."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class _Handler:
    def __init__(self, server: SmtpReceiver) -> None:
        self.server = server

    async def handle_RCPT(
        self, _server: SMTP, _session: Session, envelope: Envelope, address: str, _options: list[str]
    ) -> str:
        if address in self.server.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if address in self.server.defer:
            return "450 4.2.0 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.server.mails.append(Mail(str(envelope.mail_from), list(envelope.rcpt_tos), message))
        self.server.ids[str(message["Message-ID"])] += 1
        return f"250 2.0.0 Ok: queued as Q{len(self.server.mails)}"


class SmtpReceiver:
    """aiosmtpd on 127.0.0.1 in the test's loop; `refuse` and `defer` pick recipients to turn away."""

    def __init__(self, *, login: tuple[str, str] | None = None) -> None:
        self.mails: list[Mail] = []
        self.ids: Counter[str] = Counter()
        self.refuse: set[str] = set()
        self.defer: set[str] = set()
        self.login = login
        self.logins: list[str] = []
        self._server: asyncio.Server | None = None
        self._protocols: list[SMTP] = []
        self.port = 0

    def _authenticate(
        self, _server: SMTP, _session: Session, _envelope: Envelope, _mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        user, password = data.login.decode(), data.password.decode()
        self.logins.append(user)
        # auth_data set: aiosmtpd then does not log its deprecated login_data.
        return AuthResult(success=(user, password) == self.login, handled=False, auth_data=user)

    def _protocol(self) -> SMTP:
        protocol = SMTP(
            _Handler(self),
            hostname="mail.test",
            loop=asyncio.get_running_loop(),
            auth_require_tls=False,
            authenticator=self._authenticate if self.login else None,
            # PLAIN only: aiosmtpd's LOGIN challenge is not the one smtplib expects.
            auth_exclude_mechanism=["LOGIN"],
            enable_SMTPUTF8=True,
        )
        self._protocols.append(protocol)
        return protocol

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for protocol in self._protocols:
            if protocol.transport is not None:
                protocol.transport.close()
            handler = getattr(protocol, "_handler_coroutine", None)
            if handler is not None:
                handler.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await handler
        await self._server.wait_closed()

    def url(self, user: str | None = None, password: str | None = None) -> str:
        """The smtp:// URL of this server, with credentials when given."""
        auth = f"{user}:{password}@" if user is not None else ""
        return f"smtp://{auth}{HOST}:{self.port}"


class TcpServer:
    """A raw TCP server on 127.0.0.1 whose every connection runs `handler`; all closed on exit."""

    def __init__(
        self,
        handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._handler = handler
        self._ssl = ssl_context
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, HOST, 0, ssl=self._ssl)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError, ssl.SSLError):
            pass
        finally:
            writer.transport.abort()
            self._tasks.discard(task)
