"""The status page's subscription links: signed, single-use confirmation links (pure).

A confirmation token names the subscriber and the nonce of the confirmation sent to
them, followed by an HMAC-SHA256 of both (cut to 128 bits, base64url) under a key
derived from STANDBY_SECRET_KEY for this use only:

    7.kP3x...Q.Xk3...   subscriber id . nonce . MAC

The MAC makes a forged link fail before the database is asked; the nonce makes it
single-use: the subscriber service keeps the nonce of the last confirmation it sent and
clears it when the link is followed, so the same link followed again is refused, and a
newer sign-up's link voids the older ones. Unsubscribe links carry the subscriber's own
random token instead (kept for the subscription's life): nothing to sign.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from standby.errors import InvalidInput

_LABEL = b"standby/status-subscription/v1"
MAC_BYTES = 16
_TOKEN = re.compile(r"^([0-9]{1,18})\.([A-Za-z0-9_-]{16,64})\.([A-Za-z0-9_-]{22})$")
_RANDOM = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


class ForgedLink(InvalidInput):
    """A confirmation link that Standby did not make (or made with another secret key)."""


@dataclass(frozen=True)
class ConfirmClaim:
    """What a genuine confirmation token says: this subscriber, this confirmation."""

    subscriber_id: int
    nonce: str


def new_nonce() -> str:
    """A fresh single-use part for a confirmation link."""
    return secrets.token_urlsafe(16)


def new_token() -> str:
    """A fresh random key for a subscriber's unsubscribe link."""
    return secrets.token_urlsafe(24)


def _mac(secret: str, body: str) -> str:
    key = hmac.new(secret.encode(), _LABEL, hashlib.sha256).digest()
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()[:MAC_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def confirm_token(secret: str, *, subscriber_id: int, nonce: str) -> str:
    """The signed token of a confirmation link."""
    body = f"{subscriber_id}.{nonce}"
    return f"{body}.{_mac(secret, body)}"


def read_confirm_token(secret: str, token: str) -> ConfirmClaim:
    """The claim of a genuine token; ForgedLink when it is malformed or its MAC is wrong."""
    found = _TOKEN.match(token or "")
    if found is None:
        raise ForgedLink("this confirmation link is not valid: it was cut short or changed")
    ident, nonce, mac = found.groups()
    if not hmac.compare_digest(_mac(secret, f"{ident}.{nonce}"), mac):
        raise ForgedLink("this confirmation link is not valid: it was cut short or changed")
    return ConfirmClaim(int(ident), nonce)


def plausible_token(token: str) -> bool:
    """Whether an unsubscribe token has the shape of one (before the database is asked)."""
    return bool(_RANDOM.match(token or ""))
