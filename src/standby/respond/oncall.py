"""On call: who holds the pager for a rotation at any instant, with overrides.

Pure: no database, no clock; times come in as arguments (aware datetimes) and go out
in UTC.

Turns follow the wall clock of the plan's time zone. The first turn begins at the
handoff (weekday and time) on the first such weekday on or after the rotation's
`start` (2026-01-05 when omitted); turn k begins `k * length_days` local days later
and goes to member `k mod len(members)`. So a 09:00 Monday handoff stays 09:00 on both
sides of a daylight-saving change, and the turn that spans the change is an hour
shorter or longer in elapsed time (167 or 169 hours for a weekly turn in
Europe/London). Before the first turn the cycle runs backwards (the last member has
the turn before it), so someone is on call at every instant.

Handoff times that a daylight-saving change makes odd are placed as maintenance
windows are (zoneinfo's `fold=0`, PEP 495), so the two features agree:

- a time that does not exist (01:30 on the spring-forward night in Europe/London)
  takes the offset from before the change: the handoff happens as many minutes after
  the gap as it was into it (01:30 GMT, shown as 02:30 BST): late by the gap, never
  skipped;
- a time that happens twice (01:30 on the fall-back night) is the first of the two
  (01:30 BST).

A zone that skips a whole day (Pacific/Apia on 2011-12-30) can make a daily turn
last no time at all; such a turn is left out.

Overrides (someone covering a rotation for a while) win over turns for their span.
When overrides overlap, the one created last wins where they overlap (ties: the larger
id), the usual "the newest arrangement is the one meant" rule: a swap made on Tuesday
for Friday night beats a cover arranged the week before without anyone having to
cancel the older one. Where the newer override ends, the older one applies again if
it still runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from standby.plan.people import Rotation
from standby.time_zones import time_zone

DEFAULT_START = date(2026, 1, 5)
"""The date a rotation's first turn begins from when the plan gives none (a Monday)."""

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Override:
    """Someone covering a rotation from `starts` until `ends` (aware times)."""

    person_id: str
    starts: datetime
    ends: datetime
    created_at: datetime
    id: int = 0
    reason: str | None = None


@dataclass(frozen=True)
class Shift:
    """A span of time during which one person holds a rotation's pager.

    `override` tells whether an override (rather than the rotation's turn) put them
    there; `override_id` is then that override's id. Times are UTC, `ends` exclusive.
    """

    rotation_id: str
    person_id: str
    starts: datetime
    ends: datetime
    override: bool
    override_id: int | None = None

    @property
    def hours(self) -> float:
        """How long the shift lasts, in elapsed hours."""
        return (self.ends - self.starts).total_seconds() / 3600


def on_call_at(rotation: Rotation, overrides: Sequence[Override], at: datetime, timezone: str) -> Shift:
    """The shift covering `at`: an override's, else the rotation's turn (cut by overrides)."""
    at = _utc(at, "at")
    return shifts_between(rotation, overrides, at, at + timedelta(microseconds=1), timezone)[0]


def shifts_between(
    rotation: Rotation,
    overrides: Sequence[Override],
    start: datetime,
    end: datetime,
    timezone: str,
) -> list[Shift]:
    """The shifts that overlap [start, end), in order, not cut to the span.

    They tile the span: the first begins at or before `start`, each ends where the next
    begins, the last ends at or after `end`. A turn that overrides interrupt becomes
    several shifts; an override is cut where a newer one overlaps it.
    """
    start, end = _utc(start, "start"), _utc(end, "end")
    if end <= start:
        raise ValueError(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")
    turns = _Turns(rotation, time_zone(timezone))
    usable = [o for o in map(_in_utc, overrides) if o.ends > o.starts]
    touching = [o for o in usable if o.starts < end and o.ends > start]
    low = min([start, *(o.starts for o in touching)])
    high = max([end, *(o.ends for o in touching)])
    first, last = turns.index_at(low), turns.index_at(high - timedelta(microseconds=1))
    span_low, span_high = turns.begins(first), turns.begins(last + 1)
    relevant = [o for o in usable if o.starts < span_high and o.ends > span_low]

    boundaries = {turns.begins(k) for k in range(first, last + 2)}
    boundaries |= {o.starts for o in relevant} | {o.ends for o in relevant}
    points = sorted(b for b in boundaries if span_low <= b <= span_high)

    shifts: list[Shift] = []
    # The elementary pieces between boundaries, each held by one override or one turn;
    # neighbouring pieces held the same way are one shift.
    key_of_last: tuple[str, int] | None = None
    for low_at, high_at in pairwise(points):
        found = _winner(relevant, low_at)
        if found is not None:
            key: tuple[str, int] = ("override", found)
            person, override_id = relevant[found].person_id, relevant[found].id
        else:
            k = turns.index_at(low_at)
            key = ("turn", k)
            person, override_id = turns.member(k), None
        by_override = found is not None
        if key == key_of_last:
            shifts[-1] = Shift(rotation.id, person, shifts[-1].starts, high_at, by_override, override_id)
        else:
            shifts.append(Shift(rotation.id, person, low_at, high_at, by_override, override_id))
        key_of_last = key
    return [s for s in shifts if s.starts < end and s.ends > start]


def next_handoff(
    rotation: Rotation, overrides: Sequence[Override], at: datetime, timezone: str
) -> Shift | None:
    """The first shift after the one covering `at` that someone else holds: who is next, from when.

    None when nobody else ever takes over (a rotation of one person, no override ahead).
    """
    at = _utc(at, "at")
    current = on_call_at(rotation, overrides, at, timezone)
    ahead = [_utc(o.ends, "ends") for o in overrides if _utc(o.ends, "ends") > at]
    horizon = max([at + timedelta(days=rotation.length_days * (len(rotation.members) + 1) + 2), *ahead])
    for shift in shifts_between(rotation, overrides, current.ends, horizon, timezone):
        if shift.person_id != current.person_id:
            return shift
    return None


def turn_starts(rotation: Rotation, timezone: str, index: int) -> datetime:
    """When turn `index` begins (turn 0 is the first on or after the rotation's start), in UTC."""
    return _Turns(rotation, time_zone(timezone)).begins(index)


def first_handoff_local(rotation: Rotation) -> datetime:
    """The naive local wall time at which turn 0 begins."""
    start = rotation.start or DEFAULT_START
    target = WEEKDAYS.index(rotation.handoff.weekday)
    day = start + timedelta(days=(target - start.weekday()) % 7)
    return datetime.combine(day, time(0)) + timedelta(minutes=rotation.handoff.time)


def _in_utc(item: Override) -> Override:
    # In UTC, so that comparisons never meet PEP 495's inter-zone rule for repeated hours.
    return replace(
        item,
        starts=_utc(item.starts, "starts"),
        ends=_utc(item.ends, "ends"),
        created_at=_utc(item.created_at, "created_at"),
    )


def _winner(overrides: Sequence[Override], at: datetime) -> int | None:
    """The index of the override in force at `at`: of those covering it, the newest."""
    best: int | None = None
    for index, item in enumerate(overrides):
        if not item.starts <= at < item.ends:
            continue
        if best is None or (item.created_at, item.id) > (overrides[best].created_at, overrides[best].id):
            best = index
    return best


class _Turns:
    """The rotation's turns in one zone: when each begins and whose it is."""

    def __init__(self, rotation: Rotation, zone: ZoneInfo) -> None:
        self.rotation = rotation
        self.zone = zone
        self.first = first_handoff_local(rotation)
        self.length = timedelta(days=rotation.length_days)

    def begins(self, index: int) -> datetime:
        """The instant turn `index` begins (fold=0, see the module's note)."""
        local = self.first + index * self.length
        return local.replace(tzinfo=self.zone, fold=0).astimezone(UTC)

    def member(self, index: int) -> str:
        """Whose turn `index` is."""
        members = self.rotation.members
        return members[index % len(members)]

    def index_at(self, at: datetime) -> int:
        """The turn covering `at`: the last that begins at or before it."""
        local = at.astimezone(self.zone).replace(tzinfo=None)
        index = (local - self.first) // self.length
        # Local time and elapsed time differ by at most a day's offset change: a step or
        # two puts the estimate right. An empty turn (a skipped day) is passed over.
        while self.begins(index + 1) <= at:
            index += 1
        while self.begins(index) > at:
            index -= 1
        return index


def _utc(when: datetime, name: str) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{name} ({when!r}) has no time zone; on-call times must be aware")
    return when.astimezone(UTC)


__all__ = [
    "DEFAULT_START",
    "Override",
    "Shift",
    "first_handoff_local",
    "next_handoff",
    "on_call_at",
    "shifts_between",
    "turn_starts",
]
