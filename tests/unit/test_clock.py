"""Clocks: aware UTC times, and a fake one that moves only when told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from standby.clock import Clock, FakeClock, SystemClock


def test_the_system_clock_is_aware_utc() -> None:
    clock: Clock = SystemClock()
    now = clock.now()
    assert now.tzinfo is UTC


def test_the_fake_clock_moves_only_when_told() -> None:
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    clock: Clock = FakeClock(start)
    assert clock.now() == start == clock.now()
    assert isinstance(clock, FakeClock)
    assert clock.advance(timedelta(minutes=5)) == start + timedelta(minutes=5)
    clock.set(datetime(2026, 3, 2, 12, 0, tzinfo=timezone(timedelta(hours=2))))
    assert clock.now() == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert clock.now().tzinfo is UTC


def test_the_fake_clock_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        FakeClock(datetime(2026, 3, 2, 9, 0))
