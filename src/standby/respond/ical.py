"""An iCalendar feed (RFC 5545) of a rotation's shifts, for calendar apps to subscribe to.

Pure: the shifts, names and the time come in; the text goes out.

Written by hand rather than with the `icalendar` package: a feed of VEVENTs needs
five properties, text escaping and line folding, some sixty lines, where the package
would be a dependency (and its own time-zone handling) for the server to carry. Times
are written in UTC (`DTSTART:20260615T080000Z`), which every calendar app shows in its
own zone, so no VTIMEZONE block is needed and a daylight-saving change cannot be
misread.

Each shift's UID is made from the rotation, its start, the person and (for an
override) the override's id, so a calendar app refreshing the feed updates the events
it already has; a shift that changes (an override added) gets a new UID and the old
event disappears from the feed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from standby.respond.oncall import Shift

PRODID = "-//Standby//On call//EN"
MAX_OCTETS = 75
CRLF = "\r\n"


def rotation_calendar(
    *,
    rotation_id: str,
    shifts: Iterable[Shift],
    names: Mapping[str, str],
    now: datetime,
    calendar_name: str | None = None,
) -> str:
    """The VCALENDAR of `shifts`, with CRLF line ends, folded at 75 octets.

    `names` maps person ids to names (a missing one shows the id); `now` is DTSTAMP.
    """
    stamp = _utc(now)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(calendar_name or f'On call: {rotation_id}')}",
    ]
    for shift in shifts:
        name = names.get(shift.person_id, shift.person_id)
        detail = f"{rotation_id}, override" if shift.override else rotation_id
        description = f"{name} is on call for the rotation {rotation_id}" + (
            " (an override)." if shift.override else "."
        )
        lines += [
            "BEGIN:VEVENT",
            f"UID:{shift_uid(shift)}",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{_utc(shift.starts)}",
            f"DTEND:{_utc(shift.ends)}",
            f"SUMMARY:{escape_text(f'On call: {name} ({detail})')}",
            f"DESCRIPTION:{escape_text(description)}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + CRLF for line in lines)


def shift_uid(shift: Shift) -> str:
    """A UID that stays the same for the same shift from one refresh of the feed to the next."""
    tail = f"-o{shift.override_id}" if shift.override else ""
    return f"{shift.rotation_id}-{_utc(shift.starts)}-{shift.person_id}{tail}@standby"


def escape_text(value: str) -> str:
    r"""A TEXT value (RFC 5545 3.3.11): backslash, semicolon and comma escaped, newlines as \n."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """The line folded (RFC 5545 3.1): at most 75 octets of UTF-8 a line, never inside a character."""
    pieces: list[str] = []
    current, size, limit = "", 0, MAX_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            pieces.append(current)
            # A continuation line starts with a space, which counts towards its 75 octets.
            current, size, limit = "", 0, MAX_OCTETS - 1
        current += char
        size += width
    pieces.append(current)
    return (CRLF + " ").join(pieces)


def _utc(when: datetime) -> str:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{when!r} has no time zone")
    return when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


__all__ = ["escape_text", "fold", "rotation_calendar", "shift_uid"]
