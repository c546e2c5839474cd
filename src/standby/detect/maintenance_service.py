"""Maintenance windows as a service: the plan's, and those declared through the API.

A service: functions take a Session and the time, and never commit (the unit of work
does). Windows are named by a key: `plan:ID` for the plan's (changed only by loading
a new plan), `api:NUMBER` for declared ones (cancelled, never deleted, so the record
of why an outage raised nothing stays).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from standby.detect.maintenance import (
    Source,
    Window,
    first_occurrence,
    next_occurrence,
    occurrence_at,
    recurrence_problem,
    upcoming,
    windows_from_plan,
)
from standby.detect.recurrence import parse_recurrence
from standby.errors import Conflict, InvalidInput, NotFound
from standby.plan.schema import Plan
from standby.store.tables import MaintenanceWindowRow
from standby.time_zones import time_zone

Status = Literal["active", "upcoming", "ended", "cancelled"]

MAX_DURATION = timedelta(days=7)
"""The longest one occurrence may last: longer is not maintenance, it is an outage."""
MAX_AHEAD = timedelta(days=366)
"""How far ahead a window may be declared to start."""
MAX_REASON = 1000
# Occurrences of a new recurring window checked for overlap with the next one.
OVERLAP_CHECKS = 50
_PLAN_PREFIX = "plan:"
_API_PREFIX = "api:"


@dataclass(frozen=True)
class WindowRecord:
    """A maintenance window as listed: what it covers and its current or next occurrence.

    `occurrence_start` and `occurrence_end` are the occurrence covering the time asked
    about when `active`, else the next one; None when the window has ended or was
    cancelled. Times are UTC. `problem` says why a recurrence cannot be used.
    """

    key: str
    source: Source
    reason: str
    components: tuple[str, ...]
    starts_at: datetime
    minutes: float
    recurrence: str | None
    timezone: str
    status: Status
    occurrence_start: datetime | None
    occurrence_end: datetime | None
    created_by: str | None = None
    created_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancelled_by: str | None = None
    problem: str | None = None

    @property
    def active(self) -> bool:
        """Whether an occurrence covers the time the record was made for."""
        return self.status == "active"


def windows_in_force(session: Session, *, plan: Plan | None, now: datetime | None = None) -> list[Window]:
    """The plan's windows and the declared ones not cancelled: what the worker checks each cycle.

    With `now`, declared one-off windows that ended before it are left out.
    """
    windows = windows_from_plan(plan) if plan is not None else []
    query = select(MaintenanceWindowRow).where(MaintenanceWindowRow.cancelled_at.is_(None))
    if now is not None:
        query = query.where(
            or_(MaintenanceWindowRow.recurrence.is_not(None), MaintenanceWindowRow.ends_at > now)
        )
    rows = session.scalars(query.order_by(MaintenanceWindowRow.id))
    return windows + [_window_of(row) for row in rows]


def list_windows(
    session: Session, *, plan: Plan | None, now: datetime, include_past: bool = False
) -> list[WindowRecord]:
    """Every window, active ones first, then by their next occurrence.

    Without `include_past`, only windows active now or to come: ended and cancelled
    ones are left out.
    """
    records = [_record(window, now) for window in (windows_from_plan(plan) if plan is not None else [])]
    query = select(MaintenanceWindowRow)
    if not include_past:
        query = query.where(MaintenanceWindowRow.cancelled_at.is_(None)).where(
            or_(MaintenanceWindowRow.recurrence.is_not(None), MaintenanceWindowRow.ends_at > now)
        )
    records += [_row_record(row, now) for row in session.scalars(query.order_by(MaintenanceWindowRow.id))]
    if not include_past:
        records = [r for r in records if r.status in ("active", "upcoming")]
    order = {"active": 0, "upcoming": 1, "ended": 2, "cancelled": 3}
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(records, key=lambda r: (order[r.status], r.occurrence_start or far, r.key))


def past_windows(
    session: Session, *, plan: Plan | None, now: datetime, before_id: int | None = None, limit: int = 20
) -> tuple[list[WindowRecord], int | None]:
    """Ended and cancelled windows, newest declared first (ids below `before_id`), and the id to page on.

    At most `limit` declared windows; the plan's ended ones come on the first page only
    (the plan holds few). The id returned is None on the last page.
    """
    over = ("ended", "cancelled")
    plan_windows = windows_from_plan(plan) if plan is not None and before_id is None else []
    found = [r for r in (_record(w, now) for w in plan_windows) if r.status in over]
    shown, last, scan, batch = 0, None, before_id, max(1, limit) + 1
    while True:
        # A recurring window is over only when its rule runs out, which its record says.
        query = select(MaintenanceWindowRow).where(
            or_(
                MaintenanceWindowRow.cancelled_at.is_not(None),
                MaintenanceWindowRow.recurrence.is_not(None),
                MaintenanceWindowRow.ends_at <= now,
            )
        )
        if scan is not None:
            query = query.where(MaintenanceWindowRow.id < scan)
        rows = list(session.scalars(query.order_by(MaintenanceWindowRow.id.desc()).limit(batch)))
        for row in rows:
            record = _row_record(row, now)
            if record.status in over:
                if shown == limit:
                    return found, last
                found.append(record)
                shown, last = shown + 1, row.id
        if len(rows) < batch:
            return found, None
        scan = rows[-1].id


def get_window(session: Session, *, key: str, plan: Plan | None, now: datetime) -> WindowRecord:
    """One window by key (`plan:ID` or `api:NUMBER`), cancelled ones too; NotFound if none."""
    source, ident = _parse_key(key)
    if source == "plan":
        for window in windows_from_plan(plan) if plan is not None else []:
            if window.key == key:
                return _record(window, now)
        raise NotFound(_missing(key))
    row = session.get(MaintenanceWindowRow, int(ident))
    if row is None:
        raise NotFound(_missing(key))
    return _row_record(row, now)


def declare_window(
    session: Session,
    *,
    reason: str,
    components: Sequence[str],
    starts_at: datetime,
    ends_at: datetime | None = None,
    minutes: float | None = None,
    recurrence: str | None = None,
    timezone: str | None = None,
    created_by: str,
    now: datetime,
    plan: Plan,
) -> WindowRecord:
    """Declare a window; InvalidInput saying what is wrong and where.

    `starts_at` and `ends_at` without an offset are in `timezone` (default: the plan's).
    Give `ends_at` or `minutes` (the length of each occurrence), not both. Checked:
    components exist in the plan, a positive length of at most MAX_DURATION, a start at
    most MAX_AHEAD away, a valid recurrence that still occurs and whose occurrences do
    not overlap, and a window that has not already ended.
    """
    text = reason.strip()
    if not text:
        raise InvalidInput("reason: say what the work is; it must not be empty")
    if len(text) > MAX_REASON:
        raise InvalidInput(f"reason: at most {MAX_REASON} characters")
    zone_name = plan.organisation.timezone if timezone is None else timezone.strip()
    zone = _zone(zone_name)
    covered = _check_components(components, plan)
    start = _aware(starts_at, zone).replace(microsecond=0)
    duration = _duration(start, ends_at, minutes, zone)
    rule = None
    if recurrence is not None and recurrence.strip():
        try:
            rule = parse_recurrence(recurrence)
        except ValueError as exc:
            raise InvalidInput(f"repeat: {exc}") from None
        _check_exists(starts_at, zone)
    if start - now > MAX_AHEAD:
        raise InvalidInput(
            f"starts_at: {start.isoformat()} is more than {MAX_AHEAD.days} days away;"
            " declare it nearer the time"
        )
    window = Window(
        key="api:new",
        reason=text,
        components=frozenset(covered),
        starts=start.astimezone(zone),
        duration=duration,
        recurrence=rule,
        timezone=zone_name,
        source="api",
    )
    _check_occurs(window, now)
    row = MaintenanceWindowRow(
        reason=text,
        components=covered,
        starts_at=start.astimezone(UTC),
        ends_at=(start + duration).astimezone(UTC),
        recurrence=rule,
        timezone=zone_name,
        created_by=created_by,
        created_at=now,
        cancelled_at=None,
    )
    session.add(row)
    session.flush()
    return _row_record(row, now)


def cancel_window(
    session: Session, *, key: str, now: datetime, by: str, plan: Plan | None = None
) -> WindowRecord:
    """Cancel a declared window at once (an active one ends now); cancelling twice changes nothing.

    A plan window cannot be cancelled here (Conflict): the plan says it, so the plan
    must change. `by` is who asked, kept with the window.
    """
    source, ident = _parse_key(key)
    if source == "plan":
        if plan is not None and not any(w.key == key for w in windows_from_plan(plan)):
            raise NotFound(_missing(key))
        raise Conflict(
            f"{key} comes from the plan: to change or remove it, edit the plan's maintenance"
            " section and load the plan again"
        )
    row = session.get(MaintenanceWindowRow, int(ident))
    if row is None:
        raise NotFound(_missing(key))
    if row.cancelled_at is None:
        row.cancelled_at, row.cancelled_by = now, by[:100]
        session.flush()
    return _row_record(row, now)


# --- records ---------------------------------------------------------------------------


def _record(
    window: Window,
    now: datetime,
    *,
    created_by: str | None = None,
    created_at: datetime | None = None,
    cancelled_at: datetime | None = None,
    cancelled_by: str | None = None,
) -> WindowRecord:
    current = None if cancelled_at is not None else occurrence_at(window, now)
    following = None if cancelled_at is not None or current else next_occurrence(window, now)
    occurrence = current or following
    status: Status = "active" if current else "upcoming" if following else "ended"
    if cancelled_at is not None:
        status = "cancelled"
    return WindowRecord(
        key=window.key,
        source=window.source,
        reason=window.reason,
        components=tuple(sorted(window.components)),
        starts_at=window.starts.astimezone(UTC),
        minutes=window.duration.total_seconds() / 60,
        recurrence=window.recurrence,
        timezone=window.timezone,
        status=status,
        occurrence_start=occurrence[0] if occurrence else None,
        occurrence_end=occurrence[1] if occurrence else None,
        created_by=created_by,
        created_at=created_at,
        cancelled_at=cancelled_at,
        cancelled_by=cancelled_by,
        problem=recurrence_problem(window),
    )


def _row_record(row: MaintenanceWindowRow, now: datetime) -> WindowRecord:
    return _record(
        _window_of(row),
        now,
        created_by=row.created_by,
        created_at=row.created_at,
        cancelled_at=row.cancelled_at,
        cancelled_by=row.cancelled_by,
    )


def _window_of(row: MaintenanceWindowRow) -> Window:
    try:
        starts = row.starts_at.astimezone(ZoneInfo(row.timezone))
    except (ValueError, KeyError):  # a zone the tz database no longer knows: its UTC instant stands
        starts = row.starts_at
    return Window(
        key=f"{_API_PREFIX}{row.id}",
        reason=row.reason,
        components=frozenset(row.components),
        starts=starts,
        duration=row.ends_at - row.starts_at,
        recurrence=row.recurrence,
        timezone=row.timezone,
        source="api",
    )


# --- checks ----------------------------------------------------------------------------


def _parse_key(key: str) -> tuple[Source, str]:
    if key.startswith(_PLAN_PREFIX) and len(key) > len(_PLAN_PREFIX):
        return "plan", key[len(_PLAN_PREFIX) :]
    if key.startswith(_API_PREFIX):
        number = key[len(_API_PREFIX) :]
        # Within the id column's range (INTEGER): a larger number names no window.
        if number.isascii() and number.isdigit() and len(number) <= 10 and int(number) <= 2**31 - 1:
            return "api", number
    raise NotFound(_missing(key))


def _missing(key: str) -> str:
    shown = key if len(key) <= 80 else key[:80] + "..."
    return (
        f"no maintenance window {shown!r}: keys are plan:ID or api:NUMBER; GET /api/v1/maintenance lists them"
    )


def _zone(name: str) -> ZoneInfo:
    try:
        return time_zone(name)
    except ValueError as refused:
        raise InvalidInput(f"timezone: {refused}") from None


def _check_components(components: Sequence[str], plan: Plan) -> list[str]:
    known = plan.components_by_id
    covered: list[str] = []
    for position, component in enumerate(components):
        if component not in known:
            shown = component if len(component) <= 80 else component[:80] + "..."
            raise InvalidInput(
                f"components[{position}]: no component {shown!r} in the plan in force;"
                " GET /api/v1/components lists them (leave components empty to cover all)"
            )
        if component not in covered:
            covered.append(component)
    return covered


def _aware(when: datetime, zone: ZoneInfo) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        # fold=0, as for the plan: a skipped time lands after the gap, a repeated one is the first.
        return when.replace(tzinfo=zone)
    return when


def _check_exists(when: datetime, zone: ZoneInfo) -> None:
    """Refuse a recurring window's local start that a daylight-saving change skips.

    Its UTC instant would be stored, and read back as a different wall time to repeat.
    """
    if when.tzinfo is not None and when.utcoffset() is not None:
        return
    back = when.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if back != when.replace(tzinfo=None):
        raise InvalidInput(
            f"starts_at: {when.isoformat()} does not exist in {zone.key} (the clocks skip it);"
            " start a recurring window at a time that exists on its first day"
        )


def _duration(start: datetime, ends_at: datetime | None, minutes: float | None, zone: ZoneInfo) -> timedelta:
    if ends_at is not None and minutes is not None:
        raise InvalidInput("give either ends_at or minutes, not both")
    if ends_at is None and minutes is None:
        raise InvalidInput("give ends_at (when it ends) or minutes (how long each occurrence lasts)")
    if minutes is not None:
        if not math.isfinite(minutes) or minutes <= 0:
            raise InvalidInput("minutes: must be a positive number")
        if minutes > MAX_DURATION.total_seconds() / 60:
            raise InvalidInput(
                f"minutes: {minutes:g} is longer than {MAX_DURATION.days} days; declare shorter windows"
            )
        return timedelta(minutes=minutes)
    assert ends_at is not None
    end = _aware(ends_at, zone)
    duration = end.astimezone(UTC) - start.astimezone(UTC)
    if duration <= timedelta(0):
        raise InvalidInput(f"ends_at: {end.isoformat()} must be after starts_at ({start.isoformat()})")
    if duration > MAX_DURATION:
        raise InvalidInput(
            f"ends_at: the window would last {_span(duration)}, more than {MAX_DURATION.days} days;"
            " declare shorter windows"
        )
    return timedelta(seconds=int(duration.total_seconds()))


def _check_occurs(window: Window, now: datetime) -> None:
    if window.recurrence is None:
        end = window.starts.astimezone(UTC) + window.duration
        if end <= now:
            raise InvalidInput(
                f"ends_at: the window ended at {end.isoformat()}, which has passed; nothing to declare"
            )
        return
    problem = recurrence_problem(window)
    if problem is not None:
        raise InvalidInput(f"repeat: {problem}")
    first = first_occurrence(window)
    current = occurrence_at(window, now)
    if first is None or (current is None and next_occurrence(window, now) is None):
        raise InvalidInput("repeat: the rule has no occurrence from now on (its UNTIL or COUNT has passed)")
    if first[0] - now > MAX_AHEAD:
        raise InvalidInput(
            f"repeat: the first occurrence ({first[0].isoformat()}) is more than {MAX_AHEAD.days} days away"
        )
    previous = first
    for occurrence in upcoming(window, first[0], OVERLAP_CHECKS):
        if occurrence[0] < previous[1]:
            raise InvalidInput(
                f"minutes: occurrences would overlap (one starting {previous[0].isoformat()} runs past"
                f" the next at {occurrence[0].isoformat()}); make each shorter than the gap between them"
            )
        previous = occurrence


def _span(duration: timedelta) -> str:
    hours = duration.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"
