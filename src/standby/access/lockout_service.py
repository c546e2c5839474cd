"""Login lockout in the database: count attempts, refuse locked doors, and lift locks.

A service: functions take a Session and the time, and never commit. The tallies live in
the database so that every server behind a load balancer sees the same counts.

An attempt is counted as a failure before its password is checked (`begin_attempt`),
under a row lock, and taken back when the password was right (`settle_attempt`).
Counting afterwards would let a burst of parallel attempts all pass the check before
the first failure was written; this way the lock falls in the middle of the burst.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from standby.access.lockout import POLICIES, Scope, Tally, account_key, address_key
from standby.errors import InvalidInput
from standby.store.tables import LoginFailureRow

log = logging.getLogger("standby.access")

# A tally quiet this long is dropped, even if a very long one still had failures to
# forgive: a day without a failure from it is reason enough.
FORGET_AFTER = timedelta(days=1)
FORGET_AT_ONCE = 100


@dataclass(frozen=True)
class Attempt:
    """A login attempt that may go on: the tallies before and after counting it."""

    keys: dict[Scope, str]
    before: dict[Scope, Tally]
    counted: dict[Scope, Tally]


@dataclass(frozen=True)
class Locked:
    """A login refused without checking the password: how long until it may be tried again."""

    retry_after: timedelta


@dataclass(frozen=True)
class LockoutInfo:
    """A tally as listed to an administrator."""

    scope: Scope
    key: str
    failures: int
    last_failure_at: datetime | None
    locked_until: datetime | None


def begin_attempt(session: Session, *, username: str, address: str, now: datetime) -> Attempt | Locked:
    """Locked while the account's or the address's door is locked; else count the attempt as failed."""
    keys = {Scope.ACCOUNT: account_key(username), Scope.ADDRESS: address_key(address)}
    # Always account first, then address: two attempts never wait for each other in a circle.
    rows = {scope: _locked_row(session, scope, key) for scope, key in keys.items()}
    before = {scope: _tally(row) for scope, row in rows.items()}
    wait = max(tally.locked_for(now) for tally in before.values())
    if wait > timedelta(0):
        return Locked(retry_after=wait)
    counted = {scope: before[scope].after_failure(POLICIES[scope], now) for scope in rows}
    for scope, row in rows.items():
        _store(row, counted[scope])
    _forget_quiet(session, now)
    return Attempt(keys=keys, before=before, counted=counted)


def settle_attempt(session: Session, attempt: Attempt, *, succeeded: bool, now: datetime) -> None:
    """After the password check: a right one clears the account and takes back the address's count.

    A wrong one stays counted; if it locked a door, that is logged (which account or
    address, for how long; never the password).
    """
    if not succeeded:
        for scope, tally in attempt.counted.items():
            if tally.locked_until is not None:
                log.warning(
                    "login locked: %s %r after %d failed logins, for %d s",
                    scope.value,
                    attempt.keys[scope],
                    tally.failures,
                    _seconds(tally.locked_until - now),
                )
        return
    session.execute(
        delete(LoginFailureRow).where(
            LoginFailureRow.scope == Scope.ACCOUNT.value, LoginFailureRow.key == attempt.keys[Scope.ACCOUNT]
        )
    )
    row = _locked_row(session, Scope.ADDRESS, attempt.keys[Scope.ADDRESS])
    back = _tally(row).taken_back(attempt.counted[Scope.ADDRESS], attempt.before[Scope.ADDRESS])
    if back.failures == 0 and back.locked_until is None:
        session.delete(row)
    else:
        _store(row, back)


def lift_lockout(session: Session, *, account: str | None = None, address: str | None = None, by: str) -> int:
    """Clear the tallies of an account and/or an address (an administrator's unlock); how many there were."""
    if not account and not address:
        raise InvalidInput("name an account (username) or a client address to unlock")
    wanted = []
    if account:
        wanted.append((Scope.ACCOUNT, account_key(account)))
    if address:
        wanted.append((Scope.ADDRESS, address_key(address)))
    lifted = 0
    for scope, key in wanted:
        result = session.execute(
            delete(LoginFailureRow).where(LoginFailureRow.scope == scope.value, LoginFailureRow.key == key)
        )
        lifted += int(getattr(result, "rowcount", 0) or 0)
    for scope, key in wanted:
        log.warning("login lockout lifted by %s: %s %r", by, scope.value, key)
    return lifted


def list_lockouts(session: Session, *, now: datetime) -> list[LockoutInfo]:
    """Accounts and addresses with failures still held against them, locked ones first."""
    found = []
    for row in session.scalars(select(LoginFailureRow).order_by(LoginFailureRow.scope, LoginFailureRow.key)):
        scope = Scope(row.scope)
        tally = _tally(row)
        standing = tally.standing(POLICIES[scope], now)
        locked = tally.locked_until if tally.locked_for(now) else None
        if standing or locked:
            found.append(LockoutInfo(scope, row.key, standing, row.last_failure_at, locked))
    found.sort(key=lambda info: info.locked_until is None)
    return found


def _locked_row(session: Session, scope: Scope, key: str) -> LoginFailureRow:
    # Make the row if it is missing (another server may be making it too), then lock it.
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(LoginFailureRow)
        .values(scope=scope.value, key=key, failures=0)
        .on_conflict_do_nothing(index_elements=["scope", "key"])
    )
    row = session.scalars(
        select(LoginFailureRow)
        .where(LoginFailureRow.scope == scope.value, LoginFailureRow.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return row


def _tally(row: LoginFailureRow) -> Tally:
    return Tally(row.failures, row.last_failure_at, row.locked_until)


def _store(row: LoginFailureRow, tally: Tally) -> None:
    row.failures = tally.failures
    row.last_failure_at = tally.last_failure_at
    row.locked_until = tally.locked_until


def _forget_quiet(session: Session, now: datetime) -> None:
    # Tallies of usernames tried once and never again would otherwise pile up. A few at a
    # time, and never a row another login holds (SKIP LOCKED): waiting for it could deadlock.
    session.flush()
    cutoff = now - FORGET_AFTER
    quiet = (
        select(LoginFailureRow.id)
        .where(
            or_(LoginFailureRow.locked_until.is_(None), LoginFailureRow.locked_until < now),
            or_(
                LoginFailureRow.failures == 0,
                and_(LoginFailureRow.last_failure_at.is_not(None), LoginFailureRow.last_failure_at < cutoff),
            ),
        )
        .limit(FORGET_AT_ONCE)
        .with_for_update(skip_locked=True)
    )
    session.execute(
        delete(LoginFailureRow)
        .where(LoginFailureRow.id.in_(quiet.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )


def _seconds(span: timedelta) -> int:
    return max(1, int(-(-span.total_seconds() // 1)))
