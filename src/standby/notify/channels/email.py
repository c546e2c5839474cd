"""Email through SMTP, with the standard library's smtplib in a few threads of its own.

- STANDBY_SMTP_URL: `smtp://[user:password@]host[:port]` (port 25 by default; STARTTLS
  whenever the server offers it, before logging in) or `smtps://...` (TLS from the first
  byte, port 465 by default). Certificates are checked against the system's CAs.
- A few connections (4 by default) are kept open and reused message after message, each
  in its own thread, so a mail server on the same network takes well over 1,000 messages
  a second. A kept connection that the server closed meanwhile is replaced before anything
  of the message was sent.
- Each email is plain text in UTF-8 with `From` (STANDBY_SMTP_FROM), `To` (with the
  recipient's name), `Subject`, `Date`, `Auto-Submitted: auto-generated` (so that
  out-of-office replies stay away), `Message-ID: <HASH@standby>` where HASH is the first
  32 hex digits of the SHA-256 of the idempotency key, and `X-Standby-Idempotency-Key`.
  An email sent again after a crash has the same Message-ID: mail systems and people
  recognise it as the same message.
- Verdicts: a 5xx for the recipient or the message is permanent (parked with the
  server's words); 4xx, timeouts, resets, refused connections, failed logins and replies
  that are not SMTP are temporary.
"""

from __future__ import annotations

import asyncio
import binascii
import contextlib
import email.utils
import hashlib
import re
import smtplib
import socket
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor
from email.header import Header
from urllib.parse import unquote, urlsplit

from standby.notify.channels.protocol import (
    Delivery,
    DeliveryFailure,
    OutgoingMessage,
    PermanentFailure,
    TemporaryFailure,
)

DEFAULT_TIMEOUT_S = 10.0
MESSAGE_ID_DOMAIN = "standby"
CRLF = "\r\n"
_SPECIALS = re.compile(r'[][\\()<>@,:;".]')


def message_id(key: str) -> str:
    """The Message-ID of the email with this idempotency key: the same key, the same id."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{MESSAGE_ID_DOMAIN}>"


def render(message: OutgoingMessage, *, sender: str, date: str | None = None) -> bytes:
    """The email as bytes, CRLF line ends, ready for DATA (smtplib adds the dot-stuffing).

    Written by hand rather than with `email.message.EmailMessage`, which takes a millisecond
    per message: ASCII headers go as they are, others as RFC 2047 encoded words; the body is
    7bit when it is ASCII with short lines, else quoted-printable UTF-8.
    """
    body = message.body.replace("\r\n", "\n").replace("\r", "\n")
    if not body.endswith("\n"):
        body += "\n"
    raw = body.encode("utf-8")
    if raw.isascii() and all(len(line) <= 998 for line in raw.split(b"\n")):
        encoding, encoded = "7bit", raw
    else:
        encoding, encoded = "quoted-printable", binascii.b2a_qp(raw, istext=True)
    headers = [
        f"From: {_header(sender, address=True)}",
        f"To: {_address(message.recipient_name, message.recipient)}",
        f"Subject: {_header(message.subject or '')}",
        f"Date: {date or email.utils.formatdate(usegmt=True)}",
        f"Message-ID: {message_id(message.key)}",
        "Auto-Submitted: auto-generated",
        f"X-Standby-Idempotency-Key: {message.key}",
        *_list_unsubscribe(message),
        "MIME-Version: 1.0",
        'Content-Type: text/plain; charset="utf-8"',
        f"Content-Transfer-Encoding: {encoding}",
    ]
    head = "\r\n".join(headers).encode("utf-8") + b"\r\n\r\n"
    return head + encoded.replace(b"\n", b"\r\n")


def _list_unsubscribe(message: OutgoingMessage) -> list[str]:
    """RFC 8058's one-click unsubscribe headers, when the payload names the link (an https or http URL)."""
    link = (message.payload or {}).get("list_unsubscribe")
    if not isinstance(link, str) or not link.isascii() or any(c in link for c in "\r\n<> "):
        return []  # a link that could break the header is left out, never written
    if not link.lower().startswith(("https://", "http://")):
        return []
    return [f"List-Unsubscribe: <{link}>", "List-Unsubscribe-Post: List-Unsubscribe=One-Click"]


def _header(value: str, *, address: bool = False) -> str:
    """A header value: as it is when ASCII, else RFC 2047 encoded words (folded)."""
    value = " ".join(value.split())
    if value.isascii() and len(value) < 900:
        return value
    if address:
        name, addr = email.utils.parseaddr(value)
        return _address(name, addr)
    return Header(value, "utf-8", header_name="Subject").encode(linesep=CRLF)


def _address(name: str | None, address: str) -> str:
    """`Name <address>`, the name quoted or encoded as needed; the address as it is (SMTPUTF8)."""
    if not name:
        return address
    if not name.isascii():
        shown = Header(name, "utf-8").encode(linesep=CRLF)
    elif _SPECIALS.search(name):
        shown = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    else:
        shown = name
    return f"{shown} <{address}>"


class _Job:
    """One message's trip through a thread, with the connection it uses."""

    def __init__(self, conn: smtplib.SMTP | None) -> None:
        self.conn = conn
        self.abandoned = False
        self.lock = threading.Lock()

    def abandon(self) -> None:
        """Stop waiting: wake the thread by shutting its socket; it closes the connection."""
        with self.lock:
            self.abandoned = True
            sock = getattr(self.conn, "sock", None) if self.conn is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def keep(self) -> smtplib.SMTP | None:
        """The connection, if it may be used again."""
        with self.lock:
            return None if self.abandoned else self.conn


class EmailChannel:
    """Sends email through one SMTP server over a few kept-open connections."""

    def __init__(
        self,
        *,
        url: str,
        sender: str,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        connections: int = 4,
        tls_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        """The server in `url` (smtp:// or smtps://), sending as `sender` (a From header)."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("expected smtp://[user:password@]host[:port] or smtps://...")
        self.tls = scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.tls else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password or "")
        self.sender = sender
        self.envelope_from = email.utils.parseaddr(sender)[1]
        self.timeout_s = timeout_s
        # A whole message: connecting, TLS, login and the exchange, each bounded by timeout_s.
        self.deadline_s = timeout_s * 3
        self.tls_context = tls_context or ssl.create_default_context()
        # Not socket.getfqdn(), which smtplib would call: it can wait seconds on a bad resolver.
        self.local_hostname = local_hostname or socket.gethostname() or "standby"
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.what = f"the mail server at {scheme}://{host}:{self.port}"
        self._idle: list[smtplib.SMTP] = []
        self._slots = asyncio.Semaphore(connections)
        self._executor = ThreadPoolExecutor(max_workers=connections, thread_name_prefix="standby-smtp")

    async def aclose(self) -> None:
        """Say QUIT on the kept connections and stop the threads."""
        idle, self._idle = self._idle, []
        loop = asyncio.get_running_loop()
        for conn in idle:
            await loop.run_in_executor(self._executor, _quit, conn)
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def send(self, message: OutgoingMessage) -> Delivery:
        """Send one email over a kept connection (or a new one)."""
        if message.channel != "email":
            raise PermanentFailure(f"the email channel cannot send a {message.channel} message")
        if not message.subject:
            raise PermanentFailure("an email needs a subject")
        loop = asyncio.get_running_loop()
        async with self._slots:
            job = _Job(self._idle.pop() if self._idle else None)
            future = loop.run_in_executor(self._executor, self._deliver, job, message)
            future.add_done_callback(_consume)
            try:
                async with asyncio.timeout(self.deadline_s):
                    return await asyncio.shield(future)
            except TimeoutError:
                if future.done() and future.exception() is None:
                    return future.result()
                job.abandon()
                raise TemporaryFailure(f"{self.what} did not finish within {self.deadline_s:g} s") from None
            except asyncio.CancelledError:
                job.abandon()
                raise
            finally:
                if future.done():
                    kept = job.keep()
                    if kept is not None:
                        self._idle.append(kept)

    # ---- in a thread ---------------------------------------------------------------------

    def _deliver(self, job: _Job, message: OutgoingMessage) -> Delivery:
        try:
            data = render(message, sender=self.sender)
            for first in (True, False):
                fresh = job.conn is None
                if job.conn is None:
                    conn = self._connect()
                    with job.lock:
                        job.conn = conn
                        if job.abandoned:
                            raise TemporaryFailure(f"{self.what}: given up waiting")
                try:
                    return self._transaction(job, message, data)
                except _Stale:
                    # A kept connection the server had closed: nothing of this message was
                    # sent on it, so one more try on a new connection is safe.
                    self._drop(job)
                    if fresh or not first:
                        raise TemporaryFailure(f"{self.what} closed the connection") from None
            raise TemporaryFailure(f"{self.what} closed the connection")
        except DeliveryFailure:
            raise
        except smtplib.SMTPServerDisconnected as exc:
            self._drop(job)
            raise self._disconnected(exc, "closed the connection") from None
        except TimeoutError:
            self._drop(job)
            raise TemporaryFailure(f"{self.what} did not answer within {self.timeout_s:g} s") from None
        except (OSError, smtplib.SMTPException) as exc:
            self._drop(job)
            raise TemporaryFailure(f"{self.what} failed: {_text(exc)}") from None
        finally:
            with job.lock:
                abandoned = job.abandoned
            if abandoned:
                self._drop(job)

    def _connect(self) -> smtplib.SMTP:
        try:
            conn: smtplib.SMTP
            if self.tls:
                conn = smtplib.SMTP_SSL(
                    self.host,
                    self.port,
                    local_hostname=self.local_hostname,
                    timeout=self.timeout_s,
                    context=self.tls_context,
                )
            else:
                conn = smtplib.SMTP(
                    self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout_s
                )
        except smtplib.SMTPConnectError as exc:
            raise TemporaryFailure(
                f"{self.what} did not greet as an SMTP server should: {_reply(exc)}"
            ) from None
        except smtplib.SMTPServerDisconnected as exc:
            raise self._disconnected(exc, "hung up before greeting") from None
        except ssl.SSLError as exc:
            raise TemporaryFailure(f"TLS with {self.what} failed: {_text(exc)}") from None
        except TimeoutError:
            raise TemporaryFailure(f"{self.what} did not answer within {self.timeout_s:g} s") from None
        except OSError as exc:
            raise TemporaryFailure(f"cannot connect to {self.what}: {exc.strerror or _text(exc)}") from None
        try:
            code, reply = conn.ehlo()
            if not 200 <= code < 300:
                code, reply = conn.helo()
                if not 200 <= code < 300:
                    raise TemporaryFailure(f"{self.what} refused the greeting: {code} {_decode(reply)}")
            if not self.tls and conn.has_extn("starttls"):
                conn.starttls(context=self.tls_context)
                conn.ehlo()
            if self.user is not None:
                conn.login(self.user, self.password)
        except smtplib.SMTPAuthenticationError as exc:
            _quit(conn)
            raise TemporaryFailure(
                f"{self.what} refused the login ({_reply(exc)}):"
                " check the user and password in STANDBY_SMTP_URL"
            ) from None
        except smtplib.SMTPNotSupportedError:
            _quit(conn)
            raise TemporaryFailure(
                f"{self.what} does not offer a login (AUTH), yet STANDBY_SMTP_URL has a user"
            ) from None
        except ssl.SSLError as exc:
            _quit(conn)
            raise TemporaryFailure(f"STARTTLS with {self.what} failed: {_text(exc)}") from None
        except BaseException:
            _quit(conn)
            raise
        return conn

    def _transaction(self, job: _Job, message: OutgoingMessage, data: bytes) -> Delivery:
        conn = job.conn
        assert conn is not None
        options: list[str] = []
        if not (self.envelope_from + message.recipient).isascii():
            if not conn.has_extn("smtputf8"):
                raise PermanentFailure(
                    f"{self.what} cannot take addresses with non-ASCII characters (no SMTPUTF8)"
                )
            options.append("SMTPUTF8")
        try:
            code, reply = conn.mail(self.envelope_from, options)
        except (smtplib.SMTPServerDisconnected, ConnectionError, BrokenPipeError):
            raise _Stale() from None
        if code == -1 or code == 421:
            raise _Stale()
        self._check(conn, code, reply, "the sender")
        code, reply = conn.rcpt(message.recipient)
        self._check(conn, code, reply, "the recipient")
        try:
            code, reply = conn.data(data)
        except smtplib.SMTPDataError as exc:
            self._check(conn, exc.smtp_code, exc.smtp_error, "the message")
            raise
        self._check(conn, code, reply, "the message")
        return Delivery(_queue_id(reply), f"{self.what} accepted it: {code} {_decode(reply)}"[:300])

    def _check(self, conn: smtplib.SMTP, code: int, reply: bytes | str, what: str) -> None:
        if 200 <= code < 300:
            return
        said = f"{code} {_decode(reply)}".strip()
        if code < 0:
            raise smtplib.SMTPServerDisconnected(f"an answer that is not SMTP: {said}")
        with contextlib.suppress(smtplib.SMTPException, OSError):
            conn.rset()
        if code >= 500:
            raise PermanentFailure(f"{self.what} refused {what}: {said}")
        raise TemporaryFailure(f"{self.what} deferred {what}: {said}")

    def _disconnected(self, exc: smtplib.SMTPServerDisconnected, what: str) -> TemporaryFailure:
        # smtplib reports a read that timed out as "Connection unexpectedly closed: timed out".
        if str(exc).endswith("timed out"):
            return TemporaryFailure(f"{self.what} did not answer within {self.timeout_s:g} s")
        return TemporaryFailure(f"{self.what} {what}: {_text(exc)}")

    def _drop(self, job: _Job) -> None:
        with job.lock:
            conn, job.conn = job.conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()


class _Stale(Exception):
    """A kept connection turned out to be closed before this message began."""


def _consume(future: asyncio.Future[Delivery]) -> None:
    # An abandoned attempt's outcome is read here, so asyncio does not log it as lost.
    if not future.cancelled():
        future.exception()


def _quit(conn: smtplib.SMTP) -> None:
    try:
        conn.quit()
    except (smtplib.SMTPException, OSError):
        conn.close()


def _decode(reply: bytes | str) -> str:
    text = reply.decode("utf-8", errors="replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())[:200]


def _reply(exc: smtplib.SMTPResponseException) -> str:
    return f"{exc.smtp_code} {_decode(exc.smtp_error)}".strip()


def _text(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def _queue_id(reply: bytes | str) -> str | None:
    """The server's id for the message, from replies like "250 2.0.0 Ok: queued as 4ABC1"."""
    text = _decode(reply)
    marker = "queued as "
    if marker in text:
        found = text.split(marker, 1)[1].split()
        return found[0][:200] if found else None
    return None
