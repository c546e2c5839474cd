"""The plan's small value types: ids, shares, times of day, dates, phone numbers.

Each one validates with a message a plan author understands and describes itself
in the JSON Schema the way it is written in YAML.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, WithJsonSchema

ID_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
_ID_RE = re.compile(ID_PATTERN)
_HHMM_RE = re.compile(r"^([01]?[0-9]|2[0-4]):([0-5][0-9])$")
_PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()-]{5,24}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _check_id(value: str) -> str:
    if not _ID_RE.match(value):
        raise ValueError(
            f"{value!r} is not a valid id: use lower-case letters, digits and hyphens"
            " (such as 'leeds-wan-1'), at most 64 characters"
        )
    return value


Id = Annotated[
    str,
    Field(json_schema_extra={"pattern": ID_PATTERN}),
    AfterValidator(_check_id),
]
"""A lower-case slug naming something in the plan, unique within its section."""


def _parse_clock_time(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f'expected a time of day as "HH:MM" in quotes, got {value!r}')
    match = _HHMM_RE.match(value.strip())
    if not match:
        raise ValueError(f'{value!r} is not a time of day: write it as "HH:MM", such as "08:30"')
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours == 24 and minutes != 0:
        raise ValueError(f'{value!r} is past the end of the day; the latest time is "24:00"')
    return hours * 60 + minutes


def format_clock_time(minutes: int) -> str:
    """Minutes since midnight as "HH:MM"."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


ClockTime = Annotated[
    int,
    BeforeValidator(_parse_clock_time),
    PlainSerializer(format_clock_time, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^([01]?[0-9]|2[0-4]):[0-5][0-9]$"}),
]
"""A time of day, "HH:MM" in YAML, held as minutes since midnight ("24:00" is 1440)."""


def _parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        raise ValueError(f"expected a date such as 2026-03-02, got a date and time {value!r}")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date: write it as YYYY-MM-DD, such as 2026-03-02")


PlanDate = Annotated[
    date,
    BeforeValidator(_parse_date),
    WithJsonSchema({"type": "string", "format": "date"}),
]
"""An ISO calendar date."""


def _parse_text_or_number(value: Any) -> str:
    # Versions like 4.2 arrive from YAML as numbers; they are names, not quantities.
    if isinstance(value, bool):
        raise ValueError(f"expected text, got {value!r}")
    if isinstance(value, int | float):
        return str(value)
    return value  # type: ignore[no-any-return]


VersionText = Annotated[str, BeforeValidator(_parse_text_or_number)]


def _check_phone(value: str) -> str:
    if not _PHONE_RE.match(value.strip()) or sum(c.isdigit() for c in value) < 6:
        raise ValueError(
            f"{value!r} is not a phone number: use digits with an optional leading +,"
            ' such as "+44 20 7946 0100"'
        )
    return value


Phone = Annotated[str, BeforeValidator(_parse_text_or_number), AfterValidator(_check_phone)]


def _check_email(value: str) -> str:
    if not _EMAIL_RE.match(value):
        raise ValueError(f"{value!r} is not an email address")
    return value


Email = Annotated[str, AfterValidator(_check_email)]

Share = Annotated[float, Field(ge=0, le=1)]
"""A share between 0 and 1 inclusive."""

Minutes = Annotated[float, Field(ge=0)]
PositiveMinutes = Annotated[float, Field(gt=0)]
Seconds = Annotated[float, Field(gt=0)]
Money = Annotated[float, Field(ge=0)]
Text = Annotated[str, Field(min_length=1)]
