"""Receiver tokens (`sbr_...`): they may only post to the receivers.

Like API tokens they are 256 random bits, stored as SHA-256 digests, named, listed
by their first characters, and revoked at once everywhere.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from standby.access.service import TOKEN_NAME_PATTERN, TOUCH_EVERY, secret_digest
from standby.errors import Conflict, InvalidInput, NotFound
from standby.store.tables import ReceiverTokenRow

RECEIVER_TOKEN_PREFIX = "sbr_"
_TOKEN_NAME_RE = re.compile(TOKEN_NAME_PATTERN)


@dataclass(frozen=True)
class ReceiverTokenInfo:
    """A receiver token as listed: its name and first characters, never the token."""

    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """Whether the token still opens the receivers."""
        return self.revoked_at is None


def create_receiver_token(session: Session, *, name: str, now: datetime) -> tuple[ReceiverTokenInfo, str]:
    """Make a receiver token: (its record, the token to show once); Conflict if the name is taken."""
    checked = name.strip()
    if not _TOKEN_NAME_RE.match(checked):
        raise InvalidInput(
            f"{name!r} is not a receiver name: use letters, digits, '.', '_' and '-',"
            " starting with a letter or digit, at most 100 characters"
        )
    if session.scalar(select(ReceiverTokenRow.id).where(ReceiverTokenRow.name == checked)) is not None:
        raise Conflict(
            f"a receiver token named {checked!r} already exists (names of revoked tokens stay"
            " taken, so the record stays clear); choose another name"
        )
    token = RECEIVER_TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ReceiverTokenRow(name=checked, token_hash=secret_digest(token), prefix=token[:12], created_at=now)
    session.add(row)
    session.flush()
    return _token_info(row), token


def list_receiver_tokens(session: Session) -> list[ReceiverTokenInfo]:
    """Every receiver token, revoked ones included, by name."""
    return [_token_info(r) for r in session.scalars(select(ReceiverTokenRow).order_by(ReceiverTokenRow.name))]


def revoke_receiver_token(session: Session, *, name: str, now: datetime) -> None:
    """Stop a receiver token from working; NotFound when no receiver token has that name."""
    row = session.scalars(select(ReceiverTokenRow).where(ReceiverTokenRow.name == name.strip())).first()
    if row is None:
        raise NotFound(f"no receiver token named {name.strip()!r}")
    if row.revoked_at is None:
        row.revoked_at = now


def receiver_for_token(session: Session, token: str, now: datetime) -> str | None:
    """The name of the receiver a token belongs to, or None when unknown or revoked."""
    if not token.startswith(RECEIVER_TOKEN_PREFIX):
        return None
    query = select(ReceiverTokenRow).where(ReceiverTokenRow.token_hash == secret_digest(token))
    row = session.scalars(query).first()
    if row is None or row.revoked_at is not None:
        return None
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        row.last_used_at = now
    return row.name


def _token_info(row: ReceiverTokenRow) -> ReceiverTokenInfo:
    return ReceiverTokenInfo(row.name, row.prefix, row.created_at, row.last_used_at, row.revoked_at)
