"""The centre's clock writes every time one way: weekday, day, month and time in the plan's zone,
the year only when it is not this year."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from standby.errors import InvalidInput
from standby.web.pages.centre_clock import CentreClock, clock_for, form_time

NOW = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
LONDON = CentreClock(None, ZoneInfo("Europe/London"), NOW)


def test_a_time_this_year_is_written_with_its_weekday_in_the_centres_zone() -> None:
    assert LONDON.when(datetime(2026, 6, 15, 9, 30, tzinfo=UTC)) == "Mon 15 Jun 10:30"
    assert LONDON.when(datetime(2026, 6, 15, 9, 30, 7, tzinfo=UTC), seconds=True) == "Mon 15 Jun 10:30:07"
    assert LONDON.clock(datetime(2026, 6, 15, 9, 30, tzinfo=UTC)) == "10:30"
    assert LONDON.field(datetime(2026, 6, 15, 9, 30, tzinfo=UTC)) == "2026-06-15T10:30"
    assert LONDON.when(None) == "" and LONDON.field(None) == "" and LONDON.clock(None) == ""


def test_a_time_of_another_year_says_the_year() -> None:
    assert LONDON.when(datetime(2025, 12, 31, 23, 0, tzinfo=UTC)) == "Wed 31 Dec 2025 23:00"
    # New Year's Eve in UTC is already next year where the centre is.
    tokyo = CentreClock(None, ZoneInfo("Asia/Tokyo"), datetime(2027, 1, 1, 1, tzinfo=UTC))
    assert tokyo.when(datetime(2026, 12, 31, 16, tzinfo=UTC)) == "Fri 01 Jan 01:00"


def test_without_a_plan_the_clock_is_utc_and_names_actors_by_their_name() -> None:
    clock = clock_for(None, NOW)
    assert clock.zone.key == "UTC" and clock.organisation is None and clock.queues() == []
    assert clock.person("token:pager-bot") == "pager-bot" and clock.person(None) == ""
    assert clock.queue_name("billing") == "billing"
    assert clock.when(NOW) == "Mon 15 Jun 09:30"


def test_a_typed_time_is_read_or_refused_naming_the_field() -> None:
    assert form_time(" 2026-06-15T10:30 ", "from") == datetime(2026, 6, 15, 10, 30)
    with pytest.raises(InvalidInput, match="to: give a date and time"):
        form_time("  ", "to")
    with pytest.raises(InvalidInput, match="from: 'soon' is not a date and time"):
        form_time("soon", "from")
