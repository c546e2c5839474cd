"""Login lockout: how many failed logins an account or a client address may have, and the wait after.

Pure: no database, time passed in. Each account and each client address keeps a tally of
failed logins. A few are free; each one after locks the door for a delay that doubles,
up to a cap; a quiet spell forgives failures one at a time. While the door is locked,
no password is checked at all, so a right one is refused like a wrong one (otherwise
the lock would be a password oracle). Tallies are kept for usernames whether or not
they exist, so a lockout tells nothing about which accounts do.

The numbers (see docs/operations.md):

- an account: 5 free failures, then 30 s, 1, 2, 4, 8 and at most 15 minutes. A person
  who mistypes a few times is never held up; a guesser gets about 4 tries an hour.
- an address: 30 free failures, the same delays. A contact centre often logs in from
  behind one NAT address, where many people's typos add up at the start of a shift;
  the address limit is there to stop one machine spraying passwords over many
  accounts, which the per-account limit alone does not.
- one failure is forgiven every 15 minutes without failures (and not while locked, so
  the cap holds), so a tally left alone for a few hours is clean again. A successful
  login clears its account's tally, and takes back the one it cost its address.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Scope(StrEnum):
    """What a tally counts the failures of."""

    ACCOUNT = "account"
    ADDRESS = "address"


@dataclass(frozen=True)
class Policy:
    """How many failures are free, the first delay after them, the cap, and the forgiving."""

    free: int
    first_delay: timedelta
    cap: timedelta
    forgive_every: timedelta

    def delay(self, failures: int) -> timedelta:
        """How long the door stays locked after the `failures`-th failure; zero while free."""
        over = failures - self.free
        if over <= 0:
            return timedelta(0)
        # Doubling past the cap only risks an overflow: stop at 2**20 (a year of 30 s).
        doubled: timedelta = self.first_delay * (2 ** min(over - 1, 20))
        return min(self.cap, doubled)


POLICIES: dict[Scope, Policy] = {
    Scope.ACCOUNT: Policy(
        free=5,
        first_delay=timedelta(seconds=30),
        cap=timedelta(minutes=15),
        forgive_every=timedelta(minutes=15),
    ),
    Scope.ADDRESS: Policy(
        free=30,
        first_delay=timedelta(seconds=30),
        cap=timedelta(minutes=15),
        forgive_every=timedelta(minutes=15),
    ),
}

MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class Tally:
    """The failed logins of one account or address: how many, the last, and the lock."""

    failures: int = 0
    last_failure_at: datetime | None = None
    locked_until: datetime | None = None

    def locked_for(self, now: datetime) -> timedelta:
        """How much longer the door stays locked; zero when open."""
        if self.locked_until is None or now >= self.locked_until:
            return timedelta(0)
        return self.locked_until - now

    def standing(self, policy: Policy, now: datetime) -> int:
        """The failures still held against it at `now`, after forgiving the quiet time."""
        if self.last_failure_at is None or self.failures <= 0:
            return 0
        # Quiet time counts from the later of the last failure and the lock's end.
        quiet_since = max(self.last_failure_at, self.locked_until or self.last_failure_at)
        quiet = now - quiet_since
        if quiet <= timedelta(0):
            return self.failures
        return max(0, self.failures - int(quiet / policy.forgive_every))

    def after_failure(self, policy: Policy, now: datetime) -> Tally:
        """The tally once one more failure is counted at `now`, with its lock."""
        failures = self.standing(policy, now) + 1
        wait = policy.delay(failures)
        return Tally(failures, now, now + wait if wait > timedelta(0) else None)

    def taken_back(self, reserved: Tally, before: Tally) -> Tally:
        """This tally with one counted attempt undone: the login it was counted for was right.

        `before` and `reserved` are the tally just before and just after that attempt was
        counted; the lock and time it set are undone only if no later failure replaced them.
        """
        failures = max(0, self.failures - 1)
        ours = self.locked_until == reserved.locked_until and self.last_failure_at == reserved.last_failure_at
        if not ours:
            return Tally(failures, self.last_failure_at, self.locked_until)
        return Tally(failures, before.last_failure_at if failures else None, before.locked_until)

    def forgotten(self, policy: Policy, now: datetime) -> bool:
        """Whether nothing is held against it any more: the record can go."""
        return self.locked_for(now) == timedelta(0) and self.standing(policy, now) == 0


def account_key(username: str) -> str:
    """The tally key of an account: the username as logins normalise it, existing or not."""
    return username.strip().lower()[:MAX_KEY_LENGTH]


def address_key(address: str) -> str:
    """The tally key of a client address: the address, or its /64 for IPv6.

    One IPv6 host usually holds a whole /64, so counting single addresses would give an
    attacker billions of fresh tallies.
    """
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        return address.strip()[:MAX_KEY_LENGTH] or "unknown"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)
