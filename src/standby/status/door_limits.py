"""Rate limits of the status page's public doors (sign-ups, callback requests), in the database.

A service: it never commits. Each request is tallied under every subject it concerns
(the client's address; the email address or number asked for) as a keyed hash, so
the tally recognises a subject without storing it. A request is let in only when none
of its subjects used up its allowance in the window; a refused request is not tallied
(a flood cannot push its own window forward). Several servers share the tallies.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from standby.store.tables import PublicRequestRow


@dataclass(frozen=True)
class Allowance:
    """At most `most` requests at `door` per subject within `per`."""

    door: str
    most: int
    per: timedelta


def subject_key(salt: str, door: str, subject: str) -> str:
    """The stored key of a subject: an HMAC, so numbers and addresses are not kept readable."""
    return hmac.new(salt.encode(), f"{door}\x1f{subject}".encode(), hashlib.sha256).hexdigest()[:64]


def admit(
    session: Session, asks: Sequence[tuple[Allowance, str]], *, salt: str, now: datetime
) -> bool:
    """Whether the request is within every allowance; if so it is tallied under each."""
    keyed = [(allowance, subject_key(salt, allowance.door, subject)) for allowance, subject in asks]
    # The first statement writes, so SQLite takes its write lock at once (see notify.outbox).
    for allowance in {a for a, _ in keyed}:
        session.execute(
            delete(PublicRequestRow).where(
                PublicRequestRow.door == allowance.door, PublicRequestRow.at < now - allowance.per
            )
        )
    for allowance, key in keyed:
        used = session.scalar(
            select(func.count()).where(
                PublicRequestRow.door == allowance.door,
                PublicRequestRow.key == key,
                PublicRequestRow.at >= now - allowance.per,
            )
        )
        if (used or 0) >= allowance.most:
            return False
    session.add_all(PublicRequestRow(door=a.door, key=key, at=now) for a, key in keyed)
    session.flush()
    return True
