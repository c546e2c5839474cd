"""The named times of an incident and the measures derived from them. Pure: no I/O.

One definition serves the incidents API (`respond.incidents.timings`) and the review:
each measure runs from one named time to another, and its definition is said in words
beside its figure. A measure whose end never came says "never" once the incident is
closed ("not yet" while it is worked); one whose start is unknown says "unknown".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

NAMED_TIMES: tuple[tuple[str, str], ...] = (
    ("started", "the outage began: the first failed check or alert behind it"),
    ("detected", "Standby opened the incident (or a person declared it)"),
    ("acknowledged", "a person answered the page, or moved the incident on while it was paged"),
    ("mitigated", "the first continuity strategy was in effect (run automatically or approved)"),
    ("recovered", "the outage ended: every component behind it answered again"),
    ("verified", "someone checked the centre answers again and moved the incident on from verifying"),
    ("resolved", "the incident was resolved"),
    (
        "callbacks_cleared",
        "the last callback the outage made late was made (every rescheduled callback done)",
    ),
)
"""Each named time, and what it is the moment of."""


@dataclass(frozen=True)
class Measure:
    """A measure: the seconds from one named time to another, and what it means."""

    name: str
    start: str
    end: str
    definition: str


MEASURES: tuple[Measure, ...] = (
    Measure(
        "time_to_detect_s", "started", "detected", "From the outage's start to the incident's detection."
    ),
    Measure(
        "time_to_acknowledge_s", "detected", "acknowledged", "From detection to the first acknowledgement."
    ),
    Measure(
        "time_to_mitigate_s",
        "detected",
        "mitigated",
        "From detection to the first continuity strategy in effect.",
    ),
    Measure(
        "time_to_recover_s",
        "detected",
        "recovered",
        "From detection to the end of the outage (the centre answers).",
    ),
    Measure("time_to_resolve_s", "detected", "resolved", "From detection to the incident's resolution."),
    Measure(
        "time_to_clear_callbacks_s",
        "recovered",
        "callbacks_cleared",
        "From the end of the outage to the last rescheduled callback made: the backlog cleared.",
    ),
)
MEASURES_BY_NAME = {m.name: m for m in MEASURES}


@dataclass(frozen=True)
class Figure:
    """A measure's figure: seconds (None when it cannot be counted), its words and its definition."""

    name: str
    seconds: float | None
    text: str
    definition: str


def between(start: datetime | None, end: datetime | None) -> float | None:
    """Seconds from `start` to `end` (never below zero), to the millisecond; None if either is missing."""
    if start is None or end is None:
        return None
    return round(max((end - start).total_seconds(), 0.0), 3)


def seconds_of(name: str, times: Mapping[str, datetime | None]) -> float | None:
    """The seconds of the measure `name` from the named times."""
    measure = MEASURES_BY_NAME[name]
    return between(times.get(measure.start), times.get(measure.end))


def duration_words(seconds: float) -> str:
    """4 h 05 min, 12 min 30 s, 45 s: a span a person reads at a glance."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def figures(
    times: Mapping[str, datetime | None], *, closed: bool, nothing_to_clear: bool = False
) -> list[Figure]:
    """Every measure's figure from the named times; `closed` when the incident is resolved or reviewed."""
    found = []
    for measure in MEASURES:
        seconds = seconds_of(measure.name, times)
        if seconds is not None:
            text = duration_words(seconds)
        elif times.get(measure.start) is None and times.get(measure.end) is not None:
            text = "unknown"
        elif measure.end == "callbacks_cleared" and nothing_to_clear:
            text = "none to clear"
        elif times.get(measure.start) is None and measure.start == "started":
            text = "unknown"
        else:
            text = "never" if closed else "not yet"
        found.append(Figure(measure.name, seconds, text, measure.definition))
    return found
