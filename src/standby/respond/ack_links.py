"""Signed links: acknowledging a page from the message, and subscribing to a rotation's calendar.

Pure: the secret (STANDBY_SECRET_KEY) and the time come in.

An acknowledgement token names the page, its incident, the person paged and when it
expires, followed by an HMAC-SHA256 of all that, cut to 128 bits (RFC 2104 allows
cutting to half the hash; 2^128 guesses is still out of reach), so a link in an SMS
stays short:

    1.42.7.dev.1781530800.Xk3...   version . page . incident . person . expiry (Unix s) . MAC

Every part is URL-safe (ids are digits and lower-case slugs, the MAC is base64url), so
the link is `{STANDBY_PUBLIC_URL}/ack/{token}`. The token is not encrypted: it only
says which page it acknowledges, which the person holding it was told anyway. The MAC
is compared in constant time, and checked before the expiry, so a forged token is
called forged, never "expired".

Each use has its own key derived from the secret (HMAC of the secret with a label),
so a calendar key can never pass for an acknowledgement token or the other way round.
Changing STANDBY_SECRET_KEY voids every link and calendar key made with the old one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from standby.errors import InvalidInput

VERSION = "1"
MAC_BYTES = 16
MAX_TOKEN_LENGTH = 300
DEFAULT_LIFETIME = timedelta(days=3)
"""How long an acknowledgement link works by default: a long weekend's incident."""

_ACK_LABEL = b"standby/ack-link/v1"
_CALENDAR_LABEL = b"standby/calendar-key/v1"
_NUMBER = re.compile(r"^[0-9]{1,18}$")
_PERSON = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_MAC = re.compile(r"^[A-Za-z0-9_-]{22}$")

Reason = Literal["malformed", "forged", "expired"]


class InvalidLink(InvalidInput):
    """A signed link that cannot be used; `reason` says why: malformed, forged or expired."""

    def __init__(self, reason: Reason, message: str) -> None:
        """Say why, in words for the person who followed the link."""
        super().__init__(message)
        self.reason: Reason = reason


@dataclass(frozen=True)
class AckClaim:
    """What a valid acknowledgement token says: this page, of this incident, to this person."""

    page_id: int
    incident_id: int
    person_id: str
    expires_at: datetime


def make_ack_token(
    secret: str, *, page_id: int, incident_id: int, person_id: str, expires_at: datetime
) -> str:
    """A signed, URL-safe token that acknowledges one page until `expires_at`."""
    if page_id < 0 or incident_id < 0:
        raise InvalidInput("page and incident ids must not be negative")
    if not _PERSON.match(person_id):
        raise InvalidInput(f"{person_id!r} is not a person id")
    if expires_at.tzinfo is None or expires_at.utcoffset() is None:
        raise InvalidInput("expires_at must be an aware datetime")
    expires = int(expires_at.timestamp())
    body = f"{VERSION}.{page_id}.{incident_id}.{person_id}.{expires}"
    return f"{body}.{_mac(secret, _ACK_LABEL, body)}"


def read_ack_token(secret: str, token: str, now: datetime) -> AckClaim:
    """What `token` acknowledges; InvalidLink (an InvalidInput) when malformed, forged or expired."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise _malformed()
    parts = token.split(".")
    if len(parts) != 6:
        raise _malformed()
    version, page, incident, person, expires, mac = parts
    if (
        version != VERSION
        or not _NUMBER.match(page)
        or not _NUMBER.match(incident)
        or not _PERSON.match(person)
        or not _NUMBER.match(expires)
        or not _MAC.match(mac)
    ):
        raise _malformed()
    body = ".".join(parts[:5])
    if not hmac.compare_digest(_mac(secret, _ACK_LABEL, body).encode(), mac.encode()):
        raise InvalidLink(
            "forged",
            "this acknowledgement link is not valid: it was altered, or not made by this Standby;"
            " acknowledge the page in Standby instead",
        )
    try:
        expires_at = datetime.fromtimestamp(int(expires), UTC)
    except (OverflowError, OSError, ValueError):
        raise _malformed() from None
    if now >= expires_at:
        raise InvalidLink(
            "expired",
            f"this acknowledgement link expired at {expires_at:%Y-%m-%d %H:%M} UTC;"
            " acknowledge the page in Standby instead",
        )
    return AckClaim(int(page), int(incident), person, expires_at)


def ack_url(base_url: str, token: str) -> str:
    """The link to put in a page's message: `{base_url}/ack/{token}`."""
    return f"{base_url.rstrip('/')}/ack/{token}"


def calendar_key(secret: str, rotation_id: str) -> str:
    """The key that opens a rotation's iCalendar feed without logging in (no expiry)."""
    return _mac(secret, _CALENDAR_LABEL, rotation_id)


def calendar_key_valid(secret: str, rotation_id: str, key: str) -> bool:
    """Whether `key` opens `rotation_id`'s feed (compared in constant time)."""
    if not isinstance(key, str) or not _MAC.match(key):
        return False
    return hmac.compare_digest(calendar_key(secret, rotation_id).encode(), key.encode())


def signature(secret: str, label: bytes, body: str) -> str:
    """The 128-bit base64url MAC of `body` under the key the secret derives for `label`."""
    return _mac(secret, label, body)


def _mac(secret: str, label: bytes, body: str) -> str:
    key = hmac.new(secret.encode("utf-8"), label, hashlib.sha256).digest()
    digest = hmac.new(key, body.encode("utf-8"), hashlib.sha256).digest()[:MAC_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _malformed() -> InvalidLink:
    return InvalidLink(
        "malformed",
        "this acknowledgement link is malformed (perhaps cut short in the message);"
        " acknowledge the page in Standby instead",
    )


__all__ = [
    "DEFAULT_LIFETIME",
    "AckClaim",
    "InvalidLink",
    "ack_url",
    "calendar_key",
    "calendar_key_valid",
    "make_ack_token",
    "read_ack_token",
    "signature",
]
