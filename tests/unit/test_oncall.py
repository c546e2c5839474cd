"""On call, pure: turns in local wall-clock time across DST, start dates, cycling, overrides."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from _plans import reference_plan
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from standby.plan.people import Rotation
from standby.respond.oncall import (
    DEFAULT_START,
    Override,
    Shift,
    first_handoff_local,
    next_handoff,
    on_call_at,
    shifts_between,
    turn_starts,
)

LONDON = "Europe/London"
LONDON_ZONE = ZoneInfo(LONDON)
CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def london(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=LONDON_ZONE, fold=fold)  # type: ignore[misc]


def rotation(
    members: list[str] | None = None,
    *,
    weekday: str = "monday",
    at: str = "09:00",
    length_days: int = 7,
    start: str | None = None,
    rid: str = "r",
) -> Rotation:
    data: dict[str, Any] = {
        "id": rid,
        "members": members or ["dev", "lin"],
        "handoff": {"weekday": weekday, "time": at},
        "length_days": length_days,
    }
    if start is not None:
        data["start"] = start
    return Rotation.model_validate(data)


def override(
    person: str, starts: datetime, ends: datetime, *, created: datetime = CREATED, oid: int = 1
) -> Override:
    return Override(person, starts, ends, created, oid)


def who(rot: Rotation, at: datetime, overrides: list[Override] | None = None, zone: str = LONDON) -> str:
    return on_call_at(rot, overrides or [], at, zone).person_id


# --- turns ------------------------------------------------------------------------------


def test_the_reference_rotation_starts_on_its_default_monday() -> None:
    rot = reference_plan().rotations[0]
    assert rot.start is None and date(2026, 1, 5) == DEFAULT_START and DEFAULT_START.weekday() == 0
    first = on_call_at(rot, [], utc(2026, 1, 5, 9, 0), LONDON)
    assert first == Shift("platform-oncall", "dev", utc(2026, 1, 5, 9), utc(2026, 1, 12, 9), False)
    assert who(rot, utc(2026, 1, 5, 8, 59)) == "lin"  # before the start the cycle runs backwards
    assert who(rot, utc(2026, 1, 12, 9, 0)) == "lin"
    assert who(rot, utc(2026, 1, 19, 9, 0)) == "dev"


def test_the_handoff_stays_at_0900_local_across_both_changes() -> None:
    rot = rotation()
    shifts = shifts_between(rot, [], utc(2026, 1, 5, 9), utc(2027, 1, 4, 9), LONDON)
    assert len(shifts) == 52
    for shift in shifts:
        local = shift.starts.astimezone(LONDON_ZONE)
        assert (local.weekday(), local.hour, local.minute) == (0, 9, 0), shift
    hours = {shift.starts.date(): shift.hours for shift in shifts}
    # Spring forward on Sunday 29 March 2026: the turn from 23 March loses an hour.
    assert hours[date(2026, 3, 23)] == 167
    # Fall back on Sunday 25 October 2026: the turn from 19 October gains one.
    assert hours[date(2026, 10, 19)] == 169
    assert sorted(set(hours.values())) == [167, 168, 169]
    assert [s.hours for s in shifts].count(167) == 1 and [s.hours for s in shifts].count(169) == 1
    spring = on_call_at(rot, [], utc(2026, 3, 29, 12), LONDON)
    assert spring.starts == london(2026, 3, 23, 9) and spring.ends == london(2026, 3, 30, 9)
    assert spring.ends == utc(2026, 3, 30, 8)  # 09:00 BST
    autumn = on_call_at(rot, [], utc(2026, 10, 25, 12), LONDON)
    assert autumn.starts == utc(2026, 10, 19, 8) and autumn.ends == utc(2026, 10, 26, 9)


def test_a_handoff_the_clocks_skip_happens_late_by_the_gap() -> None:
    # 01:30 on Sunday 29 March 2026 does not exist in London: the clocks go 01:00 -> 02:00.
    rot = rotation(["a", "b"], weekday="sunday", at="01:30", start="2026-03-01")
    assert turn_starts(rot, LONDON, 4) == utc(2026, 3, 29, 1, 30)  # 01:30 GMT = 02:30 BST
    assert who(rot, utc(2026, 3, 29, 1, 29)) == "b"
    assert who(rot, utc(2026, 3, 29, 1, 30)) == "a"
    before, during, after = shifts_between(rot, [], utc(2026, 3, 25), utc(2026, 4, 6), LONDON)
    assert before.hours == 168  # 22 March 01:30 GMT to 29 March 01:30 GMT
    assert during.starts.astimezone(LONDON_ZONE).strftime("%H:%M %Z") == "02:30 BST"
    assert during.hours == 167  # to 5 April 01:30 BST
    assert after.starts.astimezone(LONDON_ZONE).strftime("%H:%M") == "01:30"


def test_a_handoff_the_clocks_repeat_is_the_first_of_the_two() -> None:
    # 01:30 on Sunday 25 October 2026 happens twice in London: BST, then GMT.
    rot = rotation(["a", "b"], weekday="sunday", at="01:30", start="2026-10-04")
    # (Aware times in a repeated hour never equal another zone's: PEP 495. Compare in UTC.)
    assert turn_starts(rot, LONDON, 3) == london(2026, 10, 25, 1, 30, fold=0).astimezone(UTC)
    assert turn_starts(rot, LONDON, 3) == utc(2026, 10, 25, 0, 30)
    assert who(rot, utc(2026, 10, 25, 0, 29)) == "a"
    assert who(rot, utc(2026, 10, 25, 0, 30)) == "b"
    assert who(rot, london(2026, 10, 25, 1, 45, fold=1)) == "b"  # the second 01:45 (GMT)
    shift = on_call_at(rot, [], utc(2026, 10, 25, 3), LONDON)
    assert shift.hours == 169


def test_members_cycle_in_order_with_daily_turns() -> None:
    rot = rotation(["a", "b", "c"], weekday="wednesday", at="18:00", length_days=1, start="2026-06-01")
    assert first_handoff_local(rot) == datetime(2026, 6, 3, 18, 0)
    shifts = shifts_between(rot, [], london(2026, 6, 3, 18), london(2026, 6, 10, 18), LONDON)
    assert [s.person_id for s in shifts] == ["a", "b", "c", "a", "b", "c", "a"]
    assert all(s.hours == 24 for s in shifts)
    assert who(rot, london(2026, 6, 3, 17, 59)) == "c"


def test_the_start_date_is_the_first_handoff_on_or_after_it() -> None:
    wednesday = rotation(["a", "b"], start="2026-02-04")  # handoff Mondays 09:00
    assert first_handoff_local(wednesday) == datetime(2026, 2, 9, 9, 0)
    assert who(wednesday, london(2026, 2, 9, 9)) == "a"
    assert who(wednesday, london(2026, 2, 9, 8, 59)) == "b"
    monday = rotation(["a", "b"], start="2026-02-09")
    assert first_handoff_local(monday) == datetime(2026, 2, 9, 9, 0)
    midnight = rotation(["a", "b"], at="24:00", start="2026-02-09")
    assert first_handoff_local(midnight) == datetime(2026, 2, 10, 0, 0)


def test_a_rotation_of_one_never_hands_off() -> None:
    rot = rotation(["solo"])
    assert next_handoff(rot, [], utc(2026, 6, 1), LONDON) is None
    cover = override("dev", utc(2026, 9, 1), utc(2026, 9, 2))
    assert next_handoff(rot, [cover], utc(2026, 6, 1), LONDON) == Shift(
        "r", "dev", utc(2026, 9, 1), utc(2026, 9, 2), True, 1
    )


def test_next_handoff_is_the_next_person_not_the_next_piece() -> None:
    rot = rotation()
    now = utc(2026, 6, 16, 12)  # lin's turn, 15 June 08:00 UTC to 22 June 08:00 UTC
    assert who(rot, now) == "lin"
    same = override("lin", utc(2026, 6, 22, 8), utc(2026, 6, 23, 8))
    following = next_handoff(rot, [same], now, LONDON)
    assert following == Shift("r", "dev", utc(2026, 6, 23, 8), utc(2026, 6, 29, 8), False)


def test_times_must_be_aware_and_spans_forward() -> None:
    rot = rotation()
    with pytest.raises(ValueError, match="no time zone"):
        on_call_at(rot, [], datetime(2026, 6, 1), LONDON)
    with pytest.raises(ValueError, match="must be after start"):
        shifts_between(rot, [], utc(2026, 6, 2), utc(2026, 6, 1), LONDON)
    with pytest.raises(ValueError, match="not a time zone"):
        on_call_at(rot, [], utc(2026, 6, 1), "Mars/Olympus")


# --- overrides ----------------------------------------------------------------------------


def test_an_override_inside_a_turn_splits_it() -> None:
    rot = rotation()  # lin from 15 June 08:00 UTC to 22 June 08:00 UTC
    sick = override("amara", utc(2026, 6, 17, 8), utc(2026, 6, 18, 8))
    shifts = shifts_between(rot, [sick], utc(2026, 6, 16), utc(2026, 6, 20), LONDON)
    assert shifts == [
        Shift("r", "lin", utc(2026, 6, 15, 8), utc(2026, 6, 17, 8), False),
        Shift("r", "amara", utc(2026, 6, 17, 8), utc(2026, 6, 18, 8), True, 1),
        Shift("r", "lin", utc(2026, 6, 18, 8), utc(2026, 6, 22, 8), False),
    ]
    assert on_call_at(rot, [sick], utc(2026, 6, 16), LONDON).ends == utc(2026, 6, 17, 8)
    assert who(rot, utc(2026, 6, 17, 12), [sick]) == "amara"


def test_an_override_across_a_handoff_cuts_both_turns() -> None:
    rot = rotation()
    swap = override("sam", utc(2026, 6, 21, 20), utc(2026, 6, 23, 8))
    shifts = shifts_between(rot, [swap], utc(2026, 6, 20), utc(2026, 6, 24), LONDON)
    assert [(s.person_id, s.starts, s.ends, s.override) for s in shifts] == [
        ("lin", utc(2026, 6, 15, 8), utc(2026, 6, 21, 20), False),
        ("sam", utc(2026, 6, 21, 20), utc(2026, 6, 23, 8), True),
        ("dev", utc(2026, 6, 23, 8), utc(2026, 6, 29, 8), False),
    ]


def test_overlapping_overrides_the_newest_wins_and_the_older_resumes() -> None:
    rot = rotation()
    older = override("amara", utc(2026, 6, 16), utc(2026, 6, 20), created=utc(2026, 6, 1), oid=1)
    newer = override("sam", utc(2026, 6, 17), utc(2026, 6, 18), created=utc(2026, 6, 2), oid=2)
    shifts = shifts_between(rot, [newer, older], utc(2026, 6, 16), utc(2026, 6, 21), LONDON)
    assert [(s.person_id, s.starts, s.ends, s.override_id) for s in shifts] == [
        ("amara", utc(2026, 6, 16), utc(2026, 6, 17), 1),
        ("sam", utc(2026, 6, 17), utc(2026, 6, 18), 2),
        ("amara", utc(2026, 6, 18), utc(2026, 6, 20), 1),
        ("lin", utc(2026, 6, 20), utc(2026, 6, 22, 8), None),
    ]
    # An older override made later does not win: creation time decides, not the order given.
    late_but_old = override("jo", utc(2026, 6, 17), utc(2026, 6, 19), created=utc(2026, 5, 1), oid=3)
    assert who(rot, utc(2026, 6, 18, 12), [older, newer, late_but_old]) == "amara"
    # Made at the same moment: the larger id (made second) wins.
    twin = override("jo", utc(2026, 6, 16), utc(2026, 6, 20), created=utc(2026, 6, 1), oid=9)
    assert who(rot, utc(2026, 6, 16, 12), [older, twin]) == "jo"


def test_an_override_for_the_person_already_on_call_is_its_own_shift() -> None:
    rot = rotation()
    mine = override("lin", utc(2026, 6, 17), utc(2026, 6, 18))
    shifts = shifts_between(rot, [mine], utc(2026, 6, 16), utc(2026, 6, 19), LONDON)
    assert [(s.person_id, s.override) for s in shifts] == [("lin", False), ("lin", True), ("lin", False)]


def test_empty_overrides_are_ignored() -> None:
    rot = rotation()
    empty = override("sam", utc(2026, 6, 17), utc(2026, 6, 17))
    assert shifts_between(rot, [empty], utc(2026, 6, 16), utc(2026, 6, 19), LONDON) == shifts_between(
        rot, [], utc(2026, 6, 16), utc(2026, 6, 19), LONDON
    )


def test_a_day_the_zone_skips_leaves_no_empty_turn() -> None:
    # Samoa skipped 30 December 2011: a daily 09:00 handoff that day lasts no time.
    rot = rotation(["a", "b", "c"], weekday="monday", at="09:00", length_days=1, start="2011-12-26")
    shifts = shifts_between(rot, [], utc(2011, 12, 28), utc(2012, 1, 2), "Pacific/Apia")
    assert all(s.ends > s.starts for s in shifts)
    assert all(a.ends == b.starts for a, b in pairwise(shifts))


# --- properties ---------------------------------------------------------------------------

ZONES = [
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",
    "UTC",
    "Asia/Kolkata",
    "America/Santiago",
]
PEOPLE = ["a", "b", "c", "d", "e"]
BASE = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Rotation, list[Override], datetime, datetime, str]:
    members = draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=4))
    minutes = draw(st.integers(0, 1440))
    rot = rotation(
        members,
        weekday=draw(st.sampled_from(["monday", "wednesday", "saturday", "sunday"])),
        at=f"{minutes // 60:02d}:{minutes % 60:02d}",
        length_days=draw(st.integers(1, 15)),
        start=draw(st.dates(date(2025, 6, 1), date(2027, 6, 1))).isoformat(),
    )
    hours = st.integers(0, 24 * 400)
    overrides = []
    for oid in range(draw(st.integers(0, 5))):
        starts = BASE + timedelta(hours=draw(hours), minutes=draw(st.sampled_from([0, 15, 30])))
        ends = starts + timedelta(hours=draw(st.integers(1, 24 * 20)))
        created = BASE + timedelta(minutes=draw(st.integers(0, 10)))
        overrides.append(Override(draw(st.sampled_from(PEOPLE)), starts, ends, created, oid))
    start = BASE + timedelta(hours=draw(hours), minutes=draw(st.integers(0, 59)))
    end = start + timedelta(hours=draw(st.integers(1, 24 * 60)))
    return rot, overrides, start, end, draw(st.sampled_from(ZONES))


def _oracle(rot: Rotation, overrides: list[Override], at: datetime, zone: str) -> str:
    """Who is on call, by brute force: the newest covering override, else the last turn begun."""
    covering = [o for o in overrides if o.starts <= at < o.ends]
    if covering:
        return max(covering, key=lambda o: (o.created_at, o.id)).person_id
    index = -10
    while turn_starts(rot, zone, index) > at:
        index -= 10
    while turn_starts(rot, zone, index + 1) <= at:
        index += 1
    return rot.members[index % len(rot.members)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=8))
def test_exactly_one_person_at_every_instant_and_the_shifts_tile_the_span(
    scenario: tuple[Rotation, list[Override], datetime, datetime, str], fractions: list[float]
) -> None:
    rot, overrides, start, end, zone = scenario
    shifts = shifts_between(rot, overrides, start, end, zone)
    assert shifts, "someone is always on call"
    assert shifts[0].starts <= start and shifts[-1].ends >= end
    for shift in shifts:
        assert shift.starts < shift.ends and shift.starts.tzinfo == UTC
    for before, after in pairwise(shifts):
        assert before.ends == after.starts, (before, after)
        assert (before.person_id, before.override_id) != (after.person_id, after.override_id) or (
            not before.override
        ), "pieces of one override are merged"
    instants = [start, end - timedelta(microseconds=1)]
    instants += [start + (end - start) * f for f in fractions]
    instants += [s.starts for s in shifts if s.starts >= start]
    for at in instants:
        if not start <= at < end:
            continue
        covering = [s for s in shifts if s.starts <= at < s.ends]
        assert len(covering) == 1, at
        expected = _oracle(rot, overrides, at, zone)
        assert covering[0].person_id == expected, (at, covering, expected)
        now = on_call_at(rot, overrides, at, zone)
        assert now.person_id == expected and now.starts <= at < now.ends
        if start <= now.starts and now.ends <= end:
            assert now in shifts


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_turns_begin_at_the_handoff_wall_time_when_it_exists(
    scenario: tuple[Rotation, list[Override], datetime, datetime, str],
) -> None:
    rot, _, start, end, zone = scenario
    tz = ZoneInfo(zone)
    expected = rot.handoff.time % 1440
    for shift in shifts_between(rot, [], start, end, zone):
        local = shift.starts.astimezone(tz)
        wall = datetime.combine(local.date(), time(expected // 60, expected % 60))
        round_trip = wall.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None)
        if round_trip == wall:  # the handoff's wall time exists that day
            assert (local.hour, local.minute) == (expected // 60, expected % 60), (shift, local)
        else:  # skipped by the clocks: late by the gap
            assert local.replace(tzinfo=None) > wall, (shift, local)
