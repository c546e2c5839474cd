"""Webhooks: Slack- and Teams-compatible messages, and generic JSON signed with HMAC-SHA256.

The message's `payload["style"]` picks the body:

- `slack`: `{"text": "*subject*\\nbody"}` (plus `blocks` when the payload has them), what
  Slack's incoming webhooks and Mattermost's and Rocket.Chat's take.
- `teams`: a message with one Adaptive Card (version 1.4): the subject in bold, the body,
  and an "Open in Standby" button when the payload has a `url`. This is what a Teams
  Workflows webhook ("Post to a channel when a webhook request is received") and the
  older incoming-webhook connectors both accept; Microsoft is retiring the connectors'
  MessageCard format, so Standby does not send it.
- `generic` (the default): `{"event", "message_id", "idempotency_key", "incident_id",
  "subject", "body", "recipient_name", "url", "data"}`, where `event` is the purpose
  (page, update, ...) and `data` the payload's `data`.

Every webhook is posted as `application/json` with `Idempotency-Key: <key>`, and signed:
`X-Standby-Timestamp: <unix seconds>` and `X-Standby-Signature: sha256=<hex>`, the
HMAC-SHA256 with the webhook secret over the exact bytes `timestamp + "." + body`. A
receiver recomputes it, compares in constant time, and refuses timestamps more than a
few minutes old (a replay). A message sent again has a new timestamp and signature but
the same key. A message whose payload has a `signing_secret` (a status page subscriber's
own) is signed with that instead; the secret itself is never part of what is posted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import time
from collections.abc import Callable
from typing import Any

from standby.notify.channels.http import DEFAULT_TIMEOUT_S, Poster, provider_id, split_credentials, where
from standby.notify.channels.protocol import Delivery, OutgoingMessage, PermanentFailure

SIGNATURE_HEADER = "X-Standby-Signature"
TIMESTAMP_HEADER = "X-Standby-Timestamp"


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature header's value: `sha256=` and the HMAC-SHA256 of `timestamp.body`, in hex."""
    digest = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(
    secret: bytes, timestamp: str, body: bytes, signature: str, *, now: float, tolerance_s: float = 300
) -> bool:
    """Whether a signature is ours and recent: what a receiver does (and the tests)."""
    try:
        age = abs(now - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance_s and hmac.compare_digest(sign(secret, timestamp, body), signature)


def derive_secret(secret_key: str) -> bytes:
    """The default webhook secret: HMAC-SHA256(key=STANDBY_SECRET_KEY, "webhook"), as hex text.

    Receivers need the same value: `standby`'s operations guide shows how to print it.
    """
    return hmac.new(secret_key.encode(), b"webhook", hashlib.sha256).hexdigest().encode()


def body_of(message: OutgoingMessage) -> dict[str, Any]:
    """The JSON posted for `message`, by its style."""
    payload = message.payload or {}
    style = payload.get("style", "generic")
    link = payload.get("url") if isinstance(payload.get("url"), str) else None
    if style == "slack":
        text = f"*{message.subject}*\n{message.body}" if message.subject else message.body
        if link:
            text += f"\n<{link}|Open in Standby>"
        slack: dict[str, Any] = {"text": text}
        if isinstance(payload.get("blocks"), list):
            slack["blocks"] = payload["blocks"]
        return slack
    if style == "teams":
        blocks: list[dict[str, Any]] = []
        if message.subject:
            blocks.append(
                {
                    "type": "TextBlock",
                    "text": message.subject,
                    "weight": "Bolder",
                    "size": "Medium",
                    "wrap": True,
                }
            )
        blocks.append({"type": "TextBlock", "text": message.body, "wrap": True})
        card: dict[str, Any] = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": blocks,
        }
        if link:
            card["actions"] = [{"type": "Action.OpenUrl", "title": "Open in Standby", "url": link}]
        return {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": card,
                }
            ],
        }
    return {
        "event": message.purpose,
        "message_id": message.id,
        "idempotency_key": message.key,
        "incident_id": message.incident_id,
        "subject": message.subject,
        "body": message.body,
        "recipient_name": message.recipient_name,
        "url": link,
        "data": payload.get("data", {}),
    }


class WebhookChannel:
    """Posts webhooks to the URLs messages carry, signed with one secret."""

    def __init__(
        self,
        *,
        secret: bytes,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_connections: int = 16,
        tls_context: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Sign with `secret`; `clock` gives the Unix time for the timestamp header."""
        if not secret:
            raise ValueError("a webhook secret is needed to sign webhooks")
        self.secret = secret
        self.clock = clock
        self.poster = Poster(timeout_s=timeout_s, max_connections=max_connections, tls_context=tls_context)

    async def aclose(self) -> None:
        """Close the connections."""
        await self.poster.aclose()

    def request(self, message: OutgoingMessage) -> tuple[bytes, dict[str, str]]:
        """The exact body and the headers posted for `message`."""
        body = json.dumps(body_of(message), ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = str(int(self.clock()))
        own = (message.payload or {}).get("signing_secret")
        secret = own.encode() if isinstance(own, str) and own else self.secret
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": message.key,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, timestamp, body),
        }
        return body, headers

    async def send(self, message: OutgoingMessage) -> Delivery:
        """Post the webhook; 2xx is delivered (Slack answers `ok`, Teams Workflows 202)."""
        if message.channel != "webhook":
            raise PermanentFailure(f"the webhook channel cannot send a {message.channel} message")
        url, auth = split_credentials(message.recipient)
        what = f"the webhook at {where(url)}"
        content, headers = self.request(message)
        answer = await self.poster.post(url, content=content, headers=headers, auth=auth, what=what)
        return Delivery(provider_id(answer), f"{what} accepted it ({answer.status})")
