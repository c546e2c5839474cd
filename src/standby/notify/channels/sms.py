"""SMS through an HTTP gateway: Twilio's form by default, or plain JSON.

- `twilio` (the default): `POST` `application/x-www-form-urlencoded` with `To`, `From`
  and `Body`, which Twilio's Messages resource and most gateways modelled on it accept.
- `json`: `POST` `application/json` with `{"to", "from", "body"}`.

Both send `Idempotency-Key: <the message's key>`; user:password in STANDBY_SMS_URL
become HTTP Basic credentials (Twilio: the account SID and auth token) and are never
shown in messages. A 2xx answer means the gateway took the message: its id is read
from JSON `sid`, `id` or `message_id`; a 2xx whose body is not JSON still counts as
sent (the gateway said yes; it just gave no id), and the delivery's detail says so.
"""

from __future__ import annotations

import json
import ssl
from typing import Literal
from urllib.parse import urlencode

from standby.notify.channels.http import DEFAULT_TIMEOUT_S, Poster, provider_id, split_credentials, where
from standby.notify.channels.protocol import Delivery, OutgoingMessage, PermanentFailure

SmsStyle = Literal["twilio", "json"]
SMS_STYLES: tuple[SmsStyle, ...] = ("twilio", "json")


class SmsChannel:
    """Sends SMS through one gateway, over kept-alive connections."""

    def __init__(
        self,
        *,
        url: str,
        sender: str | None,
        style: SmsStyle = "twilio",
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_connections: int = 16,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        """The gateway at `url` (credentials in it become HTTP Basic), sending as `sender`."""
        if style not in SMS_STYLES:
            raise ValueError(f"unknown SMS style {style!r}: use one of {', '.join(SMS_STYLES)}")
        self.url, self.auth = split_credentials(url)
        self.sender = sender
        self.style = style
        self.what = f"the SMS gateway at {where(url)}"
        self.poster = Poster(timeout_s=timeout_s, max_connections=max_connections, tls_context=tls_context)

    async def aclose(self) -> None:
        """Close the connections to the gateway."""
        await self.poster.aclose()

    def request(self, message: OutgoingMessage) -> tuple[bytes, dict[str, str]]:
        """The body and headers posted for `message`."""
        fields = {"To": message.recipient, "Body": message.body}
        if self.sender:
            fields["From"] = self.sender
        headers = {"Idempotency-Key": message.key, "Accept": "application/json"}
        if self.style == "json":
            data = {k.lower(): v for k, v in fields.items()}
            headers["Content-Type"] = "application/json"
            return json.dumps(data, ensure_ascii=False).encode(), headers
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return urlencode(fields).encode(), headers

    async def send(self, message: OutgoingMessage) -> Delivery:
        """Post the message to the gateway; see the module's note for what counts as sent."""
        if message.channel != "sms":
            raise PermanentFailure(f"the SMS channel cannot send a {message.channel} message")
        content, headers = self.request(message)
        answer = await self.poster.post(
            self.url, content=content, headers=headers, auth=self.auth, what=self.what
        )
        found = provider_id(answer)
        if answer.json() is None:
            return Delivery(
                None,
                f"{self.what} accepted it ({answer.status}) but its answer is not JSON, so it gave"
                f" no message id: {answer.excerpt()}",
            )
        return Delivery(found, f"{self.what} accepted it ({answer.status})")
