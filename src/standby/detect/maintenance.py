"""Maintenance windows: when planned work is going on, and which components it covers.

Pure: no database, no clock; the time is always passed in. Outages of covered
components are still recorded, but raise nothing (Semantics, "Detection").

Recurrences are RFC 5545 RRULEs, expanded in the local wall-clock time of the window's
time zone: a window at 02:00 every Sunday stays at 02:00 local on both sides of a
daylight-saving change. Each occurrence lasts `duration` of elapsed time.

Local times that a daylight-saving change makes odd are placed with zoneinfo's
`fold=0` (PEP 495):

- a time that does not exist (in the hour the clocks skip, such as 01:30 on the
  spring-forward night in Europe/London) takes the offset from before the change, so
  the occurrence starts as many minutes after the gap as it was into it (01:30 GMT
  becomes 02:30 BST): late by the gap, never skipped;
- a time that happens twice (01:30 on the fall-back night) is the first of the two
  (01:30 BST): maintenance starts the first time the wall clock shows it.

The rules themselves, and how looking an occurrence up stays cheap however long ago a
window started, are in detect.recurrence.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from standby.detect.recurrence import Expansion, expand, local_time
from standby.plan.schema import Plan
from standby.time_zones import time_zone

Source = Literal["plan", "api"]

# Local times of occurrences and UTC instants differ by a zone's offset; two offsets of
# one zone differ by at most 26 hours (UTC-12 to UTC+14). Searches look this far around.
MARGIN = timedelta(hours=30)
# A plan window longer than this (ten years) is cut to it rather than overflow.
MAX_PLAN_MINUTES = 10 * 366 * 24 * 60


@dataclass(frozen=True)
class Window:
    """A maintenance window, from the plan or declared through the API.

    `starts` is aware; when its tzinfo is the window's own zone, its wall time is the
    one the recurrence repeats (even a wall time a daylight-saving change skips).
    `components` empty means every component.
    """

    key: str
    reason: str
    components: frozenset[str]
    starts: datetime
    duration: timedelta
    recurrence: str | None
    timezone: str
    source: Source

    def covers(self, component_id: str) -> bool:
        """Whether this window's work includes the component (ignoring when)."""
        return not self.components or component_id in self.components


def windows_from_plan(plan: Plan) -> list[Window]:
    """The plan's maintenance windows; starts without an offset are in the organisation's zone."""
    zone_name = plan.organisation.timezone
    zone = ZoneInfo(zone_name)
    windows = []
    for item in plan.maintenance:
        starts = item.starts if item.starts.tzinfo is not None else item.starts.replace(tzinfo=zone)
        windows.append(
            Window(
                key=f"plan:{item.id}",
                reason=item.reason,
                components=frozenset(item.components),
                starts=starts,
                duration=_plan_duration(item.minutes),
                recurrence=item.repeat,
                timezone=zone_name,
                source="plan",
            )
        )
    return windows


def _plan_duration(minutes: float) -> timedelta:
    # The plan only says "positive": an infinite or absurd length is capped, not a crash.
    if not math.isfinite(minutes) or minutes > MAX_PLAN_MINUTES:
        return timedelta(minutes=MAX_PLAN_MINUTES)
    return timedelta(minutes=minutes)


def recurrence_problem(window: Window) -> str | None:
    """Why the window's recurrence cannot be used (it then never occurs), or None."""
    if window.recurrence is None:
        return None
    return _expansion_of(window).problem


def first_occurrence(window: Window) -> tuple[datetime, datetime] | None:
    """The window's first occurrence as UTC instants, or None when its rule never occurs."""
    if window.recurrence is None:
        start = window.starts.astimezone(UTC)
        return start, start + window.duration
    expansion = _expansion_of(window)
    if expansion.first is None:
        return None
    start = _instant(expansion.first, time_zone(window.timezone))
    return start, start + window.duration


def occurrence_at(window: Window, now: datetime) -> tuple[datetime, datetime] | None:
    """The occurrence covering `now` as UTC instants [start, end), or None.

    When occurrences overlap, the one that started last.
    """
    now = _utc(now)
    if window.duration <= timedelta(0):
        return None
    if window.recurrence is None:
        start = window.starts.astimezone(UTC)
        end = start + window.duration
        return (start, end) if start <= now < end else None
    zone = time_zone(window.timezone)
    local_now = local_time(now, zone)
    best: tuple[datetime, datetime] | None = None
    expansion = _expansion_of(window)
    for local in expansion.between(local_now - window.duration - MARGIN, local_now + MARGIN):
        start = _instant(local, zone)
        if start <= now < start + window.duration and (best is None or start > best[0]):
            best = (start, start + window.duration)
    return best


def next_occurrence(window: Window, after: datetime) -> tuple[datetime, datetime] | None:
    """The first occurrence starting strictly after `after`, as UTC instants, or None."""
    after = _utc(after)
    if window.duration <= timedelta(0):
        return None
    if window.recurrence is None:
        start = window.starts.astimezone(UTC)
        return (start, start + window.duration) if start > after else None
    zone = time_zone(window.timezone)
    found: tuple[datetime, datetime] | None = None
    found_local: datetime | None = None
    for local in _expansion_of(window).onwards(local_time(after, zone) - MARGIN):
        # Local times map to instants in order except around an offset change, which
        # moves an instant by less than MARGIN: nothing later can start sooner.
        if found_local is not None and local > found_local + MARGIN:
            break
        start = _instant(local, zone)
        if start > after and (found is None or start < found[0]):
            found, found_local = (start, start + window.duration), local
    return found


def upcoming(window: Window, after: datetime, limit: int) -> list[tuple[datetime, datetime]]:
    """Up to `limit` occurrences starting strictly after `after`, in order."""
    result: list[tuple[datetime, datetime]] = []
    cursor = after
    while len(result) < limit:
        found = next_occurrence(window, cursor)
        if found is None:
            break
        result.append(found)
        cursor = found[0]
    return result


def active(windows: Iterable[Window], now: datetime) -> list[Window]:
    """The windows with an occurrence covering `now`, in the order given."""
    return [window for window in windows if occurrence_at(window, now) is not None]


def covered_components(
    windows: Iterable[Window], now: datetime, all_component_ids: Iterable[str]
) -> frozenset[str]:
    """The components in maintenance at `now`: those of active windows, all for a window naming none.

    Ids a window names that are not in `all_component_ids` (a component since removed
    from the plan) are left out.
    """
    every = frozenset(all_component_ids)
    covered: set[str] = set()
    for window in active(windows, now):
        covered |= every if not window.components else window.components & every
    return frozenset(covered)


def _expansion_of(window: Window) -> Expansion:
    assert window.recurrence is not None
    return expand(window.recurrence, _local_start(window), window.timezone)


# --- time ------------------------------------------------------------------------------


def _local_start(window: Window) -> datetime:
    """The wall time the recurrence repeats, naive, to the second."""
    starts = window.starts
    tzinfo = starts.tzinfo
    if not (isinstance(tzinfo, ZoneInfo) and tzinfo.key == window.timezone):
        starts = starts.astimezone(time_zone(window.timezone))
    return starts.replace(tzinfo=None, microsecond=0, fold=0)


def _instant(local: datetime, zone: ZoneInfo) -> datetime:
    # fold=0: a skipped wall time takes the offset from before the change (so it lands
    # after the gap); a repeated one is the first of the two. See the module's note.
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _utc(when: datetime) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{when!r} has no time zone; maintenance windows need aware times")
    return when.astimezone(UTC)


__all__ = [
    "MARGIN",
    "Source",
    "Window",
    "active",
    "covered_components",
    "first_occurrence",
    "next_occurrence",
    "occurrence_at",
    "recurrence_problem",
    "upcoming",
    "windows_from_plan",
]
