"""The iCalendar feed: structure, UIDs, escaping, folding, and parsing it back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from _plans import reference_plan

from standby.respond.ical import escape_text, fold, rotation_calendar, shift_uid
from standby.respond.oncall import Override, Shift, shifts_between

NOW = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)


def unfold(text: str) -> list[str]:
    """The content lines of an iCalendar text (RFC 5545 3.1), checking CRLF line ends."""
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", "")
    return text.replace("\r\n ", "").split("\r\n")[:-1]


def unescape(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            out.append("\n" if value[i + 1] in "nN" else value[i + 1])
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def events(text: str) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    for line in unfold(text):
        name, _, value = line.partition(":")
        if line == "BEGIN:VEVENT":
            found.append({})
        elif found and line != "END:VEVENT" and "END" not in found[-1]:
            found[-1][name] = value
        if line == "END:VEVENT":
            found[-1]["END"] = "1"
    return found


def feed() -> tuple[str, list[Shift]]:
    plan = reference_plan()
    rotation = plan.rotations[0]
    cover = Override("amara", NOW + timedelta(days=1), NOW + timedelta(days=2), NOW, 5)
    start, end = NOW - timedelta(days=7), NOW + timedelta(weeks=4)
    shifts = shifts_between(rotation, [cover], start, end, "Europe/London")
    names = {p.id: p.name for p in plan.people}
    return rotation_calendar(rotation_id=rotation.id, shifts=shifts, names=names, now=NOW), shifts


def test_the_feed_is_a_calendar_of_one_event_per_shift() -> None:
    text, shifts = feed()
    lines = unfold(text)
    assert lines[:3] == ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Standby//On call//EN"]
    assert lines[-1] == "END:VCALENDAR"
    found = events(text)
    # dev, lin cut by amara's override, dev, lin, dev, lin: the past week and four ahead.
    assert len(found) == len(shifts) == 8
    first = found[0]
    assert first["DTSTART"] == "20260608T080000Z" and first["DTEND"] == "20260615T080000Z"
    assert first["DTSTAMP"] == "20260615T093000Z"
    assert unescape(first["SUMMARY"]) == "On call: Dev Patel (platform-oncall)"
    covered = [e for e in found if "override" in e["SUMMARY"]]
    assert [unescape(e["SUMMARY"]) for e in covered] == ["On call: Amara Okafor (platform-oncall, override)"]
    assert len({e["UID"] for e in found}) == len(found)


def test_uids_are_stable_from_one_refresh_to_the_next() -> None:
    text, shifts = feed()
    again, _ = feed()
    assert [e["UID"] for e in events(text)] == [e["UID"] for e in events(again)]
    assert shift_uid(shifts[0]) == "platform-oncall-20260608T080000Z-dev@standby"
    assert shift_uid(shifts[2]) == "platform-oncall-20260616T093000Z-amara-o5@standby"


def test_text_is_escaped() -> None:
    assert escape_text("a,b;c\\d\ne\r\nf") == "a\\,b\\;c\\\\d\\ne\\nf"
    shift = Shift("r", "x", NOW, NOW + timedelta(hours=1), False)
    text = rotation_calendar(rotation_id="r", shifts=[shift], names={"x": 'Reid, Sam; "Jr"\nII'}, now=NOW)
    (event,) = events(text)
    assert unescape(event["SUMMARY"]) == 'On call: Reid, Sam; "Jr"\nII (r)'
    assert "\\," in event["SUMMARY"] and "\\;" in event["SUMMARY"] and "\\n" in event["SUMMARY"]


def test_long_lines_are_folded_at_75_octets_never_inside_a_character() -> None:
    line = "SUMMARY:" + "é" * 100 + "x" * 50
    folded = fold(line)
    pieces = folded.split("\r\n")
    assert all(len(p.encode("utf-8")) <= 75 for p in pieces)
    assert all(p.startswith(" ") for p in pieces[1:])
    assert folded.replace("\r\n ", "") == line
    pieces[0].encode("utf-8").decode("utf-8")  # each piece is whole UTF-8
    assert fold("short") == "short"
    shift = Shift("r", "x", NOW, NOW + timedelta(hours=1), False)
    text = rotation_calendar(rotation_id="r", shifts=[shift], names={"x": "Ł" * 80}, now=NOW)
    assert all(len(p.encode("utf-8")) <= 75 for p in text.split("\r\n"))
    (event,) = events(text)
    assert unescape(event["SUMMARY"]) == f"On call: {'Ł' * 80} (r)"


def test_the_icalendar_package_reads_it_back() -> None:
    icalendar = pytest.importorskip("icalendar")
    text, shifts = feed()
    calendar = icalendar.Calendar.from_ical(text)
    parsed = [c for c in calendar.walk() if c.name == "VEVENT"]
    assert len(parsed) == len(shifts)
    for event, shift in zip(parsed, shifts, strict=True):
        assert event.decoded("DTSTART") == shift.starts
        assert event.decoded("DTEND") == shift.ends
        assert str(event["UID"]) == shift_uid(shift)
    assert str(parsed[0]["SUMMARY"]) == "On call: Dev Patel (platform-oncall)"
