"""Recurrence rules: the RFC 5545 subset maintenance windows use, checked and expanded with dateutil.

A window's `repeat` is an RRULE; this module says whether one is usable (and why not,
in words a planner can act on) and lists its occurrences as naive local wall-clock
times, leaving it to the windows (detect.maintenance) to turn them into instants. It
stands apart so that the plan can check a rule without importing the windows, which
read plans. Pure: no I/O, no clock; times are passed in.

Looking an occurrence up is cheap however long ago the window started: dateutil's
own `before` and `after` walk every occurrence from the first one, so the rule is
re-anchored to the calendar period just before the time asked about (keeping its
INTERVAL's phase, with the values dateutil would have taken from the first start
written into the rule). A rule that never produces an occurrence would make dateutil
search until the year 9999; it is tried once, shifted by a whole number of 400-year
Gregorian cycles (the calendar, weekdays and leap years repeat exactly) to where that
search ends within 800 years, and the answer is cached.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import MAXYEAR, UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrulebase, rrulestr

from standby.time_zones import time_zone

# An occurrence-counted rule (COUNT=n) is listed in full once; more than this is refused.
MAX_COUNT = 10_000
# A rule with no occurrence within this many years of its start never occurs.
SEARCH_YEARS = 400

FREQUENCIES = {"YEARLY": YEARLY, "MONTHLY": MONTHLY, "WEEKLY": WEEKLY, "DAILY": DAILY}
_TOO_OFTEN = frozenset({"HOURLY", "MINUTELY", "SECONDLY"})
_PARTS = frozenset(
    {
        "FREQ",
        "UNTIL",
        "COUNT",
        "INTERVAL",
        "BYSECOND",
        "BYMINUTE",
        "BYHOUR",
        "BYDAY",
        "BYMONTHDAY",
        "BYYEARDAY",
        "BYWEEKNO",
        "BYMONTH",
        "BYSETPOS",
        "WKST",
    }
)
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_UNTIL = re.compile(r"^(\d{8})(?:T(\d{6})(Z?))?$")
_EXAMPLE = "such as 'FREQ=WEEKLY;BYDAY=SU' or 'FREQ=MONTHLY;BYDAY=1SU'"


def parse_recurrence(text: str) -> str:
    """The rule in the form Standby stores (upper case, no `RRULE:`); ValueError saying what is wrong.

    Supported: RFC 5545 RRULE parts, FREQ at most DAILY (several times a day is
    FREQ=DAILY with BYHOUR), COUNT at most MAX_COUNT, not COUNT with UNTIL. A rule that
    never occurs passes here; `maintenance.first_occurrence` tells.
    """
    _split(text)
    rule = _strip(text)
    try:
        rrulestr(rule, dtstart=datetime(2026, 1, 1))
    except (ValueError, TypeError, OverflowError, KeyError, IndexError) as exc:
        raise ValueError(f"{text!r} is not a recurrence rule ({exc}): write one {_EXAMPLE}") from None
    return rule


# --- expansion -----------------------------------------------------------------------


@dataclass(frozen=True)
class Expansion:
    """A rule made ready for any anchor: dateutil's defaults written out, UNTIL local."""

    text: str  # the rule without UNTIL, defaults explicit
    until: datetime | None  # naive local
    freq: int
    interval: int
    wkst: int
    start: datetime  # naive local first start
    first: datetime | None
    listed: tuple[datetime, ...] | None  # every occurrence of a COUNT rule
    problem: str | None = None

    def between(self, low: datetime, high: datetime) -> Iterator[datetime]:
        """Local starts in [low, high], in order."""
        for local in self.onwards(low):
            if local > high:
                return
            yield local

    def onwards(self, low: datetime) -> Iterator[datetime]:
        """Local starts from `low` on, in order (ends only when the rule does)."""
        if self.first is None:
            return
        if self.listed is not None:
            yield from self.listed[bisect_left(self.listed, low) :]
            return
        rule = _rule(_with_until(self.text, self.until), _anchor(self, low))
        # A rule that occurred once occurs again within one calendar cycle, or ends.
        yield from rule.xafter(max(low, self.start), inc=True)


@lru_cache(maxsize=1024)
def expand(recurrence: str, start: datetime, timezone: str) -> Expansion:
    """The rule from its naive local first `start`, cached; one that cannot occur says why in `problem`."""
    try:
        zone = time_zone(timezone)
        parts = _split(recurrence)
    except ValueError as exc:
        return _never(start, str(exc))
    freq = FREQUENCIES[parts["FREQ"]]
    interval = int(parts.get("INTERVAL", "1"))
    wkst = _DAYS.index(parts["WKST"]) if "WKST" in parts else 0
    until = _local_until(parts.pop("UNTIL", None), zone)
    _write_defaults(parts, freq, start)
    text = ";".join(f"{name}={value}" for name, value in parts.items())
    # Shifted by whole 400-year cycles so that a search for nothing stops at the year 9999.
    shift = max(0, (MAXYEAR - SEARCH_YEARS - 1 - start.year) // 400 * 400)
    shifted_until = None
    if until is not None and until.year + shift <= MAXYEAR:
        shifted_until = _shift(until, shift)
    try:
        shifted = _rule(_with_until(text, shifted_until), _shift(start, shift))
        if "COUNT" in parts:
            listed = tuple(_shift(local, -shift) for local in shifted)
            if not listed:
                return _never(start, f"{recurrence!r} never occurs after {start:%Y-%m-%d %H:%M} (local time)")
            return Expansion(text, until, freq, interval, wkst, start, listed[0], listed)
        found = shifted.after(_shift(start, shift), inc=True)
    except (ValueError, TypeError, OverflowError, KeyError, IndexError) as exc:
        return _never(start, f"{recurrence!r} cannot be expanded ({exc})")
    first = None if found is None else _shift(found, -shift)
    if first is None or (until is not None and first > until):
        return _never(start, f"{recurrence!r} never occurs after {start:%Y-%m-%d %H:%M} (local time)")
    return Expansion(text, until, freq, interval, wkst, start, first, None)


def _never(start: datetime, problem: str) -> Expansion:
    return Expansion("", None, DAILY, 1, 0, start, None, None, problem=problem)


@lru_cache(maxsize=1024)
def _rule(text: str, dtstart: datetime) -> rrulebase:
    return rrulestr(text, dtstart=dtstart)


def _anchor(expansion: Expansion, low: datetime) -> datetime:
    """The latest start of a period of the rule (keeping its INTERVAL's phase) at or before `low`.

    The rule's first start when `low` is within its first INTERVAL periods.
    """
    first = _period(expansion.freq, expansion.wkst, expansion.start)
    periods = _period(expansion.freq, expansion.wkst, low) - first
    step = periods // expansion.interval * expansion.interval
    if step <= 0:
        return expansion.start
    return _period_start(expansion.freq, expansion.wkst, first + step)


def _period(freq: int, wkst: int, when: datetime) -> int:
    if freq == YEARLY:
        return when.year
    if freq == MONTHLY:
        return when.year * 12 + when.month - 1
    if freq == WEEKLY:
        return (when.toordinal() - 1 - wkst) // 7
    return when.toordinal()


def _period_start(freq: int, wkst: int, index: int) -> datetime:
    if freq == YEARLY:
        return datetime(index, 1, 1)
    if freq == MONTHLY:
        return datetime(index // 12, index % 12 + 1, 1)
    if freq == WEEKLY:
        return datetime.fromordinal(index * 7 + 1 + wkst)
    return datetime.fromordinal(index)


def _write_defaults(parts: dict[str, str], freq: int, start: datetime) -> None:
    """Write into the rule the values dateutil takes from the first start when a rule has none.

    The rule then means the same whatever start it is anchored to, except for the
    phase of INTERVAL (which `_anchor` keeps).
    """
    if not parts.keys() & {"BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY"}:
        if freq == YEARLY:
            parts.setdefault("BYMONTH", str(start.month))
            parts["BYMONTHDAY"] = str(start.day)
        elif freq == MONTHLY:
            parts["BYMONTHDAY"] = str(start.day)
        elif freq == WEEKLY:
            parts["BYDAY"] = _DAYS[start.weekday()]
    parts.setdefault("BYHOUR", str(start.hour))
    parts.setdefault("BYMINUTE", str(start.minute))
    parts.setdefault("BYSECOND", str(start.second))


def _with_until(text: str, until: datetime | None) -> str:
    return text if until is None else f"{text};UNTIL={until:%Y%m%dT%H%M%S}"


def _local_until(value: str | None, zone: ZoneInfo) -> datetime | None:
    """UNTIL as a naive local time: with Z it is UTC; a date alone includes that whole day."""
    if value is None:
        return None
    match = _UNTIL.match(value)
    assert match is not None  # _split checked it
    day, clock, utc = match.groups()
    if clock is None:
        return datetime.strptime(day, "%Y%m%d") + timedelta(days=1, seconds=-1)
    moment = datetime.strptime(day + clock, "%Y%m%d%H%M%S")
    return local_time(moment.replace(tzinfo=UTC), zone) if utc else moment


def _split(text: str) -> dict[str, str]:
    """The rule's parts by name, upper case; ValueError saying what is wrong."""
    rule = _strip(text)
    if not rule:
        raise ValueError(f"the recurrence rule is empty: write one {_EXAMPLE}")
    parts: dict[str, str] = {}
    for piece in rule.split(";"):
        name, equals, value = piece.partition("=")
        name = name.strip()
        if not equals or not value.strip():
            raise ValueError(f"{piece!r} in {text!r} is not NAME=VALUE: write a rule {_EXAMPLE}")
        if name == "DTSTART":
            raise ValueError("put the first start in starts (starts_at), not DTSTART in the rule")
        if name not in _PARTS:
            raise ValueError(f"{name!r} is not an RFC 5545 RRULE part: use {', '.join(sorted(_PARTS))}")
        if name in parts:
            raise ValueError(f"{name} appears twice in {text!r}")
        parts[name] = value.strip()
    freq = parts.get("FREQ")
    if freq is None:
        raise ValueError(f"{text!r} has no FREQ: write a rule {_EXAMPLE}")
    if freq in _TOO_OFTEN:
        raise ValueError(
            f"FREQ={freq}: a maintenance window repeats at most daily; for several a day write"
            " FREQ=DAILY;BYHOUR=2,14"
        )
    if freq not in FREQUENCIES:
        raise ValueError(f"FREQ={freq} is not a frequency: use {', '.join(FREQUENCIES)}")
    if "COUNT" in parts and "UNTIL" in parts:
        raise ValueError("give COUNT or UNTIL, not both (RFC 5545)")
    if "COUNT" in parts and not (parts["COUNT"].isdigit() and 1 <= int(parts["COUNT"]) <= MAX_COUNT):
        raise ValueError(f"COUNT must be a whole number from 1 to {MAX_COUNT}")
    if "INTERVAL" in parts and not (parts["INTERVAL"].isdigit() and 1 <= int(parts["INTERVAL"]) <= 1000):
        raise ValueError("INTERVAL must be a whole number from 1 to 1000")
    if "WKST" in parts and parts["WKST"] not in _DAYS:
        raise ValueError(f"WKST must be one of {', '.join(_DAYS)}")
    if "UNTIL" in parts and not _valid_until(parts["UNTIL"]):
        raise ValueError(
            f"UNTIL={parts['UNTIL']} is not a date: write YYYYMMDD, YYYYMMDDTHHMMSS (local)"
            " or YYYYMMDDTHHMMSSZ (UTC)"
        )
    return parts


def _valid_until(value: str) -> bool:
    match = _UNTIL.match(value)
    if match is None:
        return False
    day, clock, _ = match.groups()
    try:
        datetime.strptime(day + (clock or "000000"), "%Y%m%d%H%M%S")
    except ValueError:
        return False
    return True


def _strip(text: str) -> str:
    rule = text.strip().upper()
    return rule[len("RRULE:") :].strip() if rule.startswith("RRULE:") else rule


# --- time ------------------------------------------------------------------------------


def local_time(instant: datetime, zone: ZoneInfo) -> datetime:
    """The aware `instant` as the naive wall-clock time the zone shows then."""
    return instant.astimezone(zone).replace(tzinfo=None, fold=0)


def _shift(local: datetime, years: int) -> datetime:
    """`local` moved by `years`, a multiple of 400: the same day of the week, 29 February kept."""
    return local.replace(year=local.year + years) if years else local


__all__ = [
    "FREQUENCIES",
    "MAX_COUNT",
    "SEARCH_YEARS",
    "Expansion",
    "expand",
    "local_time",
    "parse_recurrence",
]
