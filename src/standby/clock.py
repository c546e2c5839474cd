"""Clocks: services and the worker ask one for the time instead of reading it themselves.

`SystemClock` is the real one; `FakeClock` stands still until a test moves it.
Both return timezone-aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the time."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The computer's clock."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        return datetime.now(UTC)


class FakeClock:
    """A clock for tests: it shows the time it was set to until it is set or advanced."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = _utc(start) if start is not None else datetime(2026, 1, 1, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        """The time the clock shows."""
        return self._now

    def set(self, when: datetime) -> None:
        """Show `when` from now on; it must be timezone-aware."""
        self._now = _utc(when)

    def advance(self, by: timedelta) -> datetime:
        """Move the clock on by `by` (negative moves it back) and return the new time."""
        self._now = self._now + by
        return self._now


def _utc(when: datetime) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{when!r} has no time zone; clocks hold timezone-aware times")
    return when.astimezone(UTC)
