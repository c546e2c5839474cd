"""Recurrence rules, pure: checking them, and expanding them in local wall-clock time."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from standby.detect.recurrence import expand, local_time, parse_recurrence
from standby.errors import PlanInvalid
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.time_zones import time_zone


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("", "empty"),
        ("FREQ=FORTNIGHTLY", "not a frequency"),
        ("FREQ=MINUTELY", "at most daily"),
        ("BYDAY=SU", "no FREQ"),
        ("FREQ=DAILY;FOO=1", "not an RFC 5545"),
        ("FREQ=DAILY;DTSTART=20260101T000000", "DTSTART"),
        ("FREQ=DAILY;COUNT=2;UNTIL=20270101", "not both"),
        ("FREQ=DAILY;COUNT=99999", "COUNT"),
        ("FREQ=DAILY;UNTIL=2027", "UNTIL"),
        ("FREQ=WEEKLY;BYDAY=XX", "not a recurrence rule"),
        ("FREQ=DAILY;FREQ=WEEKLY", "twice"),
    ],
)
def test_bad_rules_say_what_is_wrong(rule: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_recurrence(rule)


def test_rules_are_stored_upper_case_without_the_prefix() -> None:
    assert parse_recurrence(" rrule:freq=weekly;byday=su ") == "FREQ=WEEKLY;BYDAY=SU"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("FREQ=DAILY;BYHOUR=99999999999999999999", "is not a recurrence rule"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL must be a whole number from 1 to 1000"),
        ("FREQ=HOURLY", "repeats at most daily"),
        ("FREQ=DAILY;COUNT=3;UNTIL=20270101", "not both"),
        ("FREQ=DAILY;DTSTART=20260101T000000", "DTSTART"),
    ],
)
def test_a_plan_with_a_bad_repeat_says_where_and_why(rule: str, message: str) -> None:
    text = reference_plan_text().replace('"FREQ=MONTHLY;BYDAY=1SU"', f'"{rule}"')
    with pytest.raises(PlanInvalid) as caught:
        load_plan_text(text)
    (problem,) = caught.value.problems
    line = text.splitlines()[problem.line - 1]
    assert "repeat:" in line and message in problem.message


def test_an_expansion_is_made_once_and_lists_local_starts() -> None:
    start = datetime(2026, 3, 1, 1, 30)
    expansion = expand("FREQ=WEEKLY;BYDAY=SU", start, "Europe/London")
    assert expand("FREQ=WEEKLY;BYDAY=SU", start, "Europe/London") is expansion
    assert expansion.problem is None and expansion.first == start
    # Wall-clock times, even one the spring-forward night skips (29 March, 01:30).
    assert list(expansion.between(datetime(2026, 3, 20), datetime(2026, 4, 1))) == [
        datetime(2026, 3, 22, 1, 30),
        datetime(2026, 3, 29, 1, 30),
    ]


def test_an_expansion_that_cannot_occur_says_why() -> None:
    start = datetime(2026, 1, 1, 2)
    assert "not a time zone" in (expand("FREQ=DAILY", start, "Mars/Olympus").problem or "")
    never = expand("FREQ=DAILY;UNTIL=20251231", start, "Europe/London")
    assert never.first is None and "never occurs" in (never.problem or "")
    assert list(never.onwards(start)) == []


def test_time_zones_and_local_times() -> None:
    london = time_zone("Europe/London")
    assert london == ZoneInfo("Europe/London")
    assert local_time(datetime(2026, 7, 1, 12, tzinfo=UTC), london) == datetime(2026, 7, 1, 13)
    with pytest.raises(ValueError, match="IANA"):
        time_zone("Mars/Olympus")
