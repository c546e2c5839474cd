"""Callbacks as they arrive from the centre's systems: each row checked against the plan and the time now.

A callback is a promise to a customer, so a row is only taken when it can be kept:
a number that can be dialled, a due time that is a real moment (ISO 8601 with its UTC
offset: a bare "10:00" could be an hour out across a clock change) and not already
past, and a queue the plan knows. Every problem names its row and column; good rows
are not held back by bad ones. Pure: no database, the time comes in as `now`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from standby.customers.phones import customer_phone
from standby.intake import Cells, Layout, RowProblem
from standby.notify.validate import email_address
from standby.plan.rules import suggest
from standby.plan.schema import Plan

LAYOUT = Layout(
    plural="callbacks",
    columns=("customer", "phone", "email", "due_at", "queue", "vulnerable", "notes", "external_id"),
    required=("customer", "phone", "due_at", "queue"),
    max_rows=100_000,
)
MAX_CUSTOMER = 200
MAX_NOTES = 2000
MAX_EXTERNAL_ID = 100
MAX_EMAIL = 320
MAX_QUEUE = 100
CLOCK_SKEW = timedelta(minutes=1)
"""A due time this close behind `now` is taken: the sending system's clock may run a little slow."""
HORIZON = timedelta(days=366)
"""Further ahead than this is almost surely a typing slip in the year."""


@dataclass(frozen=True)
class CallbackInput:
    """One callback row that passed every check: ready to book."""

    row: int
    customer: str
    phone: str
    """International form, +DIGITS; also the customer's key."""
    email: str | None
    due_at: datetime
    queue: str
    vulnerable: bool
    notes: str | None
    external_id: str | None


@dataclass
class CheckedCallbacks:
    """The rows that can be booked, and the problems of those that cannot."""

    valid: list[CallbackInput] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def refused_rows(self) -> set[int]:
        """The numbers of the rows refused."""
        return {p.row for p in self.problems}


@dataclass(frozen=True)
class CallbackRules:
    """What a row is checked against: the plan's queues and country, and the time now."""

    queues: tuple[str, ...]
    country: str | None
    now: datetime

    @classmethod
    def of(cls, plan: Plan, now: datetime) -> CallbackRules:
        """The rules a plan sets."""
        return cls(tuple(q.id for q in plan.queues), plan.organisation.country, now)


def check_callbacks(
    rows: Sequence[tuple[int, Mapping[str, Any]]], *, plan: Plan, now: datetime
) -> CheckedCallbacks:
    """Every row checked on its own and against the rows before it (duplicates within one import)."""
    return CallbackChecker(CallbackRules.of(plan, now)).check(rows)


class CallbackChecker:
    """Checks an import's rows part by part, in order, remembering earlier parts to find duplicates."""

    def __init__(self, rules: CallbackRules) -> None:
        """Check against `rules`; no row seen yet."""
        self.rules = rules
        self.by_external: dict[str, int] = {}
        self.by_booking: dict[tuple[str, str, datetime], int] = {}

    def check(self, rows: Sequence[tuple[int, Mapping[str, Any]]]) -> CheckedCallbacks:
        """The next rows checked, each against the rows checked before it."""
        checked = CheckedCallbacks()
        for number, values in rows:
            cells = Cells(number, values)
            found = check_callback(cells, self.rules)
            if found is not None and self._first(cells, found):
                checked.valid.append(found)
            checked.problems += cells.problems
        return checked

    def _first(self, cells: Cells, found: CallbackInput) -> bool:
        """Whether no earlier row books the same callback; else the problem is noted."""
        booking = (found.phone, found.queue, found.due_at)
        first = self.by_external.get(found.external_id) if found.external_id else None
        if first is not None:
            cells.problem("external_id", f"duplicate of row {first}: the same external_id")
            return False
        if booking in self.by_booking:
            message = f"duplicate of row {self.by_booking[booking]}: the same customer, queue and due time"
            cells.problem(None, message)
            return False
        if found.external_id:
            self.by_external[found.external_id] = found.row
        self.by_booking[booking] = found.row
        return True


def check_callback(cells: Cells, rules: CallbackRules) -> CallbackInput | None:
    """The row as a callback to book, or None with its problems noted in `cells`."""
    customer = cells.text("customer", MAX_CUSTOMER, required=True)
    phone = dialable_phone(cells, rules)
    email = cells.checked("email", cells.text("email", MAX_EMAIL), email_address)
    due_at = due_time(cells, rules.now)
    queue = known_queue(cells, rules)
    vulnerable = cells.flag("vulnerable")
    notes = cells.long_text("notes", MAX_NOTES)
    external_id = cells.text("external_id", MAX_EXTERNAL_ID)
    if not cells.ok or customer is None or phone is None or due_at is None or queue is None:
        return None
    return CallbackInput(
        row=cells.row,
        customer=customer,
        phone=phone,
        email=email,
        due_at=due_at,
        queue=queue,
        vulnerable=vulnerable,
        notes=notes,
        external_id=external_id,
    )


def dialable_phone(cells: Cells, rules: CallbackRules) -> str | None:
    """The row's phone (required) as +DIGITS, a national one read in the plan's country; else None."""
    text = cells.text("phone", 60, required=True, numbers=False)
    return cells.checked("phone", text, lambda value: customer_phone(value, country=rules.country))


def known_queue(cells: Cells, rules: CallbackRules) -> str | None:
    """The row's queue when the plan has it; else None, with the plan's queues named."""
    queue = cells.text("queue", MAX_QUEUE, required=True)
    if queue is not None and queue not in rules.queues:
        listed = ", ".join(rules.queues[:12]) + (" ..." if len(rules.queues) > 12 else "")
        cells.problem(
            "queue",
            f"unknown queue {queue!r}{suggest(queue, rules.queues)}; the plan's queues: {listed or 'none'}",
        )
        return None
    return queue


def due_time(cells: Cells, now: datetime, column: str = "due_at") -> datetime | None:
    """The row's due time: a moment with its offset, not past (beyond CLOCK_SKEW), within HORIZON."""
    moment = cells.moment(column, required=True)
    return None if moment is None else future_time(cells, column, moment, now)


def future_time(cells: Cells, column: str, moment: datetime, now: datetime) -> datetime | None:
    """`moment` when a callback can still be made then; else None with the reason noted."""
    problem = time_problem(moment, now)
    if problem is not None:
        cells.problem(column, problem)
        return None
    return moment


def time_problem(moment: datetime, now: datetime) -> str | None:
    """Why a callback cannot be due at `moment` (no offset, past, too far ahead), or None when it can."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return f"{moment.isoformat()} has no UTC offset, so the moment is ambiguous; add one (+01:00, Z)"
    if moment < now - CLOCK_SKEW:
        return (
            f"{moment.isoformat()} is in the past (it is now {now.isoformat(timespec='seconds')}):"
            " a callback must be due from now on"
        )
    if moment > now + HORIZON:
        return f"{moment.isoformat()} is more than {HORIZON.days} days ahead: is the year right?"
    return None
