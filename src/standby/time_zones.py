"""Time zones named in a plan, a maintenance window or an on-call rotation: one check, one message."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def time_zone(name: str) -> ZoneInfo:
    """The IANA zone by name; ValueError saying what to write instead."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # ZoneInfo also refuses a path-like or empty name with ValueError; the name is cut so
        # that a hostile one does not fill the message.
        shown = repr(name[:80])
        raise ValueError(f"{shown} is not a time zone: use an IANA name such as 'Europe/London'") from None
