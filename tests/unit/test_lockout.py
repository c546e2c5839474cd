"""The login lockout's arithmetic: free failures, doubling delays, forgiving, and the client address."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

from standby.access.lockout import POLICIES, Scope, Tally, account_key, address_key
from standby.web.auth import address_behind_proxies

T0 = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)
ACCOUNT = POLICIES[Scope.ACCOUNT]


def fail(tally: Tally, times: int, at: datetime) -> Tally:
    for _ in range(times):
        tally = tally.after_failure(ACCOUNT, at)
    return tally


def test_a_few_failures_are_free_then_delays_double_up_to_the_cap() -> None:
    delays = [ACCOUNT.delay(n) for n in range(1, 13)]
    assert delays[:5] == [timedelta(0)] * 5
    assert delays[5:] == [timedelta(seconds=s) for s in (30, 60, 120, 240, 480, 900, 900)]
    assert ACCOUNT.delay(10_000) == timedelta(minutes=15)
    # An office behind one NAT address: many people's typos add up before anyone waits.
    address = POLICIES[Scope.ADDRESS]
    assert (address.delay(30), address.delay(31), address.delay(99)) == (
        timedelta(0),
        timedelta(seconds=30),
        timedelta(minutes=15),
    )
    tally = fail(Tally(), 5, T0)
    assert tally.failures == 5 and tally.locked_for(T0) == timedelta(0)
    tally = tally.after_failure(ACCOUNT, T0)
    assert tally.locked_for(T0) == timedelta(seconds=30)
    assert tally.locked_for(T0 + timedelta(seconds=30)) == timedelta(0)


def test_quiet_time_forgives_one_failure_each_quarter_hour_but_not_while_locked() -> None:
    tally = fail(Tally(), 7, T0)  # locked for 60 s
    assert tally.standing(ACCOUNT, T0 + timedelta(minutes=15)) == 7  # the lock's minute is not quiet
    assert tally.standing(ACCOUNT, T0 + timedelta(minutes=16, seconds=1)) == 6
    assert tally.standing(ACCOUNT, T0 + timedelta(hours=3)) == 0
    # After a long quiet spell, the next failure is free again.
    later = tally.after_failure(ACCOUNT, T0 + timedelta(hours=3))
    assert later.failures == 1 and later.locked_until is None


def test_a_right_password_takes_back_only_its_own_count() -> None:
    before = fail(Tally(), 5, T0)
    counted = before.after_failure(ACCOUNT, T0 + timedelta(seconds=1))
    assert counted.locked_until is not None
    back = counted.taken_back(counted, before)
    assert back == Tally(5, before.last_failure_at, None)
    # Another failure came in meanwhile: its lock stays.
    other = counted.after_failure(ACCOUNT, T0 + timedelta(seconds=2))
    kept = other.taken_back(counted, before)
    assert kept.failures == other.failures - 1 and kept.locked_until == other.locked_until


def test_keys_name_accounts_as_logins_do_and_ipv6_hosts_by_their_64() -> None:
    assert account_key("  Admin ") == "admin"
    assert address_key("203.0.113.7") == "203.0.113.7"
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert address_key("::ffff:203.0.113.7") == "203.0.113.7"


def test_forwarded_for_counts_only_behind_a_trusted_proxy() -> None:
    proxies = [ipaddress.ip_network("10.0.0.0/24")]
    # No trusted proxies: the socket's peer, whatever the header says.
    assert address_behind_proxies("198.51.100.9", ["203.0.113.7"], []) == "198.51.100.9"
    # A peer that is not a trusted proxy: its header is the client's own invention.
    assert address_behind_proxies("198.51.100.9", ["203.0.113.7"], proxies) == "198.51.100.9"
    # Behind the proxy: the address it appended, not what the client put in front.
    assert address_behind_proxies("10.0.0.2", ["1.2.3.4, 203.0.113.7"], proxies) == "203.0.113.7"
    # Two trusted proxies in a row; headers split over several lines.
    assert address_behind_proxies("10.0.0.2", ["1.2.3.4", "203.0.113.7, 10.0.0.3"], proxies) == "203.0.113.7"
    # No header, or garbage a proxy passed on: the last address that can be read.
    assert address_behind_proxies("10.0.0.2", [], proxies) == "10.0.0.2"
    assert address_behind_proxies("10.0.0.2", ["nonsense, 10.0.0.3"], proxies) == "10.0.0.3"
