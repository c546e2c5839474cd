"""Posting to HTTP receivers (SMS gateways, webhooks), and judging what they answer.

- One httpx client with keep-alive connections, reused across messages; proxies and
  other settings from the environment are ignored.
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
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx

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


class Poster:
    """Posts bodies to receivers and turns whatever happens into an Answer or a failure."""

    def __init__(
        self,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        max_connections: int = 100,
    ) -> None:
        """A client with `max_connections` keep-alive connections; nothing is opened yet."""
        self.timeout_s = timeout_s
        self.max_response_bytes = max_response_bytes
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
        )

    async def aclose(self) -> None:
        """Close the connections."""
        await self._client.aclose()

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
            async with asyncio.timeout(self.timeout_s):
                answer = await self._exchange(url, content, headers, auth)
        except TimeoutError:
            raise TemporaryFailure(f"{what} did not answer within {self.timeout_s:g} s") from None
        except httpx.TimeoutException:
            raise TemporaryFailure(f"{what} did not answer within {self.timeout_s:g} s") from None
        except httpx.ConnectError as exc:
            raise TemporaryFailure(f"cannot connect to {what}: {_root(exc)}") from None
        except httpx.RemoteProtocolError as exc:
            raise TemporaryFailure(
                f"{what} answered something that is not HTTP, or hung up without answering: {_root(exc)}"
            ) from None
        except (httpx.ReadError, httpx.WriteError, httpx.CloseError) as exc:
            raise TemporaryFailure(f"the connection to {what} failed: {_root(exc)}") from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise PermanentFailure(f"cannot post to {what}: {_root(exc)}") from None
        except (httpx.HTTPError, OSError) as exc:
            raise TemporaryFailure(f"posting to {what} failed: {_root(exc)}") from None
        judge(answer, what)
        return answer

    async def _exchange(
        self, url: str, content: bytes, headers: dict[str, str], auth: tuple[str, str] | None
    ) -> Answer:
        async with self._client.stream(
            "POST", url, content=content, headers=headers, auth=auth or httpx.USE_CLIENT_DEFAULT
        ) as response:
            body = bytearray()
            async for chunk in response.aiter_raw():
                body += chunk
                if len(body) >= self.max_response_bytes:
                    del body[self.max_response_bytes :]
                    break
            return Answer(
                status=response.status_code,
                reason=response.reason_phrase,
                body=bytes(body),
                content_type=response.headers.get("content-type", ""),
            )


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


def _root(exc: BaseException) -> str:
    """The innermost cause's text, or the exception's class when it has none."""
    seen = exc
    while seen.__cause__ is not None or seen.__context__ is not None:
        nxt = seen.__cause__ or seen.__context__
        if nxt is None or nxt is seen:
            break
        seen = nxt
    text = " ".join(str(seen).split()) or " ".join(str(exc).split())
    return text[:300] or type(exc).__name__
