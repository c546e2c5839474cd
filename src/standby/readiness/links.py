"""Signed readiness links: the link an agent is sent opens the home check as that agent.

Pure: the secret (STANDBY_SECRET_KEY) and the time come in. The token is built like an
acknowledgement token (`respond.ack_links`), with its own derived key so that neither
can pass for the other:

    r1.7.YWdlbnQtMTI.1781530800.Xk3...   version . campaign . agent (base64url) . expiry . MAC

The agent's id is base64url-encoded because directory ids may hold dots. The campaign
is 0 for a link made outside a campaign. A forged token is called forged, never expired.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from standby.respond.ack_links import MAX_TOKEN_LENGTH, InvalidLink, signature

VERSION = "r1"
DEFAULT_LIFETIME = timedelta(days=7)
"""How long a readiness link works: a working week to find a quiet moment at home."""

_LABEL = b"standby/readiness-link/v1"
_NUMBER = re.compile(r"^[0-9]{1,18}$")
_B64 = re.compile(r"^[A-Za-z0-9_-]{1,200}$")
_MAC = re.compile(r"^[A-Za-z0-9_-]{22}$")
_AGAIN = "ask your manager for a new link, or sign in to Standby and open /readiness"


@dataclass(frozen=True)
class ReadinessClaim:
    """What a valid readiness token says: this agent, from this campaign, until then."""

    agent: str
    campaign_id: int
    expires_at: datetime


def make_readiness_token(secret: str, *, agent: str, campaign_id: int, expires_at: datetime) -> str:
    """A signed, URL-safe token that opens the home check as `agent` until `expires_at`."""
    encoded = base64.urlsafe_b64encode(agent.encode("utf-8")).rstrip(b"=").decode("ascii")
    body = f"{VERSION}.{campaign_id}.{encoded}.{int(expires_at.timestamp())}"
    return f"{body}.{signature(secret, _LABEL, body)}"


def read_readiness_token(secret: str, token: str, now: datetime) -> ReadinessClaim:
    """Who `token` opens the check for; InvalidLink when malformed, forged or expired."""
    parts = token.split(".") if isinstance(token, str) and len(token) <= MAX_TOKEN_LENGTH else []
    if (
        len(parts) != 5
        or parts[0] != VERSION
        or not _NUMBER.match(parts[1])
        or not _B64.match(parts[2])
        or not _NUMBER.match(parts[3])
        or not _MAC.match(parts[4])
    ):
        raise InvalidLink("malformed", f"this readiness link is malformed (perhaps cut short): {_AGAIN}")
    body = ".".join(parts[:4])
    if not hmac.compare_digest(signature(secret, _LABEL, body).encode(), parts[4].encode()):
        raise InvalidLink("forged", f"this readiness link is not valid: it was altered; {_AGAIN}")
    try:
        agent = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4)).decode("utf-8")
        expires_at = datetime.fromtimestamp(int(parts[3]), UTC)
    except (binascii.Error, UnicodeDecodeError, OverflowError, OSError, ValueError):
        raise InvalidLink("malformed", f"this readiness link is malformed: {_AGAIN}") from None
    if now >= expires_at:
        raise InvalidLink(
            "expired", f"this readiness link expired on {expires_at:%Y-%m-%d %H:%M} UTC; {_AGAIN}"
        )
    return ReadinessClaim(agent, int(parts[1]), expires_at)


def readiness_url(base_url: str, token: str) -> str:
    """The link to send an agent: `{base_url}/readiness/link/{token}`."""
    return f"{base_url.rstrip('/')}/readiness/link/{token}"
