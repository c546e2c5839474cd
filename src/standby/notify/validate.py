"""Checking what goes into the outbox: keys, recipients, subjects and bodies (pure).

Every check raises InvalidInput with a message that says which value is wrong and
what is expected, so that a bad phone number is refused when the message is asked
for, not discovered an hour later by a gateway.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final
from urllib.parse import urlsplit

from standby.errors import InvalidInput

CHANNEL_NAMES: Final = ("email", "sms", "webhook")
WEBHOOK_STYLES: Final = ("slack", "teams", "generic")
MAX_KEY = 200
MAX_RECIPIENT = 500
MAX_NAME = 200
MAX_SUBJECT = 500
MAX_PURPOSE = 30
# One SMS can be at most 1,600 characters once split (Twilio's limit; others are lower).
MAX_SMS_BODY = 1600
MAX_BODY = 100_000
MAX_PAYLOAD_BYTES = 64 * 1024

_KEY = re.compile(r"[\x21-\x7e]{1,200}")
_EMAIL = re.compile(r"[^\s@<>()\[\],;:\"\\]{1,64}@[^\s@<>()\[\],;:\"\\.][^\s@<>()\[\],;:\"\\]{0,252}")
_PHONE_PUNCTUATION = re.compile(r"[\s().\-/]")
_PHONE = re.compile(r"\+[1-9][0-9]{6,14}")
_SPACES = re.compile(r"\s+")


def check_key(key: str) -> str:
    """An idempotency key: 1 to 200 visible ASCII characters (no spaces): it goes into headers."""
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise InvalidInput(
            f"the idempotency key {str(key)[:60]!r} is not usable: use 1 to {MAX_KEY} visible ASCII"
            " characters without spaces, such as 'incident-42:page:alice:sms'"
        )
    return key


def check_channel(channel: str) -> str:
    """One of email, sms, webhook."""
    if channel not in CHANNEL_NAMES:
        raise InvalidInput(f"unknown channel {channel!r}: use one of {', '.join(CHANNEL_NAMES)}")
    return channel


def email_address(value: str) -> str:
    """An email address, trimmed; InvalidInput when it does not look like name@example.org."""
    address = value.strip()
    domain = address.rpartition("@")[2]
    if len(address) > 254 or not _EMAIL.fullmatch(address) or domain.endswith(".") or ".." in domain:
        raise InvalidInput(f"not an email address: {_shown(value)} (expected name@example.org)")
    return address


def phone_number(value: str) -> str:
    """A phone number in international (E.164) form, such as +447700900123.

    Spaces, dots, dashes, slashes and brackets are dropped, and a leading 00 is read as +.
    A national number (07700 900123) is refused: a gateway cannot know its country.
    """
    if _PHONE.fullmatch(value):  # already +DIGITS, as stored numbers are: nothing to drop
        return value
    number = _PHONE_PUNCTUATION.sub("", value.strip())
    if number.startswith("00"):
        number = "+" + number[2:]
    if not _PHONE.fullmatch(number):
        hint = (
            "it has no country code: write it in international form"
            if number.isdigit()
            else "expected international form"
        )
        raise InvalidInput(f"not a phone number: {_shown(value)} ({hint}, such as +447700900123)")
    return number


def webhook_url(value: str) -> str:
    """An http(s) URL with a host."""
    url = value.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - urlsplit checks the port only when it is read
    except ValueError:
        raise InvalidInput(f"not a webhook URL: {_shown(value, secret=True)} (a bad port?)") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"not a webhook URL: {_shown(value, secret=True)} (expected https://host/path)")
    if len(url) > MAX_RECIPIENT or any(c.isspace() for c in url):
        raise InvalidInput(f"not a webhook URL: {_shown(value, secret=True)} (spaces, or too long)")
    return url


def recipient(channel: str, value: str) -> str:
    """The recipient checked (and normalised) for its channel."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"a {channel} message needs a recipient")
    if channel == "email":
        return email_address(value)
    if channel == "sms":
        return phone_number(value)
    return webhook_url(value)


def one_line(value: str | None, *, what: str, limit: int) -> str | None:
    """A header-safe single line: runs of whitespace (newlines too) become one space."""
    if value is None:
        return None
    text = _SPACES.sub(" ", value).strip()
    if not text:
        return None
    if len(text) > limit:
        raise InvalidInput(f"the {what} is too long: {len(text)} characters, at most {limit}")
    return text


def body_text(channel: str, body: str) -> str:
    """The body: not empty, and within the channel's limit."""
    if not isinstance(body, str) or not body.strip():
        raise InvalidInput(f"a {channel} message needs a body")
    limit = MAX_SMS_BODY if channel == "sms" else MAX_BODY
    if len(body) > limit:
        raise InvalidInput(f"the {channel} body is too long: {len(body)} characters, at most {limit}")
    return body


def purpose_text(purpose: str) -> str:
    """Why the message is sent (page, update, callback...): 1 to 30 characters."""
    text = (purpose or "").strip()
    if not text or len(text) > MAX_PURPOSE:
        raise InvalidInput(f"the purpose must be 1 to {MAX_PURPOSE} characters, such as 'page' or 'update'")
    return text


def webhook_payload(payload: dict[str, Any] | None) -> dict[str, Any]:
    """A webhook's payload: `style` (slack, teams, generic; default generic) and JSON data."""
    data = dict(payload or {})
    style = data.setdefault("style", "generic")
    if style not in WEBHOOK_STYLES:
        raise InvalidInput(f"unknown webhook style {style!r}: use one of {', '.join(WEBHOOK_STYLES)}")
    try:
        size = len(json.dumps(data, allow_nan=False).encode())
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"the webhook payload is not JSON: {exc}") from None
    if size > MAX_PAYLOAD_BYTES:
        raise InvalidInput(f"the webhook payload is too big: {size} bytes, at most {MAX_PAYLOAD_BYTES}")
    return data


def other_payload(payload: dict[str, Any] | None) -> dict[str, Any] | None:
    """The payload of an email or SMS (kept, not sent): JSON or refused."""
    if payload is None:
        return None
    try:
        size = len(json.dumps(payload, allow_nan=False).encode())
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"the payload is not JSON: {exc}") from None
    if size > MAX_PAYLOAD_BYTES:
        raise InvalidInput(f"the payload is too big: {size} bytes, at most {MAX_PAYLOAD_BYTES}")
    return dict(payload)


def _shown(value: object, *, secret: bool = False) -> str:
    text = str(value)
    if secret:
        # A webhook URL is a credential (Slack's and Teams' are): show where, never the path.
        parts = urlsplit(text) if "://" in text else None
        if parts is not None and parts.hostname:
            return repr(f"{parts.scheme}://{parts.hostname}/…")
        return repr(text[:12] + "…") if len(text) > 12 else repr(text)
    return repr(text[:80])
