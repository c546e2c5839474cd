"""Maintenance windows, pure: occurrences in local wall-clock time, DST, cheap lookups."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from _plans import reference_plan
from dateutil.rrule import rrulestr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from standby.detect.maintenance import (
    Window,
    active,
    covered_components,
    first_occurrence,
    next_occurrence,
    occurrence_at,
    recurrence_problem,
    upcoming,
    windows_from_plan,
)

LONDON = ZoneInfo("Europe/London")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def window(
    starts: datetime,
    minutes: float,
    repeat: str | None = None,
    components: frozenset[str] = frozenset(),
    zone: str = "Europe/London",
    key: str = "api:1",
) -> Window:
    return Window(key, "work", components, starts, timedelta(minutes=minutes), repeat, zone, "api")


def test_a_one_off_covers_its_start_and_not_its_end() -> None:
    w = window(utc(2026, 6, 20, 22), 90)
    assert occurrence_at(w, utc(2026, 6, 20, 21, 59, 59)) is None
    assert occurrence_at(w, utc(2026, 6, 20, 22)) == (utc(2026, 6, 20, 22), utc(2026, 6, 20, 23, 30))
    assert occurrence_at(w, utc(2026, 6, 20, 23, 29, 59)) is not None
    assert occurrence_at(w, utc(2026, 6, 20, 23, 30)) is None
    assert next_occurrence(w, utc(2026, 6, 20)) == (utc(2026, 6, 20, 22), utc(2026, 6, 20, 23, 30))
    assert next_occurrence(w, utc(2026, 6, 20, 22)) is None
    assert first_occurrence(w) == (utc(2026, 6, 20, 22), utc(2026, 6, 20, 23, 30))


def test_a_daily_window_across_midnight() -> None:
    w = window(datetime(2026, 1, 10, 23, 30, tzinfo=LONDON), 60, "FREQ=DAILY")
    assert occurrence_at(w, utc(2026, 1, 15, 0, 15)) == (utc(2026, 1, 14, 23, 30), utc(2026, 1, 15, 0, 30))
    assert occurrence_at(w, utc(2026, 1, 15, 0, 30)) is None
    assert occurrence_at(w, utc(2026, 1, 10, 0, 15)) is None  # before the first start
    # In summer the same wall time is 22:30 UTC.
    assert occurrence_at(w, utc(2026, 7, 1, 23, 0)) == (utc(2026, 7, 1, 22, 30), utc(2026, 7, 1, 23, 30))
    assert next_occurrence(w, utc(2026, 7, 1, 23, 0)) == (utc(2026, 7, 2, 22, 30), utc(2026, 7, 2, 23, 30))


def test_a_weekly_window_on_two_days() -> None:
    w = window(datetime(2026, 3, 2, 6, 0, tzinfo=LONDON), 30, "FREQ=WEEKLY;BYDAY=MO,TH")
    assert occurrence_at(w, utc(2026, 3, 5, 6, 10)) is not None  # Thursday
    assert occurrence_at(w, utc(2026, 3, 4, 6, 10)) is None  # Wednesday
    assert [s for s, _ in upcoming(w, utc(2026, 3, 2, 7), 3)] == [
        utc(2026, 3, 5, 6),
        utc(2026, 3, 9, 6),
        utc(2026, 3, 12, 6),
    ]


def test_the_reference_plans_first_sunday_window() -> None:
    (w,) = windows_from_plan(reference_plan())
    assert w.key == "plan:crm-patching" and w.components == frozenset({"crm"})
    assert w.source == "plan" and w.timezone == "Europe/London"
    # 2026-07-05 is the first Sunday of July: 02:00 BST is 01:00 UTC.
    assert occurrence_at(w, utc(2026, 7, 5, 1, 30)) == (utc(2026, 7, 5, 1), utc(2026, 7, 5, 3))
    assert occurrence_at(w, utc(2026, 7, 12, 1, 30)) is None  # the second Sunday
    # 2026-12-06 is the first Sunday of December: 02:00 GMT is 02:00 UTC.
    assert next_occurrence(w, utc(2026, 11, 2)) == (utc(2026, 12, 6, 2), utc(2026, 12, 6, 4))
    assert occurrence_at(w, utc(2026, 12, 6, 3, 59)) is not None


def test_covered_components_and_active() -> None:
    patching = window(utc(2026, 6, 1), 60, components=frozenset({"crm", "gone"}), key="api:1")
    everything = window(utc(2026, 6, 1, 0, 30), 60, key="api:2")
    ids = ["crm", "acd", "ivr"]
    assert covered_components([patching, everything], utc(2026, 6, 1, 0, 10), ids) == {"crm"}
    assert covered_components([patching, everything], utc(2026, 6, 1, 0, 45), ids) == {"crm", "acd", "ivr"}
    assert covered_components([patching, everything], utc(2026, 6, 1, 2), ids) == frozenset()
    assert active([patching, everything], utc(2026, 6, 1, 1, 15)) == [everything]
    assert patching.covers("crm") and not patching.covers("acd") and everything.covers("acd")


def test_spring_forward_keeps_the_local_wall_time() -> None:
    # London: 2026-03-29 at 01:00 GMT the clocks go to 02:00 BST.
    w = window(datetime(2026, 3, 1, 2, 0, tzinfo=LONDON), 60, "FREQ=WEEKLY;BYDAY=SU")
    assert occurrence_at(w, utc(2026, 3, 22, 2, 30)) == (utc(2026, 3, 22, 2), utc(2026, 3, 22, 3))
    assert occurrence_at(w, utc(2026, 3, 29, 1, 30)) == (utc(2026, 3, 29, 1), utc(2026, 3, 29, 2))
    assert occurrence_at(w, utc(2026, 3, 29, 2, 30)) is None
    # 01:30 does not exist that night: the occurrence starts after the gap, at 02:30 BST.
    skipped = window(datetime(2026, 3, 1, 1, 30, tzinfo=LONDON), 30, "FREQ=WEEKLY;BYDAY=SU")
    assert occurrence_at(skipped, utc(2026, 3, 29, 1, 40)) == (utc(2026, 3, 29, 1, 30), utc(2026, 3, 29, 2))
    assert next_occurrence(skipped, utc(2026, 3, 29, 2)) == (utc(2026, 4, 5, 0, 30), utc(2026, 4, 5, 1))


def test_fall_back_keeps_the_local_wall_time_and_takes_the_first_of_a_repeated_hour() -> None:
    # London: 2026-10-25 at 02:00 BST the clocks go back to 01:00 GMT; 01:30 happens twice.
    w = window(datetime(2026, 10, 4, 1, 30, tzinfo=LONDON), 20, "FREQ=WEEKLY;BYDAY=SU")
    assert occurrence_at(w, utc(2026, 10, 18, 0, 40)) == (utc(2026, 10, 18, 0, 30), utc(2026, 10, 18, 0, 50))
    assert occurrence_at(w, utc(2026, 10, 25, 0, 40)) == (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 0, 50))
    assert occurrence_at(w, utc(2026, 10, 25, 1, 40)) is None  # the second 01:30 is not another one
    assert occurrence_at(w, utc(2026, 11, 1, 1, 40)) == (utc(2026, 11, 1, 1, 30), utc(2026, 11, 1, 1, 50))
    # A window spanning the change lasts its minutes of real time.
    long = window(datetime(2026, 10, 25, 0, 30, tzinfo=LONDON), 180)
    assert occurrence_at(long, utc(2026, 10, 25, 2, 29)) is not None
    assert occurrence_at(long, utc(2026, 10, 25, 2, 30)) is None


def test_a_window_started_years_ago_is_cheap_to_look_up() -> None:
    w = window(datetime(1990, 1, 1, 2, 0, tzinfo=LONDON), 30, "FREQ=DAILY;BYHOUR=2,14")
    now = utc(2026, 6, 1, 13, 10)
    assert occurrence_at(w, now) == (utc(2026, 6, 1, 13), utc(2026, 6, 1, 13, 30))
    started = time.perf_counter()
    for minute in range(200):
        occurrence_at(w, now + timedelta(minutes=minute))
        next_occurrence(w, now + timedelta(minutes=minute))
    # Generous: walking 36 years of occurrences each time would take seconds.
    assert time.perf_counter() - started < 2


def test_a_rule_that_never_occurs_is_found_out_once_and_quickly() -> None:
    w = window(datetime(2026, 1, 1, 2, 0, tzinfo=LONDON), 30, "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30")
    started = time.perf_counter()
    assert occurrence_at(w, utc(2026, 2, 28)) is None
    assert next_occurrence(w, utc(2026, 2, 28)) is None
    assert first_occurrence(w) is None
    assert time.perf_counter() - started < 5
    assert "never occurs" in (recurrence_problem(w) or "")


def test_count_and_until() -> None:
    counted = window(datetime(2026, 5, 4, 2, 0, tzinfo=LONDON), 30, "FREQ=WEEKLY;COUNT=3")
    assert len(upcoming(counted, utc(2026, 1, 1), 10)) == 3
    assert next_occurrence(counted, utc(2026, 5, 18, 2)) is None
    # UNTIL in UTC (with Z) is taken as the local time it names; a date alone includes that day.
    until = window(datetime(2026, 5, 4, 2, 0, tzinfo=LONDON), 30, "FREQ=DAILY;UNTIL=20260506T010000Z")
    starts = [s for s, _ in upcoming(until, utc(2026, 1, 1), 10)]
    assert starts == [utc(2026, 5, 4, 1), utc(2026, 5, 5, 1), utc(2026, 5, 6, 1)]
    dated = window(datetime(2026, 5, 4, 2, 0, tzinfo=LONDON), 30, "FREQ=DAILY;UNTIL=20260505")
    assert len(upcoming(dated, utc(2026, 1, 1), 10)) == 2


def test_a_plan_window_with_an_offset_and_an_unusable_rule() -> None:
    w = window(datetime(2026, 6, 1, 2, 0, tzinfo=UTC), 30, "FREQ=HOURLY")
    assert occurrence_at(w, utc(2026, 6, 1, 2, 10)) is None
    assert "at most daily" in (recurrence_problem(w) or "")
    # An offset start repeats at its wall time in the window's zone (03:00 BST).
    offset = window(datetime(2026, 6, 1, 2, 0, tzinfo=UTC), 30, "FREQ=DAILY")
    assert occurrence_at(offset, utc(2026, 12, 1, 3, 10)) == (utc(2026, 12, 1, 3), utc(2026, 12, 1, 3, 30))


def test_times_without_a_zone_are_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        occurrence_at(window(utc(2026, 6, 1), 30), datetime(2026, 6, 1))


# --- property: the quick lookups agree with walking every occurrence from the start ---

ZONES = ["Europe/London", "America/New_York", "Australia/Lord_Howe", "UTC", "Asia/Kolkata"]
_DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


@st.composite
def rules(draw: st.DrawFn) -> str:
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]))
    parts = [f"FREQ={freq}", f"INTERVAL={draw(st.integers(1, 3))}"]
    if freq == "WEEKLY" and draw(st.booleans()):
        days = draw(st.lists(st.sampled_from(_DAYS), min_size=1, max_size=3, unique=True))
        parts.append("BYDAY=" + ",".join(days))
        if draw(st.booleans()):
            parts.append(f"WKST={draw(st.sampled_from(_DAYS))}")
    if freq == "MONTHLY" and draw(st.booleans()):
        if draw(st.booleans()):
            parts.append(f"BYDAY={draw(st.sampled_from(['1', '2', '-1']))}{draw(st.sampled_from(_DAYS))}")
        else:
            parts.append(f"BYMONTHDAY={draw(st.integers(1, 28))}")
    if freq == "YEARLY" and draw(st.booleans()):
        parts.append(f"BYMONTH={draw(st.integers(1, 12))}")
    if draw(st.booleans()):
        hours = draw(st.lists(st.integers(0, 23), min_size=1, max_size=3, unique=True))
        parts.append("BYHOUR=" + ",".join(str(h) for h in hours))
    return ";".join(parts)


def brute_force(w: Window, now: datetime) -> tuple[datetime, datetime] | None:
    """Walk every occurrence from the first start, localised the same way."""
    assert w.recurrence is not None
    zone = ZoneInfo(w.timezone)
    local_start = w.starts.replace(tzinfo=None)
    best = None
    for local in rrulestr(w.recurrence, dtstart=local_start):
        start = local.replace(tzinfo=zone).astimezone(UTC)
        if start > now + timedelta(days=2):
            break
        if start <= now < start + w.duration and (best is None or start > best[0]):
            best = (start, start + w.duration)
    return best


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rule=rules(),
    zone=st.sampled_from(ZONES),
    start=st.datetimes(min_value=datetime(2019, 1, 1), max_value=datetime(2024, 12, 31)),
    minutes=st.integers(1, 3 * 24 * 60),
    offset=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3 * 366)),
)
def test_occurrence_at_agrees_with_walking_every_occurrence(
    rule: str, zone: str, start: datetime, minutes: int, offset: timedelta
) -> None:
    local_start = start.replace(microsecond=0)
    w = window(local_start.replace(tzinfo=ZoneInfo(zone)), minutes, rule, zone=zone)
    now = local_start.replace(tzinfo=UTC) + offset
    assert occurrence_at(w, now) == brute_force(w, now)
    following = next_occurrence(w, now)
    if following is not None:
        assert following[0] > now
        assert occurrence_at(w, following[0]) is not None
        just_before = following[0] - timedelta(seconds=1)
        assert occurrence_at(w, just_before) == brute_force(w, just_before)
