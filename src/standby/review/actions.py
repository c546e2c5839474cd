"""Actions set by a review (or an exercise): their record, their checks, and when their owner is
reminded. Pure: no I/O, time passed in.

An action falls due at `due_at`. Once overdue, its owner is reminded at once (occurrence
0), then every week (occurrence n at `due_at + n weeks`), until it is closed; each
(action, due time, occurrence) is reminded once, so moving the due date starts afresh.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from standby.errors import InvalidInput
from standby.plan.schema import Plan

KINDS = ("prevent", "detect", "mitigate", "process")
REMIND_EVERY = timedelta(weeks=1)


@dataclass(frozen=True)
class ActionRecord:
    """An action as the API and pages see it."""

    id: int
    incident_id: int | None
    source: str | None
    title: str
    owner: str
    due_at: datetime
    kind: str
    links: tuple[str, ...]
    state: str
    created_at: datetime
    created_by: str
    closed_at: datetime | None
    closed_by: str | None
    close_note: str | None
    overdue: bool


def due_time(text: str, timezone: str) -> datetime:
    """When an action falls due: ISO 8601 with an offset, or a date (that day's end in the plan's zone)."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day + timedelta(days=1), time(0), ZoneInfo(timezone))
        at = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"due: {text!r} is neither a date (2026-12-31) nor a time with an offset"
        ) from None
    if at.tzinfo is None:
        raise InvalidInput(f"due: {text!r} has no offset; add one, such as +00:00")
    return at


def check_action(
    plan: Plan, *, title: str, owner: str, kind: str, links: Sequence[str], unassigned: bool = False
) -> tuple[str, ...]:
    """The action's links, checked against the plan; InvalidInput naming what is wrong.

    `unassigned` lets the owner be "" (an exercise's finding nobody of the plan ran, to assign).
    """
    if not title.strip():
        raise InvalidInput("title: say what is to be done")
    if not (unassigned and owner == "") and owner not in plan.people_by_id:
        raise InvalidInput(f"owner: no person {owner!r} in the plan's people")
    if kind not in KINDS:
        raise InvalidInput(f"kind: use one of {', '.join(KINDS)}")
    checked = []
    for link in links:
        what, _, ref = link.partition(":")
        known: set[str] | None = {
            "component": set(plan.components_by_id),
            "vendor": set(plan.vendors_by_id),
        }.get(what)
        if known is None:
            raise InvalidInput(f"links: {link!r}: write component:ID or vendor:ID")
        if ref not in known:
            raise InvalidInput(f"links: the plan has no {what} {ref!r}")
        checked.append(link)
    return tuple(dict.fromkeys(checked))


def occurrence(due_at: datetime, now: datetime) -> int | None:
    """The overdue occurrence current at `now` (0 at the due time, n a week on), or None if not due."""
    if now < due_at:
        return None
    return int((now - due_at) // REMIND_EVERY)


def reminder_key(action_id: int, due_at: datetime, occurrence: int) -> str:
    """The outbox key of a reminder: one per action, due time and occurrence, however many passes run."""
    return f"action-due:{action_id}:{int(due_at.timestamp())}:{occurrence}"
