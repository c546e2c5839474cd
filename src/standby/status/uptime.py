"""The past 90 days of each public service as an uptime bar: minutes out, day by day.

How it is counted (the page says the same in words): a service was out for as long as
an outage that lost one of its queues or needed components lasted, from the outage's
start to its end (or now); outages during planned maintenance, and outages that only
slowed calls down (degraded), are not counted. Overlapping outages count once. Days
are the contact centre's days (the plan's time zone); today counts up to now.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from standby.status.services import Service

DAYS = 90
HOW_COUNTED = (
    "Each bar is one day in the centre's time zone. A service counts as down from the start to the"
    " end of every outage that stopped its calls being answered (a partial or major outage)."
    " Planned maintenance and slower answering (degraded performance) are not counted as down."
    " Uptime is the share of the 90 days' minutes, up to now, that the service was not down."
)


@dataclass(frozen=True)
class Downtime:
    """One outage as the uptime counts it: when, and which components and queues it lost."""

    started_at: datetime
    ended_at: datetime | None
    components: frozenset[str]
    queues: frozenset[str]


@dataclass(frozen=True)
class Day:
    """One day of a service: how many minutes it was down of those counted."""

    day: date
    down_minutes: float
    counted_minutes: float

    @property
    def level(self) -> str:
        """none, some (under an hour) or much (an hour or more) down, for the bar's colour."""
        if self.down_minutes <= 0:
            return "none"
        return "some" if self.down_minutes < 60 else "much"

    @property
    def uptime_percent(self) -> float | None:
        """The day's uptime in percent; None for a day not yet begun."""
        if self.counted_minutes <= 0:
            return None
        return 100.0 * (1 - self.down_minutes / self.counted_minutes)


@dataclass(frozen=True)
class UptimeBar:
    """A service's days, oldest first, and its uptime over them all."""

    days: tuple[Day, ...]
    uptime_percent: float


def uptime_bar(
    service: Service, downtimes: Iterable[Downtime], *, now: datetime, zone: ZoneInfo, days: int = DAYS
) -> UptimeBar:
    """The service's last `days` days up to `now`, counted as HOW_COUNTED says."""
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    window_start = _midnight(first, zone)
    spans = _merged(
        (d.started_at, d.ended_at or now) for d in downtimes if service.touched_by(d.components, d.queues)
    )
    out: list[Day] = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        start = _midnight(day, zone)
        end = min(_midnight(day + timedelta(days=1), zone), now)
        counted = max((end - start).total_seconds() / 60, 0.0)
        down = sum(_overlap(span, (start, end)) for span in spans) / 60
        out.append(Day(day, down, counted))
    total = sum(d.counted_minutes for d in out)
    down_total = sum(_overlap(span, (window_start, now)) for span in spans) / 60
    percent = 100.0 if total <= 0 else 100.0 * (1 - down_total / total)
    return UptimeBar(tuple(out), percent)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def _merged(spans: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    ordered = sorted(s for s in spans if s[1] > s[0])
    merged: list[tuple[datetime, datetime]] = []
    for start, end in ordered:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _overlap(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> float:
    return max((min(a[1], b[1]) - max(a[0], b[0])).total_seconds(), 0.0)


def uptime_text(percent: float) -> str:
    """A percentage as the page shows it: two decimals, never rounded up to 100 while anything was down."""
    if percent < 100.0:
        return f"{min(percent, 99.99):.2f}%"
    return "100%"


def summarise_days(days: Sequence[Day]) -> int:
    """How many of the days had any downtime."""
    return sum(1 for d in days if d.down_minutes > 0)
