"""Calls cut off: the calls in progress when an outage started, as the telephony platform reports them.

Each row is checked against the plan and the time now, and every problem names its row
and column; good rows are not held back by bad ones. Which outage cut a call off, and
how long into it the customer was, is decided here too: the outage that started while
the call was going on, on the call's queue. Pure: no database, the time comes in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from standby.customers.callback_records import CallbackRules, dialable_phone, known_queue
from standby.intake import Cells, Layout, RowProblem
from standby.plan.schema import Plan

LAYOUT = Layout(
    plural="calls",
    columns=("call_id", "customer", "phone", "queue", "agent", "started_at", "vulnerable"),
    required=("call_id", "customer", "phone", "queue", "started_at"),
    max_rows=100_000,
)
MAX_CALL_ID = 100
MAX_CUSTOMER = 200
MAX_AGENT = 100
CLOCK_SKEW = timedelta(minutes=1)
"""A start this far ahead of `now` is taken: the platform's clock may run a little fast."""
MAX_AGE = timedelta(days=7)
"""A call reported as in progress more than this long ago is a mistake, not a follow-up."""
MAX_CALL = timedelta(hours=4)
"""No call lasts longer: an outage starting later than this after a call began did not cut it off."""

WORK_OUTCOMES: Mapping[str, bool] = {
    "called_back": True,
    "resolved": True,
    "not_needed": True,
    "complaint_logged": True,
    "no_answer": False,
    "left_message": False,
}
"""What working a cut-off call can come to, and whether that closes it (an unanswered
attempt or a voicemail leaves the call on the worklist for another try)."""


@dataclass(frozen=True)
class CallInput:
    """One call row that passed every check."""

    row: int
    call_id: str
    customer: str
    phone: str
    queue: str
    agent: str | None
    started_at: datetime
    vulnerable: bool


@dataclass
class CheckedCalls:
    """The calls that can be recorded, and the problems of those that cannot."""

    valid: list[CallInput] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


@dataclass(frozen=True)
class OutageSpan:
    """What linking a call needs of an outage: when it started and which queues it stopped."""

    id: int
    started_at: datetime
    queues: frozenset[str]


def check_calls(rows: Sequence[tuple[int, Mapping[str, Any]]], *, plan: Plan, now: datetime) -> CheckedCalls:
    """Every row checked on its own, and a call_id seen earlier in the same import refused."""
    rules = CallbackRules.of(plan, now)
    checked = CheckedCalls()
    first_row: dict[str, int] = {}
    for number, values in rows:
        cells = Cells(number, values)
        found = check_call(cells, rules)
        if found is not None:
            if found.call_id in first_row:
                cells.problem("call_id", f"duplicate of row {first_row[found.call_id]}: the same call_id")
            else:
                first_row[found.call_id] = number
                checked.valid.append(found)
        checked.problems += cells.problems
    return checked


def check_call(cells: Cells, rules: CallbackRules) -> CallInput | None:
    """The row as a call cut off, or None with its problems noted in `cells`."""
    call_id = cells.text("call_id", MAX_CALL_ID, required=True)
    customer = cells.text("customer", MAX_CUSTOMER, required=True)
    phone = dialable_phone(cells, rules)
    queue = known_queue(cells, rules)
    agent = cells.text("agent", MAX_AGENT)
    started_at = cells.moment("started_at", required=True)
    if started_at is not None:
        if started_at > rules.now + CLOCK_SKEW:
            cells.problem(
                "started_at",
                f"{started_at.isoformat()} is in the future (it is now"
                f" {rules.now.isoformat(timespec='seconds')}): a call cut off has already started",
            )
        elif started_at < rules.now - MAX_AGE:
            cells.problem(
                "started_at",
                f"{started_at.isoformat()} is more than {MAX_AGE.days} days ago: is the date right?",
            )
    vulnerable = cells.flag("vulnerable")
    if not cells.ok or call_id is None or customer is None or phone is None or queue is None:
        return None
    assert started_at is not None  # required: a missing one is a problem above
    return CallInput(
        row=cells.row,
        call_id=call_id,
        customer=customer,
        phone=phone,
        queue=queue,
        agent=agent,
        started_at=started_at,
        vulnerable=vulnerable,
    )


def cutting_outage(started_at: datetime, queue: str, outages: Sequence[OutageSpan]) -> OutageSpan | None:
    """The outage that cut off a call on `queue` begun at `started_at`: the first to start while it
    could still be going on (within MAX_CALL) and to stop that queue; None when none did."""
    candidates = [
        o for o in outages if started_at <= o.started_at <= started_at + MAX_CALL and queue in o.queues
    ]
    return min(candidates, key=lambda o: (o.started_at, o.id), default=None)


def closes(outcome: str) -> bool:
    """Whether working a call to `outcome` takes it off the worklist; ValueError for an unknown one."""
    if outcome not in WORK_OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}: use one of {', '.join(WORK_OUTCOMES)}")
    return WORK_OUTCOMES[outcome]
